// The pool's chaos suite against canonical's C dqlite (Debian's go-dqlite package).
import { cDqliteProvider } from './c-cluster.js';
import { definePoolChaosSuite } from './pool-chaos-suite.js';

definePoolChaosSuite(cDqliteProvider);
