// The Drizzle adapter's interop suite against a dqlite-ts cluster of separate processes.
import { dqliteTsProvider } from './dqlite-ts-cluster.js';
import { defineDrizzleSuite } from './drizzle-suite.js';

defineDrizzleSuite(dqliteTsProvider);
