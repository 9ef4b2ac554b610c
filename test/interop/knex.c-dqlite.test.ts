// Knex on Dqlite against canonical's C dqlite (Debian's go-dqlite package).
import { cDqliteProvider } from './c-cluster.js';
import { defineKnexSuite } from './knex-suite.js';

defineKnexSuite(cDqliteProvider);
