/**
 * What a statement does to the transaction state of its connection, read from its first
 * keywords (comments skipped). SQLite's grammar: BEGIN [DEFERRED|IMMEDIATE|EXCLUSIVE]
 * [TRANSACTION]; COMMIT|END [TRANSACTION]; ROLLBACK [TRANSACTION] [TO [SAVEPOINT] name];
 * SAVEPOINT name; RELEASE [SAVEPOINT] name.
 */
export type TransactionControl =
  | { readonly kind: 'begin' }
  | { readonly kind: 'commit' }
  | { readonly kind: 'rollback' }
  | { readonly kind: 'rollback-to'; readonly name: string }
  | { readonly kind: 'savepoint'; readonly name: string }
  | { readonly kind: 'release'; readonly name: string }
  | { readonly kind: 'none' };

const LEADING_COMMENTS = /^(\s+|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)*/;

export function transactionControl(sql: string): TransactionControl {
  const words = sql
    .replace(LEADING_COMMENTS, '')
    .split(/[\s;]+/, 5)
    .filter((word) => word !== '');
  const upper = words.map((word) => word.toUpperCase());
  switch (upper[0]) {
    case 'BEGIN':
      return { kind: 'begin' };
    case 'COMMIT':
    case 'END':
      return { kind: 'commit' };
    case 'ROLLBACK': {
      const toIndex = upper.indexOf('TO');
      if (toIndex === -1) return { kind: 'rollback' };
      const nameIndex = upper[toIndex + 1] === 'SAVEPOINT' ? toIndex + 2 : toIndex + 1;
      return { kind: 'rollback-to', name: unquote(words[nameIndex] ?? '') };
    }
    case 'SAVEPOINT':
      return { kind: 'savepoint', name: unquote(words[1] ?? '') };
    case 'RELEASE': {
      const nameIndex = upper[1] === 'SAVEPOINT' ? 2 : 1;
      return { kind: 'release', name: unquote(words[nameIndex] ?? '') };
    }
    default:
      return { kind: 'none' };
  }
}

/** Savepoint names compare as SQLite does: unquoted, case-insensitively. */
function unquote(name: string): string {
  return name.replace(/^["'`[]|["'`\]]$/g, '').toLowerCase();
}
