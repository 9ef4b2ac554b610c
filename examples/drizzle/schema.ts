// The example's Drizzle schema: authors and their books. It matches migrations/ (written by hand
// in drizzle-kit's format; in an application, `drizzle-kit generate` writes that folder).

import { relations, sql } from 'drizzle-orm';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const authors = sqliteTable('authors', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  country: text('country').notNull().default('unknown'),
});

export const books = sqliteTable('books', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  authorId: integer('author_id')
    .notNull()
    .references(() => authors.id, { onDelete: 'cascade' }),
  title: text('title').notNull(),
  publishedAt: integer('published_at', { mode: 'timestamp' }),
  addedAt: text('added_at').default(sql`(CURRENT_TIMESTAMP)`),
});

export const authorsRelations = relations(authors, ({ many }) => ({ books: many(books) }));
export const booksRelations = relations(books, ({ one }) => ({
  author: one(authors, { fields: [books.authorId], references: [authors.id] }),
}));
