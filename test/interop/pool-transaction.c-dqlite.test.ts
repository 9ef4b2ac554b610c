// The pool's transaction suite against canonical's C dqlite (Debian's go-dqlite package).
import { cDqliteProvider } from './c-cluster.js';
import { definePoolTransactionSuite } from './pool-transaction-suite.js';

definePoolTransactionSuite(cDqliteProvider);
