// The schema and hand-written migrations the Drizzle suite runs against (drizzle-suite.ts).

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { relations, sql } from 'drizzle-orm';
import {
  blob,
  customType,
  integer,
  numeric,
  real,
  sqliteTable,
  text,
} from 'drizzle-orm/sqlite-core';
import { int64 } from '../../adapters/drizzle/index.js';

/** A Date kept as ISO 8601 text (what apps do when they want readable dates in SQLite). */
export const isoText = customType<{ data: Date; driverData: string }>({
  dataType: () => 'text',
  toDriver: (value) => value.toISOString(),
  fromDriver: (value) => new Date(value),
});

/**
 * A column declared DATETIME: Dqlite itself sends its values as dates (ISO8601 or UNIXTIME on
 * the wire), so the driver value is already a Date.
 */
export const datetime = customType<{ data: Date; driverData: Date | string }>({
  dataType: () => 'datetime',
  toDriver: (value) => value,
  fromDriver: (value) => (value instanceof Date ? value : new Date(value)),
});

export const users = sqliteTable('users', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  age: integer('age'),
  big: int64('big'),
  bigAsNumber: integer('big_as_number'),
  bigAsBlob: blob('big_as_blob', { mode: 'bigint' }),
  bigAsNumeric: numeric('big_as_numeric', { mode: 'bigint' }),
  score: real('score'),
  active: integer('active', { mode: 'boolean' }),
  createdAt: integer('created_at', { mode: 'timestamp' }),
  seenAt: integer('seen_at', { mode: 'timestamp_ms' }),
  birthday: isoText('birthday'),
  lastLogin: datetime('last_login'),
  insertedAt: text('inserted_at').default(sql`(CURRENT_TIMESTAMP)`),
  profile: text('profile', { mode: 'json' }).$type<{ tags: string[] }>(),
  avatar: blob('avatar', { mode: 'buffer' }),
  settings: blob('settings', { mode: 'json' }).$type<{ theme: string }>(),
  status: text('status', { enum: ['new', 'active'] }),
});

export const posts = sqliteTable('posts', {
  id: integer('id').primaryKey(),
  userId: integer('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  title: text('title').notNull(),
});

export const counters = sqliteTable('counters', {
  id: integer('id').primaryKey(),
  value: integer('value').notNull(),
});

export const events = sqliteTable('events', {
  id: integer('id').primaryKey(),
  loop: integer('loop').notNull(),
  note: text('note'),
});

export const usersRelations = relations(users, ({ many }) => ({ posts: many(posts) }));
export const postsRelations = relations(posts, ({ one }) => ({
  author: one(users, { fields: [posts.userId], references: [users.id] }),
}));

export const schema = { users, posts, counters, events, usersRelations, postsRelations };

/** The tables of `schema`, as a migration would create them. */
export const CREATE_TABLES = [
  `CREATE TABLE users (id integer PRIMARY KEY AUTOINCREMENT NOT NULL, name text NOT NULL UNIQUE,
    age integer, big integer, big_as_number integer, big_as_blob blob, big_as_numeric numeric,
    score real, active integer, created_at integer, seen_at integer, birthday text,
    last_login datetime, inserted_at text DEFAULT (CURRENT_TIMESTAMP), profile text,
    avatar blob, settings blob, status text)`,
  `CREATE TABLE posts (id integer PRIMARY KEY NOT NULL, user_id integer NOT NULL
    REFERENCES users(id) ON DELETE cascade, title text NOT NULL)`,
  'CREATE TABLE counters (id integer PRIMARY KEY NOT NULL, value integer NOT NULL)',
  'CREATE TABLE events (id integer PRIMARY KEY NOT NULL, loop integer NOT NULL, note text)',
];

/** One hand-written migration file in Drizzle's format. */
export interface MigrationFile {
  readonly tag: string;
  readonly when: number;
  /** Statements, joined with drizzle-kit's `--> statement-breakpoint` markers. */
  readonly statements: readonly string[];
}

/** Writes meta/_journal.json and NNNN_name.sql files as drizzle-kit does; returns the folder. */
export function writeMigrations(files: readonly MigrationFile[]): string {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'dqlite-ts-drizzle-migrations-'));
  mkdirSync(path.join(folder, 'meta'));
  const entries = files.map((file, idx) => ({
    idx,
    version: '6',
    when: file.when,
    tag: file.tag,
    breakpoints: true,
  }));
  const journal = { version: '7', dialect: 'sqlite', entries };
  writeFileSync(path.join(folder, 'meta', '_journal.json'), JSON.stringify(journal, null, 2));
  for (const file of files) {
    const body = file.statements.join('\n--> statement-breakpoint\n');
    writeFileSync(path.join(folder, `${file.tag}.sql`), body);
  }
  return folder;
}

/** Authors and books: books reference authors with ON DELETE CASCADE. */
export const LIBRARY_INIT: MigrationFile = {
  tag: '0000_library',
  when: 1_700_000_000_000,
  statements: [
    'CREATE TABLE `authors` (`id` integer PRIMARY KEY NOT NULL, `name` text NOT NULL)',
    'CREATE TABLE `books` (`id` integer PRIMARY KEY NOT NULL, `author_id` integer NOT NULL REFERENCES `authors`(`id`) ON DELETE cascade, `title` text NOT NULL)',
  ],
};

/** How drizzle-kit changes a column of `authors` in SQLite: rebuild the table. */
export function rebuildAuthors(options: { dropAuthorId?: number } = {}): MigrationFile {
  const where = options.dropAuthorId === undefined ? '' : ` WHERE id <> ${options.dropAuthorId}`;
  return {
    tag: '0001_authors_country',
    when: 1_700_000_100_000,
    statements: [
      'PRAGMA foreign_keys=OFF;',
      "CREATE TABLE `__new_authors` (`id` integer PRIMARY KEY NOT NULL, `name` text NOT NULL, `country` text DEFAULT 'unknown' NOT NULL)",
      `INSERT INTO \`__new_authors\`("id", "name") SELECT "id", "name" FROM \`authors\`${where};`,
      'DROP TABLE `authors`;',
      'ALTER TABLE `__new_authors` RENAME TO `authors`;',
      'PRAGMA foreign_keys=ON;',
    ],
  };
}

/** A slow migration (it writes many rows), so that two migrators overlap. */
export const FILL_NUMBERS: readonly MigrationFile[] = [
  {
    tag: '0000_numbers',
    when: 1_700_000_000_000,
    statements: ['CREATE TABLE `numbers` (`n` integer PRIMARY KEY NOT NULL)'],
  },
  {
    tag: '0001_fill',
    when: 1_700_000_100_000,
    statements: [
      'INSERT INTO `numbers` (`n`) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000) SELECT x FROM c',
    ],
  },
  {
    tag: '0002_index',
    when: 1_700_000_200_000,
    statements: ['CREATE INDEX `numbers_even` ON `numbers` (`n`) WHERE `n` % 2 = 0'],
  },
];
