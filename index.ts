/**
 * dqlite-ts: Dqlite in TypeScript. The package root, kept outside src/ because it gathers every
 * layer. It re-exports the protocol client, the pool, backup and restore, and the embedded node (`createNode`, with
 * its limits and content-check types); the ORM adapters have their own subpaths
 * (`dqlite-ts/knex`, `dqlite-ts/drizzle`, `dqlite-ts/kysely`).
 *
 * @example
 * import { connect } from 'dqlite-ts';
 * const client = await connect({ cluster: ['127.0.0.1:9001'], database: 'app' });
 */
export * from './drivers/client/index.js';
export * from './drivers/pool/index.js';
export * from './drivers/backup/index.js';
export { createNode } from './src/node.js';
export type { ClusterMember, DqliteNode, NodeOptions } from './src/node.js';
export type { ContentCheckReport, NodeContentCheck } from './src/server/content-check-monitor.js';
export { NODE_LIMITS_DEFAULT, type NodeLimits } from './src/server/limits.js';
export type { LogCall, NodeLogger } from './src/server/node-logger.js';
export {
  recoverNode,
  type RecoverOptions,
  type RecoveryMember,
  type RecoveryReport,
} from './src/server/offline-recovery.js';
