/**
 * Errors an operator fixes without anything being lost: the disk or quota is full, the file
 * system was remounted read-only, permissions or descriptors ran out. A step that failed this
 * way did not happen (or left bytes the retry overwrites), so the storage waits and runs it again
 * instead of stopping the node.
 */
const waitableCodes = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EMFILE', 'ENFILE']);

/**
 * Never waited out: a failed fsync may have dropped the dirty pages it was asked to write and
 * marked them clean, so a second fsync can report success for data that is gone ("fsyncgate").
 * Steps that write do so in full again when retried (positional writes, O_DSYNC, or a file
 * rewritten from the start), so their own failures are safe to retry.
 */
const neverWaitedSyscalls = new Set(['fsync', 'fdatasync']);

/** True when `error` is a file system condition to wait out (see `waitableCodes`). */
export function isWaitableStorageError(error: unknown): error is NodeJS.ErrnoException {
  if (!(error instanceof Error)) return false;
  const { code, syscall } = error as NodeJS.ErrnoException;
  return (
    code !== undefined &&
    waitableCodes.has(code) &&
    (syscall === undefined || !neverWaitedSyscalls.has(syscall))
  );
}

/** Reported while storage waits for space or write access: what failed, and since when. */
export interface StorageStall {
  readonly error: NodeJS.ErrnoException;
  /** `Date.now()` when the first step failed. */
  readonly sinceMs: number;
}
