import { assert } from '../raft/assert.js';
import { sharedBuffer, sharedBytesMin } from '../wire/shared-bytes.js';

/**
 * The pages one committed write transaction changed, as Raft replicates them: the page images
 * the transaction left, and the database size after it. Applying them to a database file at
 * `(pageNumber - 1) * pageSize` and truncating it to `databasePages` pages reproduces the
 * transaction byte for byte, whatever SQL produced it (docs/architecture.md, "Replication").
 */
export interface PageSet {
  readonly database: string;
  readonly pageSize: number;
  /** The database size in pages after the transaction. */
  readonly databasePages: number;
  /** Ascending page numbers, each once. */
  readonly pages: readonly { readonly pageNumber: number; readonly data: Uint8Array }[];
}

const pageSetVersion = 1;
/** A part of a page set too large for one entry (`encodePageSetEntries`). */
const pageSetPartVersion = 2;
/** Most bytes of a database name; matches what the wire protocol's OPEN carries in practice. */
export const databaseNameBytesMax = 255;

/**
 * Layout, little-endian like the rest of our formats: u8 version, u8 name length, name, u32 page
 * size, u32 database pages, u32 page count, then page count × (u32 page number, page bytes).
 */
export function encodePageSet(set: PageSet): Buffer {
  const name = Buffer.from(set.database, 'utf8');
  assert(name.length <= databaseNameBytesMax, `database name of ${name.length} bytes`);
  const size = 2 + name.length + 12 + set.pages.length * (4 + set.pageSize);
  const buffer = entryBuffer(size);
  let offset = buffer.writeUInt8(pageSetVersion, 0);
  offset = buffer.writeUInt8(name.length, offset);
  offset += name.copy(buffer, offset);
  offset = buffer.writeUInt32LE(set.pageSize, offset);
  offset = buffer.writeUInt32LE(set.databasePages, offset);
  offset = buffer.writeUInt32LE(set.pages.length, offset);
  offset = writePages(buffer, offset, set, set.pages);
  assert(offset === size, `page set encoded into ${offset} of ${size} bytes`);
  return buffer;
}

/**
 * An entry's buffer. A large one is shared (shared-bytes.ts): the SQL worker that encodes it, the
 * main thread that logs and sends it, and the worker again when it applies, all read one copy.
 */
function entryBuffer(byteLength: number): Buffer {
  return byteLength >= sharedBytesMin ? sharedBuffer(byteLength) : Buffer.alloc(byteLength);
}

/** Decodes `encodePageSet`'s output; a RangeError names anything else. */
export function decodePageSet(data: Uint8Array): PageSet {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const fail = (why: string): never => {
    throw new RangeError(`bad page set: ${why}`);
  };
  if (buffer.length < 2) fail('truncated');
  if (buffer.readUInt8(0) !== pageSetVersion) fail(`version ${buffer.readUInt8(0)}`);
  const nameBytes = buffer.readUInt8(1);
  if (buffer.length < 2 + nameBytes + 12) fail('truncated header');
  const database = buffer.toString('utf8', 2, 2 + nameBytes);
  let offset = 2 + nameBytes;
  const pageSize = buffer.readUInt32LE(offset);
  const databasePages = buffer.readUInt32LE(offset + 4);
  const count = buffer.readUInt32LE(offset + 8);
  offset += 12;
  const pages = readPages(buffer, offset, count, pageSize, fail);
  return { database, pageSize, databasePages, pages };
}

/**
 * The `count` pages (u32 page number, then the page) that end `buffer` from `offset`, as views
 * of it; `fail` names a bad page size, a length that does not match, or unordered page numbers.
 */
function readPages(
  buffer: Buffer,
  offset: number,
  count: number,
  pageSize: number,
  fail: (why: string) => never,
): PageSet['pages'] {
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0)
    fail(`page size ${pageSize}`);
  if (buffer.length !== offset + count * (4 + pageSize))
    fail('length does not match the page count');
  const pages: { pageNumber: number; data: Uint8Array }[] = [];
  let previous = 0;
  for (let i = 0; i < count; i++) {
    const pageNumber = buffer.readUInt32LE(offset);
    if (pageNumber <= previous) fail('page numbers must ascend');
    previous = pageNumber;
    pages.push({ pageNumber, data: buffer.subarray(offset + 4, offset + 4 + pageSize) });
    offset += 4 + pageSize;
  }
  return pages;
}

