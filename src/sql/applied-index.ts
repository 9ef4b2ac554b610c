/**
 * The SQL function every session connection of a dqlite-ts leader has: the index of the last Raft
 * entry the node applied, as an integer. The engine's thread applies entries only between
 * statements, so a statement that calls it and reads a table reads a database holding every
 * transaction committed at that index or below: a leader serves only once it applied what was
 * committed before its term, and runs its own transactions before it proposes them. Backups
 * (drivers/backup/) report it. C dqlite has no such function and answers "no such function".
 */
export const APPLIED_INDEX_FUNCTION = 'dqlite_ts_applied_index';
