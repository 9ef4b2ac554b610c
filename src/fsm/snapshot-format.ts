import fs from 'node:fs';
import path from 'node:path';
import { syncDirectorySync } from '../storage/durable-file.js';

/**
 * The snapshot of a node's databases, one blob: u32 database count; per database (in name
 * order) u8 name length, the name, u64 byte size, and the file's bytes. Little-endian.
 *
 * Both directions stream: a database may be larger than memory, so the writer copies each file
 * in chunks, and the reader writes each database into a staged file as the chunks arrive. A
 * database is replaced only once the whole blob has arrived and checked out.
 */

/**
 * Bytes of a database file copied into the blob at a time: a buffer size of this writer only. The
 * reader parses whatever chunks it is pushed; Raft sends InstallSnapshot in chunks of
 * `RaftConfig.snapshotChunkBytes`.
 */
const snapshotCopyChunkBytes = 1024 * 1024;
/** Marks a database file being restored; `~` cannot occur in a database name. */
export const restoringSuffix = '~restore';

/** Writes the blob of the databases `names` (files in `directory`) to `write`, in chunks. */
export function writeSnapshotBlob(
  directory: string,
  names: readonly string[],
  write: (bytes: Uint8Array) => void,
): void {
  const count = Buffer.alloc(4);
  count.writeUInt32LE(names.length);
  write(count);
  const chunk = Buffer.alloc(snapshotCopyChunkBytes);
  for (const name of names) {
    const descriptor = fs.openSync(path.join(directory, name), 'r');
    try {
      const size = fs.fstatSync(descriptor).size;
      const nameBytes = Buffer.byteLength(name);
      const header = Buffer.alloc(1 + nameBytes + 8);
      header.writeUInt8(nameBytes, 0);
      header.write(name, 1);
      header.writeBigUInt64LE(BigInt(size), 1 + nameBytes);
      write(header);
      for (let offset = 0; offset < size;) {
        const read = fs.readSync(
          descriptor,
          chunk,
          0,
          Math.min(chunk.length, size - offset),
          offset,
        );
        if (read === 0) throw new Error(`${name} shrank while it was copied into a snapshot`);
        write(Buffer.from(chunk.subarray(0, read)));
        offset += read;
      }
    } finally {
      fs.closeSync(descriptor);
    }
  }
}

type ParseState =
  | { readonly kind: 'count' }
  | { readonly kind: 'header'; readonly databasesLeft: number }
  | {
      readonly kind: 'body';
      bytesLeft: number;
      readonly descriptor: number;
      readonly databasesAfter: number;
    }
  | { readonly kind: 'done' };

/**
 * Reads a blob chunk by chunk into staged files beside the databases (`name~restore`). `finish`
 * checks the blob was whole, fsyncs and renames every staged file over its database, removes the
 * databases the snapshot does not have, and fsyncs the directory. A blob that does not parse
 * throws a RangeError and leaves the databases untouched.
 */
export class SnapshotReader {
  readonly #directory: string;
  readonly #checkName: (name: string) => string | undefined;
  #state: ParseState = { kind: 'count' };
  /** Bytes received but not yet parsed (only ever a header's worth). */
  #pending = Buffer.alloc(0);
  readonly #staged: string[] = [];

  constructor(directory: string, checkName: (name: string) => string | undefined) {
    this.#directory = directory;
    this.#checkName = checkName;
    for (const name of fs.readdirSync(directory)) {
      if (name.endsWith(restoringSuffix)) fs.rmSync(path.join(directory, name));
    }
  }

  push(chunk: Uint8Array): void {
    try {
      this.#parse(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (error) {
      this.abandon();
      throw error;
    }
  }

  /** Installs the staged databases; `existing` are the databases there now. */
  finish(existing: readonly string[]): void {
    if (this.#state.kind !== 'done' || this.#pending.length > 0) {
      const why = this.#state.kind === 'done' ? 'trailing bytes' : 'truncated';
      this.abandon();
      throw new RangeError(`bad database snapshot: ${why}`);
    }
    const kept = new Set<string>();
    for (const name of this.#staged) {
      const file = path.join(this.#directory, name);
      fs.renameSync(`${file}${restoringSuffix}`, file);
      kept.add(name);
    }
    for (const name of existing) if (!kept.has(name)) fs.rmSync(path.join(this.#directory, name));
    syncDirectorySync(this.#directory);
  }

  /** Drops whatever was staged (a broken blob, or a restore that will not finish). */
  abandon(): void {
    if (this.#state.kind === 'body') fs.closeSync(this.#state.descriptor);
    this.#state = { kind: 'done' };
    for (const name of this.#staged) {
      fs.rmSync(path.join(this.#directory, `${name}${restoringSuffix}`), { force: true });
    }
    this.#staged.length = 0;
  }

  #parse(input: Buffer): void {
    let bytes = this.#pending.length > 0 ? Buffer.concat([this.#pending, input]) : input;
    this.#pending = Buffer.alloc(0);
    while (bytes.length > 0) {
      const state = this.#state;
      if (state.kind === 'done') throw new RangeError('bad database snapshot: trailing bytes');
      if (state.kind === 'count') {
        if (bytes.length < 4) return void (this.#pending = Buffer.from(bytes));
        const count = bytes.readUInt32LE(0);
        this.#state = count === 0 ? { kind: 'done' } : { kind: 'header', databasesLeft: count };
        bytes = bytes.subarray(4);
      } else if (state.kind === 'header') {
        const nameBytes = bytes.readUInt8(0);
        if (bytes.length < 1 + nameBytes + 8) return void (this.#pending = Buffer.from(bytes));
        const name = bytes.toString('utf8', 1, 1 + nameBytes);
        const problem = this.#checkName(name);
        if (problem !== undefined) throw new RangeError(`bad database snapshot: ${problem}`);
        if (this.#staged.includes(name))
          throw new RangeError(`bad database snapshot: ${name} twice`);
        const size = Number(bytes.readBigUInt64LE(1 + nameBytes));
        this.#staged.push(name);
        const descriptor = fs.openSync(
          path.join(this.#directory, `${name}${restoringSuffix}`),
          'w',
        );
        this.#state = {
          kind: 'body',
          bytesLeft: size,
          descriptor,
          databasesAfter: state.databasesLeft - 1,
        };
        bytes = bytes.subarray(1 + nameBytes + 8);
        if (size === 0) this.#endBody();
      } else {
        const take = Math.min(state.bytesLeft, bytes.length);
        fs.writeSync(state.descriptor, bytes, 0, take);
        state.bytesLeft -= take;
        bytes = bytes.subarray(take);
        if (state.bytesLeft === 0) this.#endBody();
      }
    }
  }

  #endBody(): void {
    const state = this.#state;
    if (state.kind !== 'body') return;
    fs.fsyncSync(state.descriptor);
    fs.closeSync(state.descriptor);
    this.#state =
      state.databasesAfter === 0
        ? { kind: 'done' }
        : { kind: 'header', databasesLeft: state.databasesAfter };
  }
}
