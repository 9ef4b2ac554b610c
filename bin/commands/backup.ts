import { parseArgs } from 'node:util';
import {
  RESTORE_BYTES_MAX_DEFAULT,
  RestoreOutcomeUnknownError,
  backup,
  restore,
} from '../../index.js';
import type { CopyProgress } from '../../index.js';
import { TLS_ARGUMENTS, TLS_USAGE, tlsFromFiles } from './tls-files.js';
import { UsageError } from './usage-error.js';

export const BACKUP_USAGE = `dqlite-ts backup --cluster HOST:PORT[,...] ${TLS_USAGE} DATABASE FILE
  write DATABASE into FILE, a plain SQLite file, as of one snapshot on the leader; progress on
  stderr. Prints the leader's applied Raft index: every transaction committed at that index or
  below is in FILE (later ones may be too). C dqlite does not report it.
dqlite-ts restore --cluster HOST:PORT[,...] ${TLS_USAGE} [--replace] [--bytes-max N] DATABASE FILE
  load the SQLite file FILE into DATABASE in one transaction: all of it or nothing. DATABASE
  must be empty unless --replace, which drops what it holds in the same transaction. A file of
  more than --bytes-max bytes of pages is refused (default ${RESTORE_BYTES_MAX_DEFAULT}, 64 MiB;
  suffixes KiB, MiB, GiB).`;

/** Runs `dqlite-ts backup`. */
export async function runBackup(argv: string[]): Promise<number> {
  const { cluster, tls, database, file } = parseCopyArgs(argv, {});
  const result = await backup({
    cluster,
    database,
    file,
    tls,
    onProgress: (progress) => console.error(`backup: ${describeProgress(progress)}`),
  });
  console.log(`wrote ${result.file}: ${result.tables} tables, ${result.rows} rows`);
  console.log(
    result.appliedIndex === undefined
      ? 'raft index: not available (the server does not report it; C dqlite does not)'
      : `raft index ${result.appliedIndex}: every transaction committed at this index or below is in the file (later ones may be too)`,
  );
  return 0;
}

/** Runs `dqlite-ts restore`; says on stdout or stderr whether anything was restored. */
export async function runRestore(argv: string[]): Promise<number> {
  const { cluster, tls, database, file, replace, bytesMax } = parseCopyArgs(argv, {
    replace: { type: 'boolean', default: false },
    'bytes-max': { type: 'string' },
  });
  try {
    const result = await restore({
      cluster,
      database,
      file,
      tls,
      replace,
      bytesMax,
      onProgress: (progress) => console.error(`restore: ${describeProgress(progress)}`),
    });
    console.log(`restored ${result.rows} rows in ${result.tables} tables into ${database}`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof TypeError) throw error;
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    if (error instanceof RestoreOutcomeUnknownError) {
      console.error(`the outcome is unknown: ${reason}; read ${database} to find out`);
    } else {
      console.error(`nothing was restored: ${reason}`);
    }
    return 1;
  }
}

function describeProgress(progress: CopyProgress): string {
  const all = progress.rows + progress.tableRows;
  return `table ${progress.table}: ${progress.tableRows} rows; ${all} in all; ${progress.tablesDone}/${progress.tablesTotal} tables done`;
}

/** `--bytes-max`: a whole number of bytes, or of KiB, MiB or GiB. */
function parseByteCount(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)\s*(KiB|MiB|GiB)?$/.exec(text.trim());
  const units = { KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 } as const;
  const bytes =
    match === null
      ? NaN
      : Number(match[1]) * (match[2] ? units[match[2] as keyof typeof units] : 1);
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new UsageError(
      `--bytes-max must be a positive number of bytes (or KiB, MiB, GiB), got "${text}"`,
    );
  }
  return bytes;
}

function parseCopyArgs(
  argv: string[],
  extra: {
    replace?: { type: 'boolean'; default: false };
    'bytes-max'?: { type: 'string' };
  },
) {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { cluster: { type: 'string' }, ...TLS_ARGUMENTS, ...extra },
  });
  if (values.cluster === undefined) throw new UsageError('missing --cluster');
  const [database, file, ...rest] = positionals;
  if (database === undefined || file === undefined) throw new UsageError('missing DATABASE FILE');
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
  return {
    cluster: values.cluster.split(','),
    tls: tlsFromFiles(values),
    database,
    file,
    replace: values.replace === true,
    bytesMax: parseByteCount(
      typeof values['bytes-max'] === 'string' ? values['bytes-max'] : undefined,
    ),
  };
}
