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

/**
 * Reads one frame header (the first `headerBytes` of the frame; the buffer is a copy) and returns
 * the size of the whole frame, header included. Throws the framing's own error for a header it
 * refuses, a size over its cap among them, so a forged length is refused before any of the body
 * is awaited.
 */
export type FrameBytesOf = (header: Buffer) => number;

/**
 * Chunks in, whole frames out. Bytes are buffered only as they arrive and a frame is copied into
 * one buffer only once all of it has arrived (a frame inside one chunk is handed out as a view of
 * it), so a forged length costs at most what the peer really sent. Buffered bytes never exceed
 * one frame plus the rest of the last chunk, as long as the caller drains `nextFrame()` after
 * each `push`.
 *
 * It keeps no error state: after `frameBytesOf` throws, the stream position is lost, and the
 * decoder that owns this reassembler must refuse every later call and close the connection.
 */
export class FrameReassembler {
  readonly #headerBytes: number;
  readonly #frameBytesOf: FrameBytesOf;
  #chunks: Buffer[] = [];
  /** Invariant: the sum of the lengths of `#chunks`. */
  #bufferedBytes = 0;
  /**
   * Size of the frame whose header was read and whose rest is still arriving, if any. The header
   * stays buffered until the whole frame is taken. Invariant: at least `#headerBytes`.
   */
  #pendingFrameBytes: number | undefined;

  constructor(headerBytes: number, frameBytesOf: FrameBytesOf) {
    if (!Number.isSafeInteger(headerBytes) || headerBytes < 1) {
      throw new RangeError(`headerBytes must be a positive integer, got ${headerBytes}`);
    }
    this.#headerBytes = headerBytes;
    this.#frameBytesOf = frameBytesOf;
  }

  /** Bytes received but not yet handed out, the header of a frame still arriving included. */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** Adds one chunk of the stream; the caller then drains `nextFrame()`. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#bufferedBytes += chunk.length;
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
    if (this.#pendingFrameBytes === undefined) {
      if (this.#bufferedBytes < this.#headerBytes) return undefined;
      this.#pendingFrameBytes = this.#readHeader();
    }
    if (this.#bufferedBytes < this.#pendingFrameBytes) return undefined;
    const frame = this.#take(this.#pendingFrameBytes);
    this.#pendingFrameBytes = undefined;
    return frame;
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

  /** Removes exactly `byteLength` buffered bytes from the front of the chunks. */
  #take(byteLength: number): Buffer {
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= byteLength) {
      const taken = first.subarray(0, byteLength);
      if (first.length === byteLength) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(byteLength);
      this.#bufferedBytes -= byteLength;
      return taken;
    }
    const taken = Buffer.allocUnsafe(byteLength);
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
}
