// SQL text as Dqlite sees it, shared by the server and the drivers: statements, parameters, and
// what a statement gives back and changes.
export { leadingTokens, parameterSlots, splitStatements } from './sql-text.js';
export type { ParameterSlot, StatementText } from './sql-text.js';
export { classifyStatement, transactionControl } from './statement-class.js';
export type { StatementClass, StatementShape, TransactionControl } from './statement-class.js';
export { APPLIED_INDEX_FUNCTION } from './applied-index.js';
