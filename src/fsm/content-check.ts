import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { assert } from '../raft/assert.js';

/**
 * Divergence checks, after etcd's corruption check: the leader proposes a content-check command
 * through Raft, and every node, when it applies that entry, hashes each of its databases as of
 * that index. Nodes that applied the same index must report the same hashes; a node that does not
 * holds data no acknowledged write put there (or lost some), and must never lead.
 *
 * A command entry carries either a page set (first byte: the page set's version, 1) or this
 * check (first byte 2, nothing else), so a node tells them apart by the first byte.
 */
const contentCheckTag = 2;

export function encodeContentCheck(): Uint8Array {
  return Uint8Array.of(contentCheckTag);
}

export function isContentCheck(data: Uint8Array): boolean {
  return data.byteLength === 1 && data[0] === contentCheckTag;
}

/** One database's content at a checked index. */
export interface DatabaseDigest {
  readonly name: string;
  /** Its size in pages at that index. */
  readonly pages: number;
  /** SHA-256 over the name, the size and every page in order, hex. */
  readonly hash: string;
}

/** What a node found when it applied the content check at `index`. */
export interface ContentCheck {
  readonly index: number;
  /** Every database the node holds, by name. */
  readonly databases: readonly DatabaseDigest[];
}

/** Pages read from a database file at a time (1 MiB with 4 KiB pages). */
const pagesPerRead = 256;

/**
 * Hashes database `name` as `pages` pages, each taken from `newer(pageNumber)` when that returns
 * an image (the WAL's, or a pre-image of a write after the checked index), else from the file.
 * The file is read in large chunks; a page the file lacks must come from `newer`.
 */
export function digestDatabase(options: {
  readonly name: string;
  readonly file: string;
  readonly pageSize: number;
  readonly pages: number;
  readonly newer: (pageNumber: number) => Uint8Array | undefined;
}): DatabaseDigest {
  const { name, file, pageSize, pages, newer } = options;
  const hash = createHash('sha256');
  hash.update(`${name}\0${pageSize}\0${pages}\0`);
  const descriptor = fs.existsSync(file) ? fs.openSync(file, 'r') : undefined;
  const chunk = Buffer.alloc(pagesPerRead * pageSize);
  try {
    for (let first = 1; first <= pages; first += pagesPerRead) {
      const count = Math.min(pagesPerRead, pages - first + 1);
      const read =
        descriptor === undefined
          ? 0
          : fs.readSync(descriptor, chunk, 0, count * pageSize, (first - 1) * pageSize);
      for (let i = 0; i < count; i++) {
        const pageNumber = first + i;
        const image = newer(pageNumber);
        if (image !== undefined) {
          assert(image.byteLength === pageSize, `page ${pageNumber} of ${name} is a whole page`);
          hash.update(image);
        } else {
          assert(read >= (i + 1) * pageSize, `page ${pageNumber} of ${name} is in its file`);
          hash.update(chunk.subarray(i * pageSize, (i + 1) * pageSize));
        }
      }
    }
  } finally {
    if (descriptor !== undefined) fs.closeSync(descriptor);
  }
  return { name, pages, hash: hash.digest('hex') };
}

/** Describes how two nodes' checks at the same index differ, or undefined when they agree. */
export function checkDifference(a: ContentCheck, b: ContentCheck): string | undefined {
  assert(a.index === b.index, 'checks compared at the same index');
  const names = new Set([...a.databases, ...b.databases].map((digest) => digest.name));
  for (const name of [...names].sort()) {
    const left = a.databases.find((digest) => digest.name === name);
    const right = b.databases.find((digest) => digest.name === name);
    if (left === undefined || right === undefined) return `${name} exists on one node only`;
    if (left.pages !== right.pages) return `${name} has ${left.pages} pages against ${right.pages}`;
    if (left.hash !== right.hash) return `${name} differs in content`;
  }
  return undefined;
}
