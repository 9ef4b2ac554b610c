export { FileStorage, type LogFiles } from './file-storage.js';
export { fileStorageLimits, type FileStorageOptions } from './file-storage-options.js';
export { StorageCorruptError } from './storage-corrupt-error.js';
export { isWaitableStorageError, type StorageStall } from './space-errors.js';
