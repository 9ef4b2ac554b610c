import { assert } from '../raft/assert.js';

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
  const buffer = Buffer.alloc(size);
  let offset = buffer.writeUInt8(pageSetVersion, 0);
  offset = buffer.writeUInt8(name.length, offset);
  offset += name.copy(buffer, offset);
  offset = buffer.writeUInt32LE(set.pageSize, offset);
  offset = buffer.writeUInt32LE(set.databasePages, offset);
  offset = buffer.writeUInt32LE(set.pages.length, offset);
  for (const page of set.pages) {
    assert(page.data.byteLength === set.pageSize, `page ${page.pageNumber} has the page size`);
    offset = buffer.writeUInt32LE(page.pageNumber, offset);
    buffer.set(page.data, offset);
    offset += set.pageSize;
  }
  assert(offset === size, `page set encoded into ${offset} of ${size} bytes`);
  return buffer;
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
  return { database, pageSize, databasePages, pages };
}
