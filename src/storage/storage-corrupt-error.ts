/**
 * Durable state that recovery cannot explain by a crash: a damaged record before the end of the
 * log, a snapshot whose data does not match its checksum, a gap between entries. Startup stops
 * here instead of silently losing acknowledged entries; an operator has to restore the node (for
 * example by wiping it and letting it rejoin from a snapshot).
 */
export class StorageCorruptError extends Error {
  override readonly name = 'StorageCorruptError';
  /** Path of the damaged file. */
  readonly file: string;
  /** Byte offset in `file` where the damage starts (the start of the bad record). */
  readonly offset: number;

  constructor(file: string, offset: number, problem: string) {
    super(`storage corrupt: ${file} at offset ${offset}: ${problem}`);
    this.file = file;
    this.offset = offset;
  }
}
