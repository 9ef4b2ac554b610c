/**
 * The one place frames are reassembled from socket chunks. Both framings on this project's
 * sockets use it: the Dqlite protocol's (`FrameDecoder` in frame.ts: an 8-byte header whose u32
 * counts body words) and Raft's between nodes (`RaftFrameDecoder` in src/transport/: a u32 byte
 * length, a version and a type). Each says how to read its own header; what is shared is the
 * buffering: chunks kept as they arrive, the header read as soon as it is whole, and a frame
 * handed out only once all of it has arrived.
 *
 * @internal Not part of the `dqlite-ts/wire` entry point.
 */

import { sharedBuffer } from './shared-bytes.js';

/**
 * Reads one frame header (the first `headerBytes` of the frame; the buffer is a copy) and returns
 * the size of the whole frame, header included. Throws the framing's own error for a header it
 * refuses, a size over its cap among them, so a forged length is refused before any of the body
 * is awaited.
 */
export type FrameBytesOf = (header: Buffer) => number;

/**
 * A frame this large is copied into its own buffer as it arrives, chunk by chunk, once this much
 * of it has: copying tens of megabytes at once when the last chunk lands would hold the thread
 * (and every heartbeat and request behind it) for hundreds of milliseconds.
 */
const largeFrameBytes = 1024 * 1024;

/** Options of `new FrameReassembler(...)`. */
export interface FrameReassemblerOptions {
  /**
   * A frame at least this large that is copied together is copied into a SharedArrayBuffer, so a
   * worker thread it is posted to shares its bytes instead of copying them (shared-bytes.ts; a
   * node passes `sharedBytesMin`). Default: never, for frames handed to an application.
   */
  readonly sharedFrameBytes?: number;
}

/**
 * Chunks in, whole frames out. Bytes are buffered only as they arrive. A frame inside one chunk
 * is handed out as a view of it; a smaller one is copied into one buffer once all of it has
 * arrived; a large one (`largeFrameBytes`) gets its buffer once that much of it has arrived and
 * is copied into it as the rest arrives. So a forged length costs at most what the peer really
 * sent (and the address space of one frame once it sent a megabyte). Buffered bytes never exceed
 * one frame plus the rest of the last chunk, as long as the caller drains `nextFrame()` after
 * each `push`.
 *
 * It keeps no error state: after `frameBytesOf` throws, the stream position is lost, and the
 * decoder that owns this reassembler must refuse every later call and close the connection.
 */
export class FrameReassembler {
  readonly #headerBytes: number;
  readonly #frameBytesOf: FrameBytesOf;
  readonly #sharedFrameBytes: number;
  #chunks: Buffer[] = [];
  /** Invariant: the sum of the lengths of `#chunks`, plus `#largeFilled`. */
  #bufferedBytes = 0;
  /**
   * The buffer of a large frame still arriving, header included, and how much of it is filled.
   * Invariant: set only while `#pendingFrameBytes` is its length, and then `#chunks` is empty.
   */
  #large: Buffer | undefined;
  #largeFilled = 0;
  /**
   * Size of the frame whose header was read and whose rest is still arriving, if any. The header
   * stays buffered until the whole frame is taken. Invariant: at least `#headerBytes`.
   */
  #pendingFrameBytes: number | undefined;

  constructor(
    headerBytes: number,
    frameBytesOf: FrameBytesOf,
    options: FrameReassemblerOptions = {},
  ) {
    if (!Number.isSafeInteger(headerBytes) || headerBytes < 1) {
      throw new RangeError(`headerBytes must be a positive integer, got ${headerBytes}`);
    }
    const sharedFrameBytes = options.sharedFrameBytes ?? Infinity;
    if (!(sharedFrameBytes === Infinity || Number.isSafeInteger(sharedFrameBytes))) {
      throw new RangeError(`sharedFrameBytes must be an integer, got ${sharedFrameBytes}`);
    }
    this.#headerBytes = headerBytes;
    this.#frameBytesOf = frameBytesOf;
    this.#sharedFrameBytes = sharedFrameBytes;
  }

