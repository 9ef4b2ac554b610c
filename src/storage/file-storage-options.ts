import type { StorageStall } from './space-errors.js';

/**
 * Options of `FileStorage.open`, with every limit named, defaulted and bounded
 * (docs/contributing.md, "Assertions and limits"). Each `*Max` is enforced at the call that could
 * exceed it.
 */
export interface FileStorageOptions {
  /** Directory that holds this node's log, hard state and snapshots; created when missing. */
  readonly directory: string;
  /**
   * A new segment file starts once the current one holds at least this many bytes, so a segment
   * may pass it by one record. Default 8 MiB.
   */
  readonly segmentBytesMax?: number;
  /** Most bytes of one entry's data; a larger entry is refused with a RangeError. Default 64 MiB. */
  readonly entryBytesMax?: number;
  /**
   * Most bytes of one log record. A persist whose entries need more is written as several records,
   * each fsynced before the next starts; an entry larger than this travels alone in its record.
   * Bounds the buffer encoded per write. Default 4 MiB.
   */
  readonly recordBytesMax?: number;
  /** Most bytes of one snapshot chunk written or read. Default 64 MiB. */
  readonly snapshotChunkBytesMax?: number;
  /** Most operations waiting for the disk; one more is refused with a RangeError. Default 4096. */
  readonly operationsQueuedMax?: number;
  /**
   * Zeros written ahead of the records of the open segment, so that most appends overwrite
   * instead of growing the file (see segment-log.ts). 0 turns it off. Default 1 MiB, or
   * `segmentBytesMax` when that is smaller.
   */
  readonly preallocationBytes?: number;
  /**
   * Test hook, called synchronously after each file system step of an operation (a write, an
   * fsync, a rename, a delete), so a test can copy the directory at every point a crash could
   * interrupt. Not for production use.
   * @internal
   */
  readonly afterEachStep?: () => void;
  /**
   * Called when a step starts waiting for space or write access (a full disk, a read-only
   * remount: see space-errors.ts), and with undefined once the waiting step succeeded.
   */
  readonly onStall?: (stall: StorageStall | undefined) => void;
}

type Hooks = 'afterEachStep' | 'onStall';
export type ResolvedFileStorageOptions = Required<Omit<FileStorageOptions, Hooks>> &
  Pick<FileStorageOptions, Hooks>;

/** Bytes that no single buffer of this module may exceed, whatever the options say. */
export const bufferBytesCeiling = 1024 * 1024 * 1024;

interface NumericLimit {
  readonly default: number;
  readonly minimum: number;
  readonly maximum: number;
}

type NumericOption = Exclude<keyof FileStorageOptions, 'directory' | Hooks>;

/** Defaults and accepted ranges. A tiny `segmentBytesMax` only makes sense in tests. */
export const fileStorageLimits: Readonly<Record<NumericOption, NumericLimit>> = Object.freeze({
  segmentBytesMax: { default: 8 * 1024 * 1024, minimum: 1, maximum: bufferBytesCeiling },
  entryBytesMax: { default: 64 * 1024 * 1024, minimum: 0, maximum: bufferBytesCeiling / 2 },
  recordBytesMax: { default: 4 * 1024 * 1024, minimum: 1, maximum: bufferBytesCeiling / 2 },
  snapshotChunkBytesMax: { default: 64 * 1024 * 1024, minimum: 1, maximum: bufferBytesCeiling },
  operationsQueuedMax: { default: 4096, minimum: 1, maximum: 1_000_000 },
  preallocationBytes: { default: 1024 * 1024, minimum: 0, maximum: bufferBytesCeiling },
});

const numericOptions = Object.keys(fileStorageLimits) as NumericOption[];
const knownOptions = new Set<string>(['directory', 'afterEachStep', 'onStall', ...numericOptions]);

/** Validates, defaults and freezes the options; throws TypeError or RangeError naming the option. */
export function resolveFileStorageOptions(options: FileStorageOptions): ResolvedFileStorageOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('FileStorage options must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!knownOptions.has(key)) throw new TypeError(`unknown FileStorage option "${key}"`);
  }
  if (typeof options.directory !== 'string' || options.directory === '') {
    throw new TypeError('FileStorage option "directory" must be a non-empty string');
  }
  for (const hook of ['afterEachStep', 'onStall'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') {
      throw new TypeError(`FileStorage option "${hook}" must be a function`);
    }
  }
  const resolved: Record<string, unknown> = { directory: options.directory };
  for (const name of numericOptions) {
    resolved[name] = resolveNumber(name, options[name]);
  }
  if (options.afterEachStep !== undefined) resolved['afterEachStep'] = options.afterEachStep;
  if (options.onStall !== undefined) resolved['onStall'] = options.onStall;
  return Object.freeze(resolved) as ResolvedFileStorageOptions;
}

function resolveNumber(name: NumericOption, value: number | undefined): number {
  const limit = fileStorageLimits[name];
  if (value === undefined) return limit.default;
  if (!Number.isSafeInteger(value) || value < limit.minimum || value > limit.maximum) {
    throw new RangeError(
      `FileStorage option "${name}" must be an integer in [${limit.minimum}, ${limit.maximum}], got ${String(value)}`,
    );
  }
  return value;
}
