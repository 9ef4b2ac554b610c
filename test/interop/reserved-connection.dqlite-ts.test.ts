// Reserved connections against a dqlite-ts cluster of separate processes.
import { dqliteTsProvider } from './dqlite-ts-cluster.js';
import { defineReservedConnectionSuite } from './reserved-connection-suite.js';

defineReservedConnectionSuite(dqliteTsProvider);
