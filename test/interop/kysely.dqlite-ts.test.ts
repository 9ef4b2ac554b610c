// Kysely's interop suites against a dqlite-ts cluster of separate processes.
import { dqliteTsProvider } from './dqlite-ts-cluster.js';
import { defineKyselyClusterSuite } from './kysely-cluster-suite.js';
import { defineKyselySuite } from './kysely-suite.js';

defineKyselySuite(dqliteTsProvider);
defineKyselyClusterSuite(dqliteTsProvider);
