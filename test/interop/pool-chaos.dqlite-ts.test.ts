// The pool's chaos suite against a dqlite-ts cluster of separate processes.
import { dqliteTsProvider } from './dqlite-ts-cluster.js';
import { definePoolChaosSuite } from './pool-chaos-suite.js';

definePoolChaosSuite(dqliteTsProvider);
