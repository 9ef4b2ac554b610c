/**
 * The Dqlite protocol client: finds the leader, opens a database, runs queries and statements,
 * and manages the cluster. Works against dqlite-ts nodes and canonical's C dqlite.
 *
 * @example
 * import { connect } from 'dqlite-ts/client';
 * const client = await connect({ cluster: ['127.0.0.1:9001'], database: 'app' });
 * const { rows } = await client.query('SELECT 1');
 * await client.close();
 */
export { connect, connectForReads, DqliteClient } from './client.js';
export type { NodeId, NodeInfo, ReadChoice } from './client.js';
export type { ExecResult, QueryResult } from './results.js';
export { Statement } from './statement.js';
export { checkCluster } from './content-check.js';
export type { ClusterCheck, DatabaseDigest, NodeCheck } from './content-check.js';
export {
  BusyError,
  ClosedError,
  ConnectionError,
  ConstraintError,
  DqliteError,
  HandshakeError,
  NotDqliteError,
  LeadershipLostError,
  NoLeaderError,
  NotLeaderError,
  ReadsUnsupportedError,
  TimeoutError,
  codeName,
} from './errors.js';
export type { LeaderAttempt } from './errors.js';
export type { ClientOptions } from './options.js';
export type { TlsOptions } from '../../src/wire/index.js';
export type { IntegerMode, Parameter, RowValue } from './values.js';
export { ProtocolError } from '../../src/wire/index.js';
