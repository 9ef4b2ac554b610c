// The contract between the interop test suites and whatever runs the cluster they talk to.
// Suites only see these types, so the same tests can run against the C dqlite nodes today
// (c-cluster.ts) and against another implementation later.

export interface ClusterHandle {
  /** Dqlite (wire protocol) addresses, "127.0.0.1:PORT", in node order. */
  readonly addresses: readonly string[];
  /** Kill one node's process with SIGKILL (by the pid we started) and wait until it is gone. */
  kill(address: string): Promise<void>;
  /** Restart a node that was killed, with the same data dir and address; resolves when it listens. */
  restart(address: string): Promise<void>;
  /** Stop every process we started (SIGTERM, then SIGKILL after a bound), remove temp dirs. Idempotent. */
  stop(): Promise<void>;
}

export interface ClusterProvider {
  readonly name: string; // e.g. 'c-dqlite'
  /**
   * The server queues a write behind another connection's transaction for its busy timeout
   * (dqlite-ts; `PRAGMA busy_timeout` sets it per connection) instead of answering SQLITE_BUSY at
   * once (C dqlite).
   */
  readonly queuesWriters?: boolean;
  /** null when available, else a sentence saying what is missing. */
  unavailableReason(): string | null;
  /**
   * Start an n-node cluster (default 3) and resolve once it has n voters and a leader.
   * `standbys` is how many standbys the nodes' role management keeps (dqlite-ts; default 0):
   * with 0, a standby a test assigns is demoted again at the next role check.
   */
  start(options?: { nodes?: number; standbys?: number }): Promise<ClusterHandle>;
}
