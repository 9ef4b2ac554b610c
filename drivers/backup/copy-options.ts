/** What a backup or restore reports as it goes (`onProgress`). */
export interface CopyProgress {
  /** The table being copied. */
  readonly table: string;
  /** Tables whose rows are all copied. */
  readonly tablesDone: number;
  readonly tablesTotal: number;
  /** Rows of `table` copied so far. */
  readonly tableRows: number;
  /** Rows of the tables before `table`. */
  readonly rows: number;
}

/** Rejects a missing option, a wrong type and a misspelled name, naming the argument. */
export function checkCopyOptions(what: string, options: object, names: readonly string[]): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${what}: options must be an object`);
  }
  const record = options as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!names.includes(key)) throw new TypeError(`${what}: unknown option "${key}"`);
  }
  const cluster = record.cluster;
  if (
    !Array.isArray(cluster) ||
    cluster.length === 0 ||
    !cluster.every((a) => typeof a === 'string')
  ) {
    throw new TypeError(`${what}: cluster must be a non-empty array of addresses`);
  }
  for (const name of ['database', 'file'] as const) {
    if (typeof record[name] !== 'string' || record[name] === '') {
      throw new TypeError(`${what}: ${name} must be a non-empty string`);
    }
  }
  if (record.onProgress !== undefined && typeof record.onProgress !== 'function') {
    throw new TypeError(`${what}: onProgress must be a function`);
  }
}
