// The pool's transaction suite against a dqlite-ts cluster of separate processes.
import { dqliteTsProvider } from './dqlite-ts-cluster.js';
import { definePoolTransactionSuite } from './pool-transaction-suite.js';

definePoolTransactionSuite(dqliteTsProvider);
