// Reserved connections against canonical's C dqlite (Debian's go-dqlite package).
import { cDqliteProvider } from './c-cluster.js';
import { defineReservedConnectionSuite } from './reserved-connection-suite.js';

defineReservedConnectionSuite(cDqliteProvider);
