// The pool's interop suite against canonical's C dqlite (Debian's go-dqlite package).
import { cDqliteProvider } from './c-cluster.js';
import { definePoolSuite } from './pool-suite.js';

definePoolSuite(cDqliteProvider);
