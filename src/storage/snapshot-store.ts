import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { assert } from '../raft/assert.js';
import type { SnapshotMetadata } from '../raft/types.js';
import { crc32c } from './crc32c.js';
import { syncDirectory, writeFileDurably, writeFully } from './durable-file.js';
import type { Step } from './operation-queue.js';
import {
  decodeSnapshotRecord,
  encodeSnapshotRecord,
  type SnapshotRecord,
} from './snapshot-metadata-record.js';
import {
  snapshotDataFileName,
  snapshotMetadataFileName,
  snapshotStagingFileName,
  temporarySuffix,
} from './storage-file.js';

interface Staging {
  readonly metadata: SnapshotMetadata;
  /** Bytes staged once every queued write has run; the next chunk must start here. */
  bytes: number;
  /** CRC-32C of the staged bytes, computed as chunks arrive and checked again at startup. */
  checksum: number;
}

/** A planned snapshot read: run the steps, then take the data. */
export interface SnapshotReadPlan {
  readonly steps: readonly Step[];
  readonly data: () => Uint8Array;
}

/**
 * The current snapshot and the one being staged. Like `SegmentLog`, each method updates the model
 * when the operation is queued and returns the steps that make it durable.
 *
 * Chunks go to `snapshot.staging`, unsynced: a staged snapshot is not state a restart keeps
 * (recovery deletes it), so only installation needs it durable. Installation, in this order:
 * fsync the staged data; write the metadata to a temporary file and fsync it; rename it to
 * `snapshot-<generation>.meta` and fsync the directory (the commit point: a crash before it keeps
 * the old snapshot, after it the new one); rename the staged data to `snapshot-<generation>.data`
 * and fsync the directory (recovery finishes this rename if a crash interrupted it); delete the
 * previous generation.
 */
export class SnapshotStore {
  readonly #directory: string;
  #current: SnapshotRecord | undefined;
  #generationNext: number;
  #staging: Staging | undefined;
  /** The staging file, open while chunks arrive (the I/O side). */
  #stagingHandle: FileHandle | undefined;

  constructor(directory: string, current: SnapshotRecord | undefined, generationNext: number) {
    this.#directory = directory;
    this.#current = current;
    this.#generationNext = generationNext;
  }

  /** The current snapshot once every queued operation has run. */
  get current(): SnapshotRecord | undefined {
    return this.#current;
  }

