// The protocol client's interop suite against canonical's C dqlite (Debian's go-dqlite package).
import { cDqliteProvider } from './c-cluster.js';
import { defineClientSuite } from './client-suite.js';

defineClientSuite(cDqliteProvider);
