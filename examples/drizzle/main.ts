// Drizzle ORM on a Dqlite cluster through dqlite-ts: migrate, write, query with relations, and
// move a book between authors in a transaction.
//
// Run against your cluster:  DQLITE_CLUSTER=10.0.0.1:9001,10.0.0.2:9001 DQLITE_DATABASE=app \
//                            npx tsx examples/drizzle/main.ts
// or let it embed three dqlite-ts nodes in this process for the run:
//                            npx tsx examples/drizzle/main.ts

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eq, sql } from 'drizzle-orm';
import { drizzle, migrate } from '../../adapters/drizzle/index.js';
import { createPool } from '../../drivers/pool/index.js';
import { withExampleCluster } from '../example-cluster.js';
import * as schema from './schema.js';
import { authors, books } from './schema.js';

const MIGRATIONS_FOLDER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

async function main(addresses: readonly string[], database: string): Promise<void> {
  const pool = createPool({ cluster: addresses, database, pragmas: { foreign_keys: true } });
  try {
    const db = drizzle(pool, { schema });

    // Safe when several processes start at once: each migration runs once, cluster-wide.
    const { applied } = await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
    console.log(`Migrations applied now: ${applied.length}`);

    await db
      .insert(authors)
      .values([
        { name: 'Ursula K. Le Guin', country: 'US' },
        { name: 'Stanisław Lem', country: 'PL' },
      ])
      .onConflictDoNothing();
    const leGuin = await db.query.authors.findFirst({
      where: eq(authors.name, 'Ursula K. Le Guin'),
    });
    const lem = await db.query.authors.findFirst({ where: eq(authors.name, 'Stanisław Lem') });
    const [book] = await db
      .insert(books)
      .values({
        authorId: leGuin!.id,
        title: `Solaris (filed by mistake at ${new Date().toISOString()})`,
        publishedAt: new Date('1961-06-01T00:00:00Z'),
      })
      .returning();
    console.log(`Inserted book #${book!.id}: ${book!.title}`);

    // Runs again from the start if the leader changes before COMMIT: no side effects in here.
    const moved = await db.transaction(async (tx) => {
      await tx.update(books).set({ authorId: lem!.id }).where(eq(books.id, book!.id));
      const [{ total }] = (await tx
        .select({ total: sql<number>`count(*)` })
        .from(books)
        .where(eq(books.authorId, lem!.id))) as [{ total: number }];
      return total;
    });
    console.log(`Moved it to ${lem!.name}, who now has ${moved} book(s).`);

    const catalogue = await db.query.authors.findMany({
      orderBy: (table, { asc }) => asc(table.name),
      with: { books: { columns: { title: true, publishedAt: true } } },
    });
    for (const author of catalogue) {
      console.log(`${author.name} (${author.country}): ${author.books.length} book(s)`);
      for (const entry of author.books)
        console.log(`  - ${entry.title}, ${entry.publishedAt?.getUTCFullYear() ?? 'n.d.'}`);
    }
  } finally {
    await pool.close();
  }
}

withExampleCluster('drizzle', main).then(
  () => {
    process.exitCode = 0;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
