import type { RootOperationNode } from 'kysely';

/**
 * What a compiled statement gives back, which decides the Dqlite request that runs it:
 * - `rows`: it only reads and returns rows (SELECT, VALUES, EXPLAIN, a read-only WITH, a PRAGMA
 *   that is not an assignment): QUERY;
 * - `write-returning`: it writes and returns rows (INSERT/UPDATE/DELETE … RETURNING): QUERY, but
 *   only ever inside an explicit transaction (see DqliteConnection);
 * - `write`: anything else (writes without RETURNING, DDL, PRAGMA assignments): EXEC, which
 *   reports rows affected and the last insert id.
 *
 * The distinction matters on the wire: Dqlite (checked against C dqlite 1.11) answers QUERY of a
 * statement without result columns with SQLITE_ERROR "not an error", and EXEC of a statement that
 * yields a row with SQLITE_ROW.
 */
export type StatementShape = 'rows' | 'write-returning' | 'write';

/** Node kinds of Kysely's data-changing queries; they carry an optional `returning` clause. */
const WRITE_QUERY_KINDS: ReadonlySet<string> = new Set([
  'InsertQueryNode',
  'UpdateQueryNode',
  'DeleteQueryNode',
  'MergeQueryNode',
]);

/**
 * The shape of a compiled query: from Kysely's operation node when it says enough, from the SQL
 * text for raw SQL (`sql\`…\``, `CompiledQuery.raw`).
 */
export function statementShape(query: RootOperationNode, sql: string): StatementShape {
  if (query.kind === 'SelectQueryNode') return 'rows';
  if (WRITE_QUERY_KINDS.has(query.kind)) {
    return 'returning' in query && query.returning !== undefined ? 'write-returning' : 'write';
  }
  if (query.kind === 'RawNode') return rawStatementShape(sql);
  return 'write'; // schema statements: CREATE, ALTER, DROP
}

const READ_KEYWORDS: ReadonlySet<string> = new Set(['SELECT', 'VALUES', 'EXPLAIN']);
const DATA_CHANGE_WORDS = /\b(INSERT|UPDATE|DELETE|REPLACE)\b/i;
const RETURNING_WORD = /\bRETURNING\b/i;

/**
 * The shape of raw SQL, judged by its first statement's keywords once comments, string literals
 * and quoted identifiers are blanked out (so a value 'returning' is not taken for the clause).
 */
export function rawStatementShape(sql: string): StatementShape {
  const code = blankLiterals(sql).trimStart();
  const keyword = /^[A-Za-z]+/.exec(code)?.[0]?.toUpperCase() ?? '';
  if (READ_KEYWORDS.has(keyword)) return 'rows';
  if (keyword === 'PRAGMA') return code.includes('=') ? 'write' : 'rows';
  const writes = keyword === 'WITH' ? DATA_CHANGE_WORDS.test(code) : true;
  if (!writes) return 'rows';
  return RETURNING_WORD.test(code) ? 'write-returning' : 'write';
}

/**
 * Replaces comments, string literals and quoted identifiers by spaces, so keyword tests only see
 * SQL keywords. SQLite quotes: '…' and "…" with doubled quotes inside, `…`, and […].
 */
export function blankLiterals(sql: string): string {
  return sql.replace(
    /--[^\n]*|\/\*[\s\S]*?(\*\/|$)|'(?:[^']|'')*'?|"(?:[^"]|"")*"?|`[^`]*`?|\[[^\]]*\]?/g,
    (match) => ' '.repeat(match.length),
  );
}
