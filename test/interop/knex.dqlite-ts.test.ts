// Knex on Dqlite against a dqlite-ts cluster of separate processes.
import { dqliteTsProvider } from './dqlite-ts-cluster.js';
import { defineKnexSuite } from './knex-suite.js';

defineKnexSuite(dqliteTsProvider);
