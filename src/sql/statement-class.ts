import { splitStatements, tokens } from './sql-text.js';

/**
 * What a statement gives back, which decides the Dqlite request that runs it. Dqlite answers
 * rows only to QUERY and counts only to EXEC: QUERY of a statement without result columns fails
 * with "not an error", and EXEC of one that yields a row fails with SQLITE_ROW.
 * - `read`: it returns rows and changes nothing (SELECT, VALUES, EXPLAIN …, a read-only WITH,
 *   a PRAGMA without `=`): QUERY;
 * - `write-returning`: it changes rows and returns rows (INSERT/UPDATE/DELETE/REPLACE …
 *   RETURNING, directly or after WITH): QUERY, inside a transaction (C dqlite 1.11 commits it
 *   only there);
 * - `write`: anything else (writes without RETURNING, DDL, transaction control, VACUUM,
 *   `PRAGMA x = y`): EXEC.
 */
export type StatementShape = 'read' | 'write-returning' | 'write';

/**
 * What a statement does to its connection's transaction. SQLite's grammar: BEGIN
 * [DEFERRED|IMMEDIATE|EXCLUSIVE] [TRANSACTION]; COMMIT|END [TRANSACTION]; ROLLBACK [TRANSACTION]
 * [TO [SAVEPOINT] name]; SAVEPOINT name; RELEASE [SAVEPOINT] name. Savepoint names are
 * unquoted and lower-cased, as SQLite compares them.
 */
export type TransactionControl =
  | { readonly kind: 'begin'; readonly behavior: 'deferred' | 'immediate' | 'exclusive' }
  | { readonly kind: 'commit' }
  | { readonly kind: 'rollback' }
  | { readonly kind: 'rollback-to'; readonly name: string }
  | { readonly kind: 'savepoint'; readonly name: string }
  | { readonly kind: 'release'; readonly name: string }
  | { readonly kind: 'none' };

/** Everything the drivers and adapters decide from SQL text, read once from its tokens. */
export interface StatementClass {
  /** The first statement's shape: which request runs it. */
  readonly shape: StatementShape;
  /** The first statement is INSERT, UPDATE, DELETE or REPLACE (directly or after WITH). */
  readonly changesRows: boolean;
  /**
   * The text is one statement that certainly only reads (SELECT, VALUES, EXPLAIN, read-only
   * WITH), so running it again after an unknown outcome is harmless. A PRAGMA is never counted:
   * some change state without `=` (optimize, wal_checkpoint).
   */
  readonly readOnly: boolean;
  /** What the first statement does to the transaction. */
  readonly control: TransactionControl;
}

const ROW_CHANGING = new Set(['INSERT', 'UPDATE', 'DELETE', 'REPLACE']);
const READING = new Set(['SELECT', 'VALUES']);
/** Words between a CTE's column list and its body: `name (a, b) AS [NOT] MATERIALIZED (…)`. */
const CTE_WORDS = new Set(['AS', 'NOT', 'MATERIALIZED']);

/**
 * Classifies SQL text on SQLite's tokens: comments, case, string literals and quoted names
 * never mislead it, and only words outside parentheses count (a RETURNING inside a subquery or a
 * trigger body is not the statement's own). Results are cached: applications send the same few
 * texts again and again.
 */
export function classifyStatement(sql: string): StatementClass {
  let found = cache.get(sql);
  if (found === undefined) {
    found = classifyUncached(sql);
    if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
    cache.set(sql, found);
  }
  return found;
}

const CACHE_ENTRIES = 512;
const cache = new Map<string, StatementClass>();

function classifyUncached(sql: string): StatementClass {
  const words: string[] = []; // the first statement's words outside parentheses, upper-cased
  const names: string[] = []; // the same tokens with quoted names kept, for savepoint names
  let depth = 0;
  let hasEquals = false;
  let afterBody = false; // the previous top-level token closed a parenthesis
  let verbAfterWith = '';
  for (const { token } of tokens(sql)) {
    if (token.kind === 'semicolon') {
      if (words.length > 0) break;
      continue;
    }
    if (token.kind === 'other') {
      if (token.text === '(') depth++;
      else if (token.text === ')') depth = Math.max(0, depth - 1);
      else if (token.text === '=' && depth === 0) hasEquals = true;
      afterBody = depth === 0 && token.text === ')';
      continue;
    }
    if (depth > 0) continue;
    if (token.kind === 'word') {
      const word = token.text.toUpperCase();
      if (afterBody && verbAfterWith === '' && !CTE_WORDS.has(word)) verbAfterWith = word;
      words.push(word);
      names.push(token.text.toLowerCase());
    } else if (token.kind === 'quoted') {
      words.push('');
      names.push(token.text.toLowerCase());
    }
    afterBody = false;
  }
  const first = words[0] ?? '';
  // After WITH, the statement's verb is the first word after the last common table
  // expression's body (a CTE's own name may be a keyword SQLite lets through, like REPLACE).
  const main = first === 'WITH' ? verbAfterWith : first;
  const changesRows = ROW_CHANGING.has(main);
  let shape: StatementShape;
  if (changesRows) shape = words.includes('RETURNING') ? 'write-returning' : 'write';
  else if (READING.has(main) || first === 'EXPLAIN') shape = 'read';
  else if (first === 'PRAGMA') shape = hasEquals ? 'write' : 'read';
  else shape = 'write';
  const readOnly = shape === 'read' && first !== 'PRAGMA' && splitStatements(sql).length === 1;
  return { shape, changesRows, readOnly, control: transactionControlOf(words, names) };
}

function transactionControlOf(
  words: readonly string[],
  names: readonly string[],
): TransactionControl {
  switch (words[0]) {
    case 'BEGIN':
      return {
        kind: 'begin',
        behavior:
          words[1] === 'IMMEDIATE'
            ? 'immediate'
            : words[1] === 'EXCLUSIVE'
              ? 'exclusive'
              : 'deferred',
      };
    case 'COMMIT':
    case 'END':
      return { kind: 'commit' };
    case 'ROLLBACK': {
      const to = words.indexOf('TO');
      if (to === -1) return { kind: 'rollback' };
      const at = words[to + 1] === 'SAVEPOINT' ? to + 2 : to + 1;
      return { kind: 'rollback-to', name: names[at] ?? '' };
    }
    case 'SAVEPOINT':
      return { kind: 'savepoint', name: names[1] ?? '' };
    case 'RELEASE':
      return { kind: 'release', name: names[words[1] === 'SAVEPOINT' ? 2 : 1] ?? '' };
    default:
      return { kind: 'none' };
  }
}

/** The transaction control of a statement (see TransactionControl). */
export function transactionControl(sql: string): TransactionControl {
  return classifyStatement(sql).control;
}
