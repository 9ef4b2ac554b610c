import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parameterSlots, splitStatements } from '../../../src/sql/sql-text.js';

const texts = (sql: string) => splitStatements(sql).map((statement) => statement.sql.trim());

describe('splitStatements', () => {
  it('splits at semicolons outside strings, identifiers and comments', () => {
    expect(
      texts('SELECT \'a;b\'; SELECT "c;d"; SELECT [e;f] -- g;h\n; SELECT `i;j` /* k; */'),
    ).toEqual([
      "SELECT 'a;b';",
      'SELECT "c;d";',
      'SELECT [e;f] -- g;h\n;',
      'SELECT `i;j` /* k; */',
    ]);
  });

  it('keeps a trigger body whole until END;', () => {
    const sql =
      'CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO u VALUES (1); UPDATE u SET x = 2; END; SELECT 1';
    expect(texts(sql)).toEqual([
      'CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO u VALUES (1); UPDATE u SET x = 2; END;',
      'SELECT 1',
    ]);
  });

  it('finds no statement in whitespace, comments and bare semicolons', () => {
    expect(splitStatements('  ;; -- nothing\n /* at all */ ;')).toEqual([]);
  });

  it('agrees with SQLite on where every statement of random texts ends', () => {
    const piece = fc.constantFrom(
      "SELECT 'x;y'",
      'SELECT 1',
      'SELECT 1 AS "a;b"',
      'SELECT 2 -- c;\n',
      'SELECT /* ; */ 3',
      "VALUES ('it''s;')",
    );
    const db = new Database(':memory:');
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 6 }), (pieces) => {
        const statements = splitStatements(pieces.join(';\n'));
        expect(statements).toHaveLength(pieces.length);
        // Each piece SQLite accepts as exactly one statement.
        for (const statement of statements) expect(() => db.prepare(statement.sql)).not.toThrow();
      }),
    );
    db.close();
  });
});

describe('parameterSlots', () => {
  it('numbers slots as SQLite does', () => {
    expect(parameterSlots('SELECT ?, ?, ?')).toEqual([
      { name: undefined },
      { name: undefined },
      { name: undefined },
    ]);
    expect(parameterSlots('SELECT ?2, ?1')).toEqual([{ name: '1' }, { name: '2' }]);
    expect(parameterSlots('SELECT :a, @b, $c, :a')).toEqual([
      { name: 'a' },
      { name: 'b' },
      { name: 'c' },
    ]);
    expect(parameterSlots('SELECT \'?\', "?" -- ?\n, ?')).toEqual([{ name: undefined }]);
  });
});
