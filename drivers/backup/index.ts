/**
 * Backup and restore of one database: `backup` writes a plain SQLite file from a running cluster
 * as of one snapshot; `restore` loads a SQLite file into a cluster in one transaction. Both speak
 * only the Dqlite protocol, so they work against canonical's C dqlite too.
 *
 * @example
 * import { backup, restore } from 'dqlite-ts/backup';
 * await backup({ cluster: ['127.0.0.1:9001'], database: 'app', file: 'app.db' });
 * await restore({ cluster: ['127.0.0.1:9001'], database: 'copy', file: 'app.db' });
 */
export { backup, PROGRESS_ROWS } from './backup.js';
export type { BackupOptions, BackupResult } from './backup.js';
export { restore, RESTORE_BYTES_MAX_DEFAULT } from './restore.js';
export type { RestoreOptions, RestoreResult } from './restore.js';
export type { CopyProgress } from './copy-options.js';
export { BackupRefusedError, RestoreOutcomeUnknownError, RestoreRefusedError } from './errors.js';
export type { RestoreRefusal } from './errors.js';
