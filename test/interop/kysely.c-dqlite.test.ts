// Kysely's interop suites against canonical's C dqlite (Debian's go-dqlite package).
import { cDqliteProvider } from './c-cluster.js';
import { defineKyselyClusterSuite } from './kysely-cluster-suite.js';
import { defineKyselySuite } from './kysely-suite.js';

defineKyselySuite(cDqliteProvider);
defineKyselyClusterSuite(cDqliteProvider);
