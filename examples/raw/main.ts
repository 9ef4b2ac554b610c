// The raw pooled client on a Dqlite cluster: schema, a migration, queries and a transaction.
//
// Run against a running cluster:  DQLITE_CLUSTER=127.0.0.1:9001,127.0.0.1:9002 npx tsx examples/raw/main.ts
// Without DQLITE_CLUSTER it embeds three dqlite-ts nodes in this process for the run.

import { createPool } from '../../drivers/pool/index.js';
import type { LeaderPool } from '../../drivers/pool/index.js';
import { withExampleCluster } from '../example-cluster.js';

async function migrate(pool: LeaderPool): Promise<void> {
  await pool.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const { rows } = await pool.query('SELECT max(version) AS version FROM schema_version');
  const current = Number(rows[0]?.version ?? 0);
  if (current >= 1) return;
  await pool.batch([
    { sql: 'CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)' },
    {
      sql: `CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT NOT NULL,
              author_id INTEGER NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
              published DATETIME, in_print BOOLEAN NOT NULL DEFAULT 1)`,
    },
    { sql: 'INSERT INTO schema_version (version) VALUES (1)' },
  ]);
}

async function main(cluster: readonly string[], database: string): Promise<void> {
  const pool = createPool({ cluster, database, pragmas: { foreign_keys: true } });
  try {
    await migrate(pool);
    const author = await pool.exec(
      'INSERT INTO authors (name) VALUES (?) ON CONFLICT (name) DO NOTHING',
      ['Ursula K. Le Guin'],
    );
    const authorId =
      author.rowsAffected > 0
        ? author.lastInsertId
        : (await pool.query('SELECT id FROM authors WHERE name = ?', ['Ursula K. Le Guin']))
            .rows[0]!.id!;
    await pool.transaction(
      async (tx) => {
        await tx.exec('INSERT INTO books (title, author_id, published) VALUES (?, ?, ?)', [
          'The Dispossessed',
          authorId,
          new Date('1974-05-01T00:00:00Z'),
        ]);
        await tx.exec('INSERT INTO books (title, author_id, published) VALUES (?, ?, ?)', [
          'The Lathe of Heaven',
          authorId,
          new Date('1971-01-01T00:00:00Z'),
        ]);
      },
      { behavior: 'immediate', idempotent: true },
    );
    const { rows } = await pool.query(
      'SELECT b.title, a.name, b.published, b.in_print FROM books b JOIN authors a ON a.id = b.author_id ORDER BY b.published',
    );
    for (const row of rows)
      console.log(
        `${String(row.title)} by ${String(row.name)}, ${(row.published as Date).getUTCFullYear()}`,
      );
  } finally {
    await pool.close();
  }
}

await withExampleCluster('raw', main);
