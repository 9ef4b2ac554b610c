// The runnable examples against canonical's C dqlite (Debian's go-dqlite package).
import { cDqliteProvider } from './c-cluster.js';
import { defineExamplesSuite } from './examples-suite.js';

defineExamplesSuite(cDqliteProvider);
