// The runnable examples against a dqlite-ts cluster of separate processes.
import { dqliteTsProvider } from './dqlite-ts-cluster.js';
import { defineExamplesSuite } from './examples-suite.js';

defineExamplesSuite(dqliteTsProvider);
