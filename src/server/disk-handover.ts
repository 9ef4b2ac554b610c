import { ErrorCode, ResultCode } from '../wire/index.js';

/** SQLite's primary result codes for a disk that cannot take writes (or reads, once it cannot). */
const { SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL } = ResultCode;
/** Dqlite's replication failures share SQLITE_IOERR's primary code; they say nothing of disks. */
const replicationCodes = new Set<number>([
  ErrorCode.SQLITE_IOERR_NOT_LEADER,
  ErrorCode.SQLITE_IOERR_LEADERSHIP_LOST,
  ErrorCode.SQLITE_IOERR_NOT_LEADER_LEGACY,
  ErrorCode.SQLITE_IOERR_LEADERSHIP_LOST_LEGACY,
]);

/** True when an answer's SQLite code means this node's own disk failed it (full, read-only, I/O). */
export function isDiskFailureCode(code: number): boolean {
  if (replicationCodes.has(code)) return false;
  const primary = code & 0xff;
  // Plain SQLITE_READONLY is also what a client gets for writing under PRAGMA query_only: only
  // its extended forms (a WAL or lock that cannot be written) speak of the disk.
  if (primary === SQLITE_READONLY) return code !== SQLITE_READONLY;
  return primary === SQLITE_FULL || primary === SQLITE_IOERR;
}

/**
 * A leader whose disk is full or read-only fails every write (and, having just been elected,
 * every read: SQLite cannot create its WAL files), while a follower with a healthy disk could
 * serve them all. So on such a failure the leader hands leadership over, at most once per
 * `intervalMs`. A node whose own disk is failing it refuses to take over (it drops its
 * TimeoutNow: LeadFitness.refusesTakeOver), so when every disk is full (one shared disk) the
 * transfer times out and the leader leads on: reads are served, and writes fail with SQLITE_FULL
 * until space returns.
 */
export class DiskHandover {
  readonly #handOver: () => Promise<void>;
  readonly #report: (message: string) => void;
  readonly #intervalMs: number;
  readonly #persistMs: number;
  readonly #now: () => number;
  /** No handover before this time (`now()` ms). */
  #quietUntil = -Infinity;
  /** When the current run of failures began, and when the last one came. */
  #troubleSince = -Infinity;
  #lastFailureAt = -Infinity;

  constructor(options: {
    readonly handOver: () => Promise<void>;
    readonly report: (message: string) => void;
    readonly intervalMs?: number;
    /** How long failures must go on before a handover: see `failed`. Default 1000. */
    readonly persistMs?: number;
    readonly now?: () => number;
  }) {
    this.#handOver = options.handOver;
    this.#report = options.report;
    this.#intervalMs = options.intervalMs ?? 10_000;
    this.#persistMs = options.persistMs ?? 1000;
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * SQLite on this leader failed a request for its disk (`why`). Hands over once such failures
   * went on for `persistMs`: when one disk holds every node's data, the followers fill up a moment
   * after the leader, and by then refuse to take over, so leadership stays where it can still
   * serve reads.
   */
  failed(why: string): void {
    const now = this.#now();
    if (now - this.#lastFailureAt > 5 * this.#persistMs) this.#troubleSince = now;
    this.#lastFailureAt = now;
    if (now - this.#troubleSince >= this.#persistMs) this.#tryHandOver(why);
  }

  /** This leader cannot serve at all (its SQL engine waits for space): hands over now. */
  cannotServe(why: string): void {
    this.#tryHandOver(why);
  }

  /**
   * At most once per interval. A handover nobody took (every other node's disk fails it too:
   * they refuse to take over) waits six intervals before the next try.
   */
  #tryHandOver(why: string): void {
    const now = this.#now();
    if (now < this.#quietUntil) return;
    this.#quietUntil = now + this.#intervalMs;
    this.#report(`its disk failed it (${why}); handing leadership to another voter`);
    this.#handOver().catch((error: unknown) => {
      this.#quietUntil = this.#now() + 6 * this.#intervalMs;
      const message = error instanceof Error ? error.message : String(error);
      this.#report(`could not hand leadership over (${message}); it leads on`);
    });
  }
}
