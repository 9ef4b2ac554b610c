// The pool's interop suite against a dqlite-ts cluster of separate processes.
import { dqliteTsProvider } from './dqlite-ts-cluster.js';
import { definePoolSuite } from './pool-suite.js';

definePoolSuite(dqliteTsProvider);