  /** Bytes received but not yet handed out, the header of a frame still arriving included. */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** Adds one chunk of the stream; the caller then drains `nextFrame()`. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#bufferedBytes += chunk.length;
    const large = this.#large;
    if (large === undefined) {
      this.#chunks.push(chunk);
      return;
    }
    const used = Math.min(chunk.length, large.length - this.#largeFilled);
    chunk.copy(large, this.#largeFilled, 0, used);
    this.#largeFilled += used;
    if (used < chunk.length) this.#chunks.push(chunk.subarray(used));
  }

  /**
   * Exactly `byteLength` bytes from the front of the stream, or `undefined` until they have
   * arrived. Only between frames: for what precedes them, such as the Dqlite handshake word.
   */
  takeBytes(byteLength: number): Buffer | undefined {
    if (this.#pendingFrameBytes !== undefined) {
      throw new Error('FrameReassembler: takeBytes in the middle of a frame');
    }
    if (this.#bufferedBytes < byteLength) return undefined;
    return this.#take(byteLength);
  }

  /** The next whole frame, header included, or `undefined` until all of it has arrived. */
  nextFrame(): Buffer | undefined {
    const large = this.#large;
    if (large !== undefined) {
      if (this.#largeFilled < large.length) return undefined;
      this.#large = undefined;
      this.#largeFilled = 0;
      this.#bufferedBytes -= large.length;
      this.#pendingFrameBytes = undefined;
      return large;
    }
    if (this.#pendingFrameBytes === undefined) {
      if (this.#bufferedBytes < this.#headerBytes) return undefined;
      this.#pendingFrameBytes = this.#readHeader();
    }
    if (this.#bufferedBytes >= this.#pendingFrameBytes) {
      const frame = this.#take(this.#pendingFrameBytes);
      this.#pendingFrameBytes = undefined;
      return frame;
    }
    if (this.#bufferedBytes >= largeFrameBytes) {
      // Every buffered byte belongs to this frame (it has not all arrived): move them into its
      // own buffer, where the rest goes as it arrives (`push`).
      const buffered = this.#bufferedBytes;
      this.#large = this.#take(buffered, this.#allocate(this.#pendingFrameBytes));
      this.#largeFilled = buffered;
      this.#bufferedBytes = buffered;
    }
    return undefined;
  }

  /** Passes a copy of the buffered header to `frameBytesOf`; nothing is consumed. */
  #readHeader(): number {
    const header = Buffer.alloc(this.#headerBytes);
    let filled = 0;
    for (const chunk of this.#chunks) {
      if (filled === header.length) break;
      filled += chunk.copy(header, filled, 0, Math.min(chunk.length, header.length - filled));
    }
    const frameBytes = this.#frameBytesOf(header);
    if (!Number.isSafeInteger(frameBytes) || frameBytes < this.#headerBytes) {
      throw new Error(
        `FrameReassembler: a frame of ${frameBytes} bytes is shorter than its header`,
      );
    }
    return frameBytes;
  }

  /**
   * Removes exactly `byteLength` buffered bytes from the front of the chunks: a view when one
   * chunk holds them (and no `into` is given), else copied into `into` (or a new buffer).
   */
  #take(byteLength: number, into?: Buffer): Buffer {
    const first = this.#chunks[0];
    if (into === undefined && first !== undefined && first.length >= byteLength) {
      const taken = first.subarray(0, byteLength);
      if (first.length === byteLength) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(byteLength);
      this.#bufferedBytes -= byteLength;
      return taken;
    }
    const taken = into ?? this.#allocate(byteLength);
    let filled = 0;
    while (filled < byteLength) {
      const chunk = this.#chunks[0];
      if (chunk === undefined) throw new Error('FrameReassembler: fewer bytes than counted');
      const used = Math.min(chunk.length, byteLength - filled);
      chunk.copy(taken, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(used);
    }
    this.#bufferedBytes -= byteLength;
    return taken;
  }

  /** A buffer for a frame's copy: shared from `sharedFrameBytes` up. */
  #allocate(byteLength: number): Buffer {
    if (byteLength < this.#sharedFrameBytes) return Buffer.allocUnsafe(byteLength);
    return sharedBuffer(byteLength);
  }
}
