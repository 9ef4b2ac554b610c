import { constants as bufferConstants } from 'node:buffer';
import { HEADER_BYTES, WORD_BYTES } from './codes.js';
import { ProtocolError } from './protocol-error.js';

/** One whole message as framed on the wire (§3): the header's fields and the body. */
export interface Frame {
  readonly type: number;
  /** Body layout revision; `flags` in the 1.11 sources. */
  readonly schema: number;
  readonly body: Buffer;
}

/**
 * Default cap on one message's size. Large enough for DUMP of a sizeable database, small enough
 * that a forged header cannot make a peer buffer gigabytes. Configurable per decoder.
 */
export const MESSAGE_BYTES_MAX_DEFAULT = 256 * 1024 * 1024;

/** Header + body of one message; `body` must already be a whole number of words. */
export function encodeFrame(type: number, schema: number, body: Buffer): Buffer {
  if (body.length % WORD_BYTES !== 0) {
    throw new RangeError(`frame body of ${body.length} bytes is not a whole number of words`);
  }
  const frame = Buffer.alloc(HEADER_BYTES + body.length);
  writeHeader(frame, type, schema, body.length / WORD_BYTES);
  body.copy(frame, HEADER_BYTES);
  return frame;
}

/** Writes a header at the start of `target`: words (u32), type, schema, extra = 0. */
export function writeHeader(target: Buffer, type: number, schema: number, words: number): void {
  target.writeUInt32LE(words, 0);
  target.writeUInt8(type, 4);
  target.writeUInt8(schema, 5);
  target.writeUInt16LE(0, 6);
}

export interface FrameDecoderOptions {
  /**
   * Largest message accepted (header + body), from 16 to buffer.constants.MAX_LENGTH; default
   * MESSAGE_BYTES_MAX_DEFAULT.
   */
  readonly messageBytesMax?: number;
  /** The stream starts with the 8-byte protocol version word (a server reading a client). */
  readonly expectHandshake?: boolean;
}

const FRAME_DECODER_OPTIONS = new Set(['messageBytesMax', 'expectHandshake']);

/** Receives what a FrameDecoder finds, in stream order. */
export interface FrameSink {
  handshake?(version: bigint): void;
  frame(frame: Frame): void;
}

/**
 * Reassembles frames from socket chunks split at any byte boundary. Bytes are buffered only as
 * they arrive and a body is allocated only once the whole of it has arrived, so a forged length
 * costs at most what the peer really sent, and nothing above `messageBytesMax`.
 *
 * After a ProtocolError the stream position is lost: the caller must close the connection.
 */
export class FrameDecoder {
  readonly #messageBytesMax: number;
  #awaitingHandshake: boolean;
  #chunks: Buffer[] = [];
  #bufferedBytes = 0;
  /** Header of the frame whose body is still arriving, if any. */
  #pending: { type: number; schema: number; bodyBytes: number } | undefined;
  #failed: ProtocolError | undefined;

  constructor(options: FrameDecoderOptions = {}) {
    for (const key of Object.keys(options)) {
      if (!FRAME_DECODER_OPTIONS.has(key))
        throw new TypeError(`FrameDecoder: unknown option "${key}"`);
    }
    const messageBytesMax = options.messageBytesMax ?? MESSAGE_BYTES_MAX_DEFAULT;
    if (
      !Number.isSafeInteger(messageBytesMax) ||
      messageBytesMax < HEADER_BYTES + WORD_BYTES ||
      messageBytesMax > bufferConstants.MAX_LENGTH
    ) {
      throw new RangeError(
        `messageBytesMax must be an integer from 16 to ${bufferConstants.MAX_LENGTH}, got ${messageBytesMax}`,
      );
    }
    this.#messageBytesMax = messageBytesMax;
    this.#awaitingHandshake = options.expectHandshake ?? false;
  }

  /** Bytes received but not yet handed out as frames. */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** Feeds one chunk; calls the sink for each complete handshake word or frame. */
  push(chunk: Buffer, sink: FrameSink): void {
    if (this.#failed) throw this.#failed;
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#bufferedBytes += chunk.length;
    }
    try {
      this.#drain(sink);
    } catch (error) {
      if (error instanceof ProtocolError) this.#failed = error;
      throw error;
    }
  }

  #drain(sink: FrameSink): void {
    while (true) {
      if (this.#awaitingHandshake) {
        if (this.#bufferedBytes < WORD_BYTES) return;
        this.#awaitingHandshake = false;
        // Consume the word before the optional call: `sink.handshake?.(...)` would skip
        // evaluating its argument when the sink has no handshake callback.
        const version = this.#take(WORD_BYTES).readBigUInt64LE(0);
        sink.handshake?.(version);
        continue;
      }
      if (!this.#pending) {
        if (this.#bufferedBytes < HEADER_BYTES) return;
        this.#pending = this.#readHeader(this.#take(HEADER_BYTES));
      }
      if (this.#bufferedBytes < this.#pending.bodyBytes) return;
      const { type, schema, bodyBytes } = this.#pending;
      this.#pending = undefined;
      sink.frame({ type, schema, body: this.#take(bodyBytes) });
    }
  }

  #readHeader(header: Buffer): { type: number; schema: number; bodyBytes: number } {
    const words = header.readUInt32LE(0);
    const type = header.readUInt8(4);
    const schema = header.readUInt8(5);
    if (words === 0) {
      throw new ProtocolError('empty-body', `message type ${type} has an empty body (words = 0)`);
    }
    const bodyBytes = words * WORD_BYTES;
    if (bodyBytes + HEADER_BYTES > this.#messageBytesMax) {
      throw new ProtocolError(
        'oversized',
        `message type ${type} announces ${bodyBytes} body bytes; the cap is ${this.#messageBytesMax} bytes per message`,
      );
    }
    return { type, schema, bodyBytes };
  }

  /** Removes exactly `bytes` bytes from the front of the buffered chunks. */
  #take(bytes: number): Buffer {
    const first = this.#chunks[0];
    if (first && first.length >= bytes) {
      const taken = first.subarray(0, bytes);
      if (first.length === bytes) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(bytes);
      this.#bufferedBytes -= bytes;
      return taken;
    }
    const taken = Buffer.allocUnsafe(bytes);
    let filled = 0;
    while (filled < bytes) {
      const chunk = this.#chunks[0]!;
      const used = Math.min(chunk.length, bytes - filled);
      chunk.copy(taken, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(used);
    }
    this.#bufferedBytes -= bytes;
    return taken;
  }
}