  /** Plans staging one chunk; throws a RangeError when the chunk does not continue the staging. */
  stage(metadata: SnapshotMetadata, offset: number, data: Uint8Array): Step[] {
    if (offset === 0) {
      if (data.byteLength > metadata.bytes) {
        throw new RangeError(`snapshot chunk of ${data.byteLength} bytes exceeds metadata.bytes`);
      }
      this.#staging = { metadata, bytes: data.byteLength, checksum: crc32c(data) };
      const copy = Buffer.from(data);
      return [() => this.#openStaging(), () => this.#writeStaging(copy, 0)];
    }
    const staging = this.#staging;
    if (staging === undefined || !sameSnapshot(staging.metadata, metadata)) {
      throw new RangeError(`snapshot chunk at offset ${offset} continues no staged snapshot`);
    }
    if (offset !== staging.bytes) {
      throw new RangeError(
        `snapshot chunk at offset ${offset}, but ${staging.bytes} bytes are staged`,
      );
    }
    if (offset + data.byteLength > metadata.bytes) {
      throw new RangeError(`snapshot chunk ends past metadata.bytes ${metadata.bytes}`);
    }
    staging.bytes += data.byteLength;
    staging.checksum = crc32c(data, staging.checksum);
    const copy = Buffer.from(data);
    return [() => this.#writeStaging(copy, offset)];
  }

  /** Throws a RangeError unless `metadata` names the fully staged snapshot and is not older. */
  checkInstall(metadata: SnapshotMetadata): void {
    const staging = this.#staging;
    if (staging === undefined || !sameSnapshot(staging.metadata, metadata)) {
      throw new RangeError(`snapshot ${metadata.index}/${metadata.term} is not staged`);
    }
    if (staging.bytes !== metadata.bytes) {
      throw new RangeError(`snapshot has ${staging.bytes} of ${metadata.bytes} bytes staged`);
    }
    if (this.#current !== undefined && metadata.index < this.#current.metadata.index) {
      throw new RangeError(`snapshot ${metadata.index} is older than the current one`);
    }
  }

  /** Plans making the staged snapshot current, recording which part of the log survives it. */
  install(metadata: SnapshotMetadata, log: { sequenceFirst: number; indexFirst: number }): Step[] {
    this.checkInstall(metadata);
    const staging = this.#staging as Staging;
    const record: SnapshotRecord = {
      generation: this.#generationNext++,
      metadata,
      dataChecksum: staging.checksum,
      logSequenceFirst: log.sequenceFirst,
      logIndexFirst: log.indexFirst,
    };
    const encoded = encodeSnapshotRecord(record);
    assert(typeof decodeSnapshotRecord(encoded) === 'object', 'snapshot metadata decodes');
    const previous = this.#current;
    this.#current = record;
    this.#staging = undefined;
    const metadataName = snapshotMetadataFileName(record.generation);
    const steps: Step[] = [
      () => this.#syncStaging(),
      () => writeFileDurably(this.#path(metadataName + temporarySuffix), encoded),
      () => this.#rename(metadataName + temporarySuffix, metadataName),
      () => syncDirectory(this.#directory),
      () => this.#rename(snapshotStagingFileName, snapshotDataFileName(record.generation)),
      () => syncDirectory(this.#directory),
    ];
    if (previous !== undefined) {
      // Metadata first: a data file without metadata below the current generation is a leftover.
      steps.push(() =>
        fs.promises.unlink(this.#path(snapshotMetadataFileName(previous.generation))),
      );
      steps.push(() => fs.promises.unlink(this.#path(snapshotDataFileName(previous.generation))));
    }
    return steps;
  }

  /** Plans a read of the current snapshot, or says why `metadata` cannot be read. */
  read(metadata: SnapshotMetadata, offset: number, length: number): SnapshotReadPlan | Error {
    const current = this.#current;
    if (current === undefined || !sameSnapshot(current.metadata, metadata)) {
      return new Error(`snapshot ${metadata.index}/${metadata.term} is not the current snapshot`);
    }
    if (offset > current.metadata.bytes) {
      throw new RangeError(
        `offset ${offset} is past the snapshot's ${current.metadata.bytes} bytes`,
      );
    }
    const data = Buffer.alloc(Math.min(length, current.metadata.bytes - offset));
    const file = this.#path(snapshotDataFileName(current.generation));
    return { steps: [() => readFully(file, data, offset)], data: () => data };
  }

  async close(): Promise<void> {
    const handle = this.#stagingHandle;
    this.#stagingHandle = undefined;
    await handle?.close();
  }

  #path(name: string): string {
    return path.join(this.#directory, name);
  }

  async #openStaging(): Promise<void> {
    await this.close();
    this.#stagingHandle = await fs.promises.open(this.#path(snapshotStagingFileName), 'w');
  }

  async #writeStaging(data: Uint8Array, offset: number): Promise<void> {
    assert(this.#stagingHandle !== undefined, 'the staging file is open');
    await writeFully(this.#stagingHandle, data, offset);
  }

  async #syncStaging(): Promise<void> {
    assert(this.#stagingHandle !== undefined, 'the staging file is open');
    await this.#stagingHandle.sync();
    await this.close();
  }

  async #rename(from: string, to: string): Promise<void> {
    await fs.promises.rename(this.#path(from), this.#path(to));
  }
}

/** Snapshots are told apart by index and term; `bytes` must agree too. */
export function sameSnapshot(a: SnapshotMetadata, b: SnapshotMetadata): boolean {
  return a.index === b.index && a.term === b.term && a.bytes === b.bytes;
}

async function readFully(file: string, data: Buffer, offset: number): Promise<void> {
  const handle = await fs.promises.open(file, 'r');
  try {
    let read = 0;
    while (read < data.length) {
      const result = await handle.read(data, read, data.length - read, offset + read);
      if (result.bytesRead === 0) throw new Error(`${file} ends at byte ${offset + read}`);
      read += result.bytesRead;
    }
  } finally {
    await handle.close();
  }
}
