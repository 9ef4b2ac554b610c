import { constants as bufferConstants } from 'node:buffer';
import { HEADER_BYTES, WORD_BYTES } from './codes.js';
import { FrameReassembler } from './frame-reassembler.js';
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
  /** FrameReassemblerOptions.sharedFrameBytes: for a node, whose requests go to its SQL worker. */
  readonly sharedFrameBytes?: number;
}

const FRAME_DECODER_OPTIONS = new Set(['messageBytesMax', 'expectHandshake', 'sharedFrameBytes']);

/** Receives what a FrameDecoder finds, in stream order. */
export interface FrameSink {
  handshake?(version: bigint): void;
  frame(frame: Frame): void;
}

/**
 * Reassembles frames from socket chunks split at any byte boundary (FrameReassembler, shared with
 * Raft's peer messages). Bytes are buffered only as they arrive and a frame is allocated only
 * once the whole of it has arrived, so a forged length costs at most what the peer really sent,
 * and nothing above `messageBytesMax`.
 *
 * After a ProtocolError the stream position is lost: the caller must close the connection.
 */
export class FrameDecoder {
  readonly #messageBytesMax: number;
  readonly #frames: FrameReassembler;
  #awaitingHandshake: boolean;
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
    this.#frames = new FrameReassembler(HEADER_BYTES, (header) => this.#readHeader(header), {
      sharedFrameBytes: options.sharedFrameBytes,
    });
    this.#awaitingHandshake = options.expectHandshake ?? false;
  }

  /** Bytes received but not yet handed out as frames. */
  get bufferedBytes(): number {
    return this.#frames.bufferedBytes;
  }

  /** Feeds one chunk; calls the sink for each complete handshake word or frame. */
  push(chunk: Buffer, sink: FrameSink): void {
    if (this.#failed) throw this.#failed;
    this.#frames.push(chunk);
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
        const word = this.#frames.takeBytes(WORD_BYTES);
        if (word === undefined) return;
        this.#awaitingHandshake = false;
        sink.handshake?.(word.readBigUInt64LE(0));
        continue;
      }
      const frame = this.#frames.nextFrame();
      if (frame === undefined) return;
      const type = frame.readUInt8(4);
      const schema = frame.readUInt8(5);
      sink.frame({ type, schema, body: frame.subarray(HEADER_BYTES) });
    }
  }

  /** Checks a header and returns the size of its whole message. */
  #readHeader(header: Buffer): number {
    const words = header.readUInt32LE(0);
    const type = header.readUInt8(4);
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
    return HEADER_BYTES + bodyBytes;
  }
}
