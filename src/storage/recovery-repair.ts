import fs from 'node:fs';
import path from 'node:path';
import { syncDirectorySync, writeFileDurablySync } from './durable-file.js';

/**
 * A change recovery makes to the directory so that it matches what `load` reported: drop a torn
 * tail, delete leftovers of an interrupted operation, finish a committed snapshot install.
 * Recovery first validates everything and only then applies repairs, so a startup that fails
 * with a `StorageCorruptError` leaves the files as it found them.
 */
export type Repair =
  | { readonly kind: 'write'; readonly name: string; readonly data: Uint8Array }
  | { readonly kind: 'truncate'; readonly name: string; readonly bytes: number }
  | { readonly kind: 'rename'; readonly from: string; readonly to: string }
  | { readonly kind: 'delete'; readonly name: string };

/**
 * Applies repairs in order, fsyncing each written or truncated file, then the directory once.
 * Every repair is idempotent given the state it came from, so a crash in the middle only means
 * the next startup repairs again.
 */
export function applyRepairs(directory: string, repairs: readonly Repair[]): void {
  if (repairs.length === 0) return;
  for (const repair of repairs) {
    switch (repair.kind) {
      case 'write':
        writeFileDurablySync(path.join(directory, repair.name), repair.data);
        break;
      case 'truncate':
        truncateDurablySync(path.join(directory, repair.name), repair.bytes);
        break;
      case 'rename':
        fs.renameSync(path.join(directory, repair.from), path.join(directory, repair.to));
        break;
      case 'delete':
        fs.unlinkSync(path.join(directory, repair.name));
        break;
    }
  }
  syncDirectorySync(directory);
}

function truncateDurablySync(file: string, bytes: number): void {
  const descriptor = fs.openSync(file, 'r+');
  try {
    fs.ftruncateSync(descriptor, bytes);
    fs.fsyncSync(descriptor);
  } finally {
    fs.closeSync(descriptor);
  }
}
