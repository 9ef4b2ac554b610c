// The Raft engine's public surface, for the node (src/server, src/node.ts) and tests.
export { AssertionError } from './assert.js';
export { defaultRaftConfig, resolveRaftConfig, type RaftConfig } from './config.js';
export {
  applyMembershipChange,
  configurationProblem,
  decodeConfiguration,
  encodeConfiguration,
  type MembershipChange,
} from './configuration.js';
export { clockRateDifferenceMax, loyaltyTicks } from './election.js';
export { leaseMilliseconds } from './read-index.js';
export { bootstrapState, recoveryWrite } from './raft-bootstrap.js';
export {
  RaftCore,
  type MembershipResult,
  type ProposeAllResult,
  type ProposeResult,
  type RaftStatus,
} from './raft-core.js';
export { RaftDriver, type RaftDriverOptions } from './raft-driver.js';
export {
  snapshotReadBytesMax,
  type ReadChunk,
  type ReadChunkDone,
  type SnapshotSource,
  type StateMachine,
} from './state-machine.js';
export type { Done, RaftInitialState, RaftStorage } from './raft-storage.js';
export type { RaftTransport } from './raft-transport.js';
export type { PersistToken, RaftEvent, RaftRole, Ready, ReadState } from './ready.js';
export type { Refusal, RefusalCode } from './leader.js';
export * from './types.js';
