/** Why a restore refused to start; nothing was written to the cluster. */
export type RestoreRefusal =
  /** The file does not begin with SQLite's header ("SQLite format 3\0"). */
  | 'not-sqlite'
  /** SQLite opened it, and PRAGMA integrity_check found problems (or SQLite could not read it). */
  | 'corrupt'
  /** The target database holds tables, indexes, views or triggers, and `replace` was not set. */
  | 'not-empty'
  /** The file is larger than `bytesMax`: one transaction carries it all (docs/operations.md). */
  | 'too-large'
  /** The schema holds something a copy cannot recreate: a virtual table. */
  | 'unsupported';

/**
 * A restore refused its file or its target before anything was committed. `reason` says which
 * check failed; the message names the file or the objects found.
 *
 * @example
 * try { await restore({ cluster, database: 'app', file: 'app.db' }); }
 * catch (error) { if (error instanceof RestoreRefusedError && error.reason === 'not-empty') ... }
 */
export class RestoreRefusedError extends Error {
  override readonly name = 'RestoreRefusedError';
  readonly reason: RestoreRefusal;

  constructor(reason: RestoreRefusal, message: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * A backup refused the database: its schema holds a virtual table, whose module's shadow tables a
 * copy of the rows cannot recreate. Nothing was written to the target file.
 */
export class BackupRefusedError extends Error {
  override readonly name = 'BackupRefusedError';
  readonly reason = 'unsupported' as const;
}

/**
 * A restore failed, and may have committed: its transaction had sent its last statement, and the
 * pool could not learn whether the COMMIT took effect. Read the target to find out. `cause` is the
 * pool's error.
 */
export class RestoreOutcomeUnknownError extends Error {
  override readonly name = 'RestoreOutcomeUnknownError';
}