/** Writes each page (u32 page number, then the page) into `buffer` from `offset`; returns the end. */
function writePages(buffer: Buffer, offset: number, set: PageSet, pages: PageSet['pages']): number {
  for (const page of pages) {
    assert(page.data.byteLength === set.pageSize, `page ${page.pageNumber} has the page size`);
    offset = buffer.writeUInt32LE(page.pageNumber, offset);
    buffer.set(page.data, offset);
    offset += set.pageSize;
  }
  return offset;
}

/**
 * One Raft entry's share of a transaction's page set. A transaction whose pages fit one entry is
 * one part (`part` 0, `last`); a larger one spans consecutive entries of one leader's term, parts
 * 0, 1, ... in order, each with some of its pages, ascending across the parts. It applies only
 * once its last part is committed (DatabaseSet), so a transaction is never half there.
 */
export interface PageSetPart {
  /** `pages` is this part's share; `databasePages` the database size after the transaction. */
  readonly set: PageSet;
  readonly part: number;
  readonly last: boolean;
}

/** Bytes of a part's header around its pages, at most (a name of `databaseNameBytesMax`). */
export const pageSetPartHeaderBytesMax = 2 + databaseNameBytesMax + 17;

/**
 * The entries that carry `set`: one entry in the single-entry format when it takes at most
 * `entryBytesMax` bytes (or holds one page), otherwise parts of at most `entryBytesMax` bytes
 * (and at least one page each, whatever `entryBytesMax` says).
 */
export function encodePageSetEntries(set: PageSet, entryBytesMax: number): Buffer[] {
  assert(set.pages.length > 0, 'a committed transaction has pages');
  const whole =
    2 + Buffer.byteLength(set.database, 'utf8') + 12 + set.pages.length * (4 + set.pageSize);
  if (whole <= entryBytesMax) return [encodePageSet(set)];
  const name = Buffer.from(set.database, 'utf8');
  assert(name.length <= databaseNameBytesMax, `database name of ${name.length} bytes`);
  const header = 2 + name.length + 17;
  const pagesPerPart = Math.max(1, Math.floor((entryBytesMax - header) / (4 + set.pageSize)));
  // One page over the limit: no split makes it smaller.
  if (pagesPerPart >= set.pages.length) return [encodePageSet(set)];
  const parts: Buffer[] = [];
  for (let first = 0; first < set.pages.length; first += pagesPerPart) {
    const pages = set.pages.slice(first, first + pagesPerPart);
    const last = first + pagesPerPart >= set.pages.length;
    const buffer = entryBuffer(header + pages.length * (4 + set.pageSize));
    let offset = buffer.writeUInt8(pageSetPartVersion, 0);
    offset = buffer.writeUInt8(name.length, offset);
    offset += name.copy(buffer, offset);
    offset = buffer.writeUInt32LE(set.pageSize, offset);
    offset = buffer.writeUInt32LE(set.databasePages, offset);
    offset = buffer.writeUInt32LE(parts.length, offset);
    offset = buffer.writeUInt8(last ? 1 : 0, offset);
    offset = buffer.writeUInt32LE(pages.length, offset);
    offset = writePages(buffer, offset, set, pages);
    assert(offset === buffer.length, `part encoded into ${offset} of ${buffer.length} bytes`);
    parts.push(buffer);
  }
  return parts;
}

/** Decodes an entry `encodePageSetEntries` made (either format); a RangeError names anything else. */
export function decodePageSetEntry(data: Uint8Array): PageSetPart {
  if (data.byteLength >= 1 && data[0] === pageSetVersion) {
    return { set: decodePageSet(data), part: 0, last: true };
  }
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const fail = (why: string): never => {
    throw new RangeError(`bad page set part: ${why}`);
  };
  if (buffer.length < 2) fail('truncated');
  if (buffer.readUInt8(0) !== pageSetPartVersion) fail(`version ${buffer.readUInt8(0)}`);
  const nameBytes = buffer.readUInt8(1);
  let offset = 2 + nameBytes;
  if (buffer.length < offset + 17) fail('truncated header');
  const database = buffer.toString('utf8', 2, offset);
  const pageSize = buffer.readUInt32LE(offset);
  const databasePages = buffer.readUInt32LE(offset + 4);
  const part = buffer.readUInt32LE(offset + 8);
  const lastByte = buffer.readUInt8(offset + 12);
  const count = buffer.readUInt32LE(offset + 13);
  offset += 17;
  if (lastByte > 1) fail(`last flag ${lastByte}`);
  if (count === 0) fail('no pages');
  const pages = readPages(buffer, offset, count, pageSize, fail);
  return { set: { database, pageSize, databasePages, pages }, part, last: lastByte === 1 };
}
