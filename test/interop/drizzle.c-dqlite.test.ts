// The Drizzle adapter's interop suite against canonical's C dqlite (Debian's go-dqlite package).
import { cDqliteProvider } from './c-cluster.js';
import { defineDrizzleSuite } from './drizzle-suite.js';

defineDrizzleSuite(cDqliteProvider);
