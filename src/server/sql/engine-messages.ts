import type { ContentCheck } from '../../fsm/content-check.js';
import type { EntryType } from '../../raft/types.js';
import type { WireValue } from '../../wire/index.js';

/**
 * What the node's main thread asks the SQL engine (which runs in its own worker thread, so a long
 * query cannot starve Raft: docs/architecture.md, "The event loop is sacred"). Every request
 * carries an id its reply repeats. Requests are handled in the order they are posted; the engine
 * relies on that order (an entry is applied before any later query runs).
 */
export type EngineRequest = { readonly id: number } & (
  | { readonly op: 'open'; readonly session: number; readonly database: string }
  | { readonly op: 'prepare'; readonly session: number; readonly sql: string }
  | {
      readonly op: 'exec' | 'query';
      readonly session: number;
      readonly statement: number;
      readonly parameters: readonly WireValue[];
    }
  | {
      readonly op: 'exec-sql' | 'query-sql';
      readonly session: number;
      readonly sql: string;
      readonly parameters: readonly WireValue[];
    }
  | { readonly op: 'more-rows' | 'interrupt' | 'close'; readonly session: number }
  | { readonly op: 'finalize'; readonly session: number; readonly statement: number }
  /**
   * This node leads and has applied everything committed before its term. The main thread owns
   * leadership and numbers its epochs; every reply repeats the epoch it ran in.
   */
  | { readonly op: 'lead'; readonly epoch: number }
  /** Leadership is gone: close connections, undo what did not commit. */
  | { readonly op: 'step-down' }
  /** A committed entry, in log order (every type, so the engine knows its applied index). */
  | {
      readonly op: 'apply';
      readonly index: number;
      readonly term: number;
      readonly type: EntryType;
      readonly data: Uint8Array;
    }
  /** The oldest captured transaction was proposed as this entry. */
  | { readonly op: 'proposed'; readonly index: number; readonly term: number }
  /** Write a snapshot of every database to a file (the main thread copies it to storage). */
  | { readonly op: 'snapshot' }
  /** A snapshot arrives in chunks, in order; `restore-end` installs it as of `index`. */
  | { readonly op: 'restore-begin' }
  | { readonly op: 'restore-chunk'; readonly data: Uint8Array }
  | { readonly op: 'restore-end'; readonly index: number }
  | { readonly op: 'dump'; readonly database: string }
  /**
   * A read served by this node while it does not lead (ReplicaReads): the main thread sends it
   * once this node applied what the read must see.
   */
  | {
      readonly op: 'replica-query';
      readonly database: string;
      readonly sql: string;
      readonly parameters: readonly WireValue[];
    }
  /** What this node found at the content check applied at `index` (DatabaseSet). */
  | { readonly op: 'content-check'; readonly index: number }
);

export type EngineOp = EngineRequest['op'];

/** A request before it is numbered. */
export type EngineCall = EngineRequest extends infer R
  ? R extends { readonly id: number }
    ? Omit<R, 'id'>
    : never
  : never;

export interface ExecValue {
  readonly lastInsertId: bigint;
  readonly rowsAffected: number;
}

/** Encoded ROWS messages; `done` when the last one carries DONE. */
export interface RowsValue {
  readonly rows: Uint8Array;
  readonly done: boolean;
}

export type EngineValue =
  | undefined
  | ExecValue
  | RowsValue
  | { readonly statement: number; readonly parameterCount: number }
  /** `file` is undefined when no snapshot can be taken now. */
  | { readonly file: string | undefined; readonly bytes: number; readonly index: number }
  | { readonly files: { readonly name: string; readonly data: Uint8Array }[] }
  | { readonly check: ContentCheck | undefined };

export type EngineOutcome =
  | { readonly ok: true; readonly value: EngineValue }
  | { readonly ok: false; readonly code: number; readonly message: string };

/** The outcome of a request that succeeded with `value`. */
export function okOutcome(value: EngineValue): EngineOutcome {
  return { ok: true, value };
}

/** The id of a posted request: the engine answers it only when it fails (fatally). */
export const unansweredId = 0;

export interface EngineReply {
  readonly id: number;
  /** The leadership epoch the request ran in; proposals from an older epoch were undone. */
  readonly epoch: number;
  /** Transactions this request committed locally, in commit order, for Raft to replicate. */
  readonly proposals: readonly Uint8Array[];
  readonly outcome: EngineOutcome;
  /** The request's session has a transaction open after it (its reads must see its writes). */
  readonly inTransaction: boolean;
  /** The request's number in SqlEngineOptions.writers; 0 when it ran nothing that may write. */
  readonly writer: number;
  /**
   * Set when the engine could not prove what the request did to a database (DatabaseSet.settle):
   * its outcome is then a failure, the engine takes no more statements, and the node must stop.
   */
  readonly unproven?: string;
}

/** Sent by the engine on its own when it cannot go on safely (a failed apply or restore). */
export interface EngineFatal {
  readonly id: -1;
  readonly fatal: string;
}

/** The engine's thread waits for disk space (why), or stopped waiting (undefined). */
export interface EngineSpaceWait {
  readonly id: -2;
  readonly waiting: string | undefined;
}
