// The format version of a node's data directory: what a release may assume about the files in
// it (node.json, raft/, db/ and the markers beside them). A node refuses a directory written by a
// newer format, which it cannot read safely, and upgrades an older one in place before it opens
// anything. Kept apart from the node's start so that `recoverNode` checks the same way.

import fs from 'node:fs';
import path from 'node:path';
import { syncDirectorySync, writeFileDurablySync } from '../storage/durable-file.js';

/**
 * The format this release writes. Version 1 is the layout of docs/operations.md ("Starting
 * nodes"); releases before the marker existed wrote it too, without the `format` file, so a
 * directory without one is read as version 1.
 */
export const dataFormatVersion = 1;

/** The file that holds the version: its decimal number and a newline. */
const formatFile = 'format';

/** A directory of format `version` (undefined: none recorded, so 1 or a brand-new directory). */
function readVersion(dataDir: string): number | undefined {
  const file = path.join(dataDir, formatFile);
  if (!fs.existsSync(file)) return undefined;
  const text = fs.readFileSync(file, 'utf8').trim();
  const version = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(version) || version < 1) {
    throw new Error(`${file} is damaged: expected a format version number, found "${text}"`);
  }
  return version;
}

/**
 * The directory's format version; throws when it is newer than this release's, naming both, so
 * nothing in it is read or written.
 */
export function checkDataFormat(dataDir: string): number {
  const version = readVersion(dataDir) ?? 1;
  if (version > dataFormatVersion) {
    throw new Error(
      `${dataDir} has data format version ${version}, newer than version ${dataFormatVersion} ` +
        'that this release reads; run a release that reads it (a downgrade is not supported)',
    );
  }
  return version;
}

/**
 * Makes `dataDir` this release's format before a node opens it: creates it when missing, refuses
 * a newer format (checkDataFormat), upgrades an older one in place, and records the version.
 * Upgrading from 1 (no marker) changes nothing but the marker. The marker is written to a
 * temporary file, fsynced and renamed over, so a crash leaves the old version or the new one.
 */
export function openDataDirectory(dataDir: string): void {
  fs.mkdirSync(dataDir, { recursive: true });
  const recorded = readVersion(dataDir);
  checkDataFormat(dataDir);
  if (recorded === dataFormatVersion) return;
  const temporary = path.join(dataDir, `${formatFile}.tmp`);
  writeFileDurablySync(temporary, Buffer.from(`${dataFormatVersion}\n`));
  fs.renameSync(temporary, path.join(dataDir, formatFile));
  syncDirectorySync(dataDir);
}
