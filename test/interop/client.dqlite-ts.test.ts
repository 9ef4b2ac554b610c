// The protocol client's interop suite against a dqlite-ts cluster of separate processes.
import { dqliteTsProvider } from './dqlite-ts-cluster.js';
import { defineClientSuite } from './client-suite.js';

defineClientSuite(dqliteTsProvider);
