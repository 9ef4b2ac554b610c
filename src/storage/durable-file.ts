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

/**
 * Writes `parts` one after another from `position`, with as few vectored writes as the system
 * takes (it may take fewer bytes than asked at a time).
 */
export async function writeAllParts(
  handle: FileHandle,
  parts: readonly Uint8Array[],
  position: number,
): Promise<void> {
  let remaining = parts.filter((part) => part.byteLength > 0);
  let at = position;
  while (remaining.length > 0) {
    const { bytesWritten } = await handle.writev(remaining, at);
    if (bytesWritten === 0) throw new Error(`write stalled at byte ${at}`);
    at += bytesWritten;
    remaining = partsAfter(remaining, bytesWritten);
  }
}

/** What is left of `parts` once their first `bytes` bytes are written. */
export function partsAfter(parts: readonly Uint8Array[], bytes: number): Uint8Array[] {
  let skipped = bytes;
  let first = 0;
  while (first < parts.length && (parts[first] as Uint8Array).byteLength <= skipped) {
    skipped -= (parts[first] as Uint8Array).byteLength;
    first += 1;
  }
  const rest = parts.slice(first);
  if (skipped > 0 && rest[0] !== undefined) rest[0] = rest[0].subarray(skipped);
  return rest;
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
