// Knex on a Dqlite cluster: migrations, queries, a join, a transaction and a stream.
//
// Run against a running cluster:  DQLITE_CLUSTER=127.0.0.1:9001,127.0.0.1:9002 npx tsx examples/knex/main.ts
// Without DQLITE_CLUSTER it embeds three dqlite-ts nodes in this process for the run.

import type { Knex } from 'knex';
import { knex } from '../../adapters/knex/index.js';
import { withExampleCluster } from '../example-cluster.js';

/** Migrations kept in code; Knex's migrator records them in knex_migrations, once per cluster. */
const migrations: Record<string, { up(db: Knex): Promise<void>; down(db: Knex): Promise<void> }> = {
  '001_library': {
    async up(db) {
      await db.schema.createTable('authors', (table) => {
        table.increments('id');
        table.string('name').notNullable().unique();
        table.string('country');
      });
      await db.schema.createTable('books', (table) => {
        table.increments('id');
        table.string('title').notNullable();
        table.integer('author_id').notNullable();
        table.foreign('author_id').references('authors.id').onDelete('CASCADE');
        table.datetime('published');
      });
    },
    async down(db) {
      await db.schema.dropTable('books');
      await db.schema.dropTable('authors');
    },
  },
  // Dropping a column of a table other tables reference: the adapter uses SQLite's own
  // ALTER TABLE DROP COLUMN, so no book is lost to ON DELETE CASCADE.
  '002_authors_without_country': {
    async up(db) {
      await db.schema.alterTable('authors', (table) => table.dropColumn('country'));
    },
    async down(db) {
      await db.schema.alterTable('authors', (table) => table.string('country'));
    },
  },
};

const migrationSource = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name: string) => name,
  getMigration: async (name: string) => migrations[name]!,
};

async function main(cluster: readonly string[], database: string): Promise<void> {
  const db = knex({
    client: 'dqlite',
    connection: { cluster: [...cluster], database, pragmas: { foreign_keys: true } },
  });
  try {
    const [batch, applied] = await db.migrate.latest({ migrationSource });
    console.log(`migrations: batch ${batch}, applied ${applied.length ? applied : 'none'}`);

    await db('authors').insert({ name: 'Ursula K. Le Guin' }).onConflict('name').ignore();
    const { id: authorId } = await db('authors').where({ name: 'Ursula K. Le Guin' }).first('id');

    // One transaction, its write lock taken at BEGIN; it survives a change of leader.
    const added = await db.transaction(
      async (trx) => {
        const books = [
          { title: 'The Lathe of Heaven', published: new Date('1971-01-01T00:00:00Z') },
          { title: 'The Dispossessed', published: new Date('1974-05-01T00:00:00Z') },
        ];
        const inserted: { id: number; title: string }[] = await trx('books')
          .insert(books.map((book) => ({ ...book, author_id: authorId })))
          .returning(['id', 'title']);
        return inserted;
      },
      { behavior: 'immediate' },
    );
    console.log(`added ${added.map((book) => `#${book.id} ${book.title}`).join(', ')}`);

    const rows = await db('books')
      .join('authors', 'authors.id', 'books.author_id')
      .orderBy('books.published')
      .select('books.title', 'authors.name', 'books.published');
    for (const row of rows) {
      console.log(`${row.title} by ${row.name}, ${(row.published as Date).getUTCFullYear()}`);
    }

    const counted = await db('books').count({ books: '*' }).first();
    let streamed = 0;
    for await (const _book of db('books').select('id').stream()) streamed += 1;
    console.log(`${counted?.books} books in the library, ${streamed} streamed`);
  } finally {
    await db.destroy();
  }
}

await withExampleCluster('knex', main);
