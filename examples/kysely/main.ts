// Kysely on a Dqlite cluster through dqlite-ts/kysely: the schema by Kysely's Migrator, queries,
// RETURNING, a join and a transaction.
//
// Run against a running cluster:  DQLITE_CLUSTER=127.0.0.1:9001,127.0.0.1:9002 npx tsx examples/kysely/main.ts
// Without DQLITE_CLUSTER it embeds three dqlite-ts nodes in this process for the run.

import { Kysely, Migrator } from 'kysely';
import type { Generated, Migration } from 'kysely';
import { DqliteDialect } from '../../adapters/kysely/index.js';
import { withExampleCluster } from '../example-cluster.js';

interface Database {
  author: { id: Generated<number>; name: string };
  book: {
    id: Generated<number>;
    title: string;
    author_id: number;
    published: Date;
    in_print: Generated<boolean>;
  };
}

/** Migrations run once per cluster, however many processes start at once. */
const migrations: Record<string, Migration> = {
  '2024_01_authors_and_books': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see any schema
    up: async (db: Kysely<any>) => {
      await db.schema
        .createTable('author')
        .addColumn('id', 'integer', (column) => column.primaryKey())
        .addColumn('name', 'text', (column) => column.notNull().unique())
        .execute();
      await db.schema
        .createTable('book')
        .addColumn('id', 'integer', (column) => column.primaryKey())
        .addColumn('title', 'text', (column) => column.notNull().unique())
        .addColumn('author_id', 'integer', (column) =>
          column.notNull().references('author.id').onDelete('cascade'),
        )
        .addColumn('published', 'datetime', (column) => column.notNull())
        .addColumn('in_print', 'boolean', (column) => column.notNull().defaultTo(true))
        .execute();
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see any schema
    down: async (db: Kysely<any>) => {
      await db.schema.dropTable('book').execute();
      await db.schema.dropTable('author').execute();
    },
  },
};

async function main(cluster: readonly string[], database: string): Promise<void> {
  // Given pool options, the dialect creates the pool and db.destroy() closes it.
  const db = new Kysely<Database>({
    dialect: new DqliteDialect({ cluster, database, pragmas: { foreign_keys: true } }),
  });
  try {
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    const { error, results } = await migrator.migrateToLatest();
    if (error) throw error;
    for (const result of results ?? [])
      console.log(`migration ${result.migrationName}: ${result.status}`);

    const { id: authorId } = await db
      .insertInto('author')
      .values({ name: 'Ursula K. Le Guin' })
      .onConflict((conflict) =>
        conflict.column('name').doUpdateSet({ name: (eb) => eb.ref('excluded.name') }),
      )
      .returning('id')
      .executeTakeFirstOrThrow();

    // Both books or neither; a leader change in the middle is ridden out by the pool.
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('book')
        .values([
          { title: 'The Dispossessed', author_id: authorId, published: new Date('1974-05-01Z') },
          { title: 'The Lathe of Heaven', author_id: authorId, published: new Date('1971-01-01Z') },
        ])
        .onConflict((conflict) => conflict.column('title').doNothing())
        .execute();
    });

    const books = await db
      .selectFrom('book')
      .innerJoin('author', 'author.id', 'book.author_id')
      .select(['book.title', 'author.name', 'book.published', 'book.in_print'])
      .orderBy('book.published')
      .execute();
    for (const book of books) {
      const status = book.in_print ? 'in print' : 'out of print';
      console.log(`${book.title} by ${book.name}, ${book.published.getUTCFullYear()}, ${status}`);
    }
  } finally {
    await db.destroy();
  }
}

await withExampleCluster('kysely', main);
