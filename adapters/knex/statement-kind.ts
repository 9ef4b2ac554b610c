import { isReadOnlySql } from '../../drivers/pool/index.js';

/**
 * How a statement Knex compiled is sent to Dqlite, which answers rows only to QUERY and ids and
 * counts only to EXEC:
 * - `rows`: a read, or a PRAGMA that answers rows: QUERY;
 * - `write-rows`: a write with RETURNING: QUERY, which the pool runs in a transaction of its own
 *   when there is none (C dqlite 1.11 does not commit it otherwise; see the pool's writesRows);
 * - `write`: anything else (writes without RETURNING, DDL, BEGIN/COMMIT, `PRAGMA x = y`): EXEC.
 * A write without RETURNING sent as QUERY fails on C dqlite ("not an error"), so the split matters.
 */
export type StatementKind = 'rows' | 'write-rows' | 'write';

/** Knex methods that compile to INSERT, UPDATE or DELETE. */
const WRITE_METHODS = new Set(['insert', 'update', 'del', 'counter']);
/** Statements that answer rows whatever they do. */
const ROW_KEYWORDS = new Set(['SELECT', 'VALUES', 'EXPLAIN']);
/** Statements that answer rows only with a RETURNING clause. */
const RETURNING_KEYWORDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'WITH']);

const LEADING_COMMENTS = /^(\s+|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)*/;
/** String literals and quoted identifiers, which may contain any word. */
const QUOTED = /'(?:[^']|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]/g;

/**
 * Decides from Knex's `method` and `returning` where Knex knows them (query builder calls), and
 * from the SQL text otherwise (`knex.raw`, schema statements).
 */
export function statementKind(sql: string, method?: string, returning?: unknown): StatementKind {
  if (method !== undefined && WRITE_METHODS.has(method)) {
    return isReturning(returning) ? 'write-rows' : 'write';
  }
  const body = sql.replace(LEADING_COMMENTS, '');
  const keyword = /^[A-Za-z]+/.exec(body)?.[0]?.toUpperCase() ?? '';
  if (keyword === 'PRAGMA') return pragmaSetsValue(body) ? 'write' : 'rows';
  if (ROW_KEYWORDS.has(keyword) || isReadOnlySql(body)) return 'rows';
  if (RETURNING_KEYWORDS.has(keyword) && hasReturningClause(body)) return 'write-rows';
  return 'write';
}

function isReturning(returning: unknown): boolean {
  if (returning === undefined || returning === null || returning === false) return false;
  return !(Array.isArray(returning) && returning.length === 0);
}

/** `PRAGMA name = value` sets and answers nothing; `PRAGMA name` and `PRAGMA name(arg)` answer rows. */
function pragmaSetsValue(pragma: string): boolean {
  return pragma.replace(QUOTED, "''").includes('=');
}

function hasReturningClause(sql: string): boolean {
  return /\bRETURNING\b/i.test(sql.replace(QUOTED, "''"));
}
