import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/**
 * Small file system helpers with the durability each caller relies on. A directory is fsynced
 * after a file in it is created, renamed or deleted: until then the name change may be lost in a
 * crash even though the file's data was fsynced.
 */

export async function syncDirectory(directory: string): Promise<void> {
  const handle = await fs.promises.open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function syncDirectorySync(directory: string): void {
  const descriptor = fs.openSync(directory, 'r');
  try {
    fs.fsyncSync(descriptor);
  } finally {
    fs.closeSync(descriptor);
  }
}

/** Writes all of `data` at `position`; `write` may store fewer bytes than asked (disk full). */
export async function writeFully(
  handle: FileHandle,
  data: Uint8Array,
  position: number,
): Promise<void> {
  let written = 0;
  while (written < data.byteLength) {
    const result = await handle.write(data, written, data.byteLength - written, position + written);
    if (result.bytesWritten === 0) throw new Error(`write stalled at byte ${position + written}`);
    written += result.bytesWritten;
  }
}

/** Creates or replaces `path` with `data` and fsyncs it; the caller fsyncs the directory. */
export async function writeFileDurably(path: string, data: Uint8Array): Promise<void> {
  const handle = await fs.promises.open(path, 'w');
  try {
    await writeFully(handle, data, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Overwrites the start of the existing file `path` with `data` in place and fdatasyncs it. No
 * truncation, so rewriting a same-size record needs no new blocks: it works on a full disk,
 * where `writeFileDurably` would free the blocks and then race everyone else for them.
 */
export async function overwriteFileDurably(path: string, data: Uint8Array): Promise<void> {
  const handle = await fs.promises.open(path, 'r+');
  try {
    await writeFully(handle, data, 0);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** The synchronous twin of `writeFileDurably`, for recovery at startup. */
export function writeFileDurablySync(path: string, data: Uint8Array): void {
  const descriptor = fs.openSync(path, 'w');
  try {
    let written = 0;
    while (written < data.byteLength) {
      written += fs.writeSync(descriptor, data, written, data.byteLength - written, written);
    }
    fs.fsyncSync(descriptor);
  } finally {
    fs.closeSync(descriptor);
  }
}
