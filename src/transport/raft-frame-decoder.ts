import { constants as bufferConstants } from 'node:buffer';
import type { Message } from '../raft/types.js';
import { FrameReassembler } from '../wire/frame-reassembler.js';
import { checkRaftFrameHeader, decodeRaftMessage } from './raft-message-codec.js';
import { RAFT_FRAME_HEADER_BYTES } from './raft-message-schema.js';
import { RaftTransportError } from './raft-transport-error.js';

/**
 * Default cap on one frame, length prefix included. It must exceed the largest AppendEntries the
 * core sends: the core always sends at least one entry, and one entry is one whole transaction's
 * pages, so the cap is the largest transaction the cluster can replicate. Equal to the client
 * protocol's message cap (MESSAGE_BYTES_MAX_DEFAULT in src/wire) for the same reason.
 */
export const RAFT_FRAME_BYTES_MAX_DEFAULT = 256 * 1024 * 1024;

/** Smallest accepted cap: room for any message without data, a full configuration included. */
export const RAFT_FRAME_BYTES_MAX_MIN = 64 * 1024;

/** Largest accepted cap: the u32 length prefix and Node's largest Buffer both bound a frame. */
export const RAFT_FRAME_BYTES_MAX_MAX = Math.min(0xffffffff, bufferConstants.MAX_LENGTH);

/** Options of `new RaftFrameDecoder(...)`. */
export interface RaftFrameDecoderOptions {
  /** Largest frame accepted, length prefix included; default RAFT_FRAME_BYTES_MAX_DEFAULT. */
  readonly frameBytesMax?: number;
  /** FrameReassemblerOptions.sharedFrameBytes: for a node, which posts entries to its SQL worker. */
  readonly sharedFrameBytes?: number;
}

/** Throws a RangeError unless `frameBytesMax` is an integer in the accepted range. */
export function checkFrameBytesMax(frameBytesMax: number, name: string): void {
  if (
    !Number.isSafeInteger(frameBytesMax) ||
    frameBytesMax < RAFT_FRAME_BYTES_MAX_MIN ||
    frameBytesMax > RAFT_FRAME_BYTES_MAX_MAX
  ) {
    throw new RangeError(
      `${name} must be an integer from ${RAFT_FRAME_BYTES_MAX_MIN} to ${RAFT_FRAME_BYTES_MAX_MAX}, got ${frameBytesMax}`,
    );
  }
}

/**
 * Reassembles Raft frames from socket chunks split at any byte boundary (FrameReassembler, shared
 * with the client protocol) and decodes each. The header is checked as soon as its 6 bytes
 * arrive, so a forged length or an unknown version is refused before any of the body is awaited;
 * bytes are only buffered as they arrive, so a forged length costs at most what the peer really
 * sent. Buffered bytes never exceed one frame plus the rest of the last chunk, as long as the
 * caller drains `next()` after each `push`.
 *
 * After a RaftTransportError the stream position is lost: every later call throws the same error
 * and the caller must close the connection.
 */
export class RaftFrameDecoder {
  readonly #frameBytesMax: number;
  readonly #frames: FrameReassembler;
  #failed: RaftTransportError | undefined;

  constructor(options: RaftFrameDecoderOptions = {}) {
    for (const key of Object.keys(options)) {
      if (key !== 'frameBytesMax' && key !== 'sharedFrameBytes') {
        throw new TypeError(`RaftFrameDecoder: unknown option "${key}"`);
      }
    }
    const frameBytesMax = options.frameBytesMax ?? RAFT_FRAME_BYTES_MAX_DEFAULT;
    checkFrameBytesMax(frameBytesMax, 'frameBytesMax');
    this.#frameBytesMax = frameBytesMax;
    this.#frames = new FrameReassembler(
      RAFT_FRAME_HEADER_BYTES,
      (header) => this.#readHeader(header),
      { sharedFrameBytes: options.sharedFrameBytes },
    );
  }

  /** Bytes received but not yet handed out as messages. */
  get bufferedBytes(): number {
    return this.#frames.bufferedBytes;
  }

  /** Adds one chunk of the stream; call `next()` until it returns `undefined` afterwards. */
  push(chunk: Buffer): void {
    if (this.#failed) throw this.#failed;
    this.#frames.push(chunk);
  }

  /** The next whole message, or `undefined` until more bytes arrive. */
  next(): Message | undefined {
    if (this.#failed) throw this.#failed;
    try {
      const frame = this.#frames.nextFrame();
      return frame === undefined ? undefined : decodeRaftMessage(frame);
    } catch (error) {
      if (error instanceof RaftTransportError) this.#failed = error;
      throw error;
    }
  }

  /** Checks a header and returns the size of its whole frame. */
  #readHeader(header: Buffer): number {
    const length = header.readUInt32LE(0);
    if (length < RAFT_FRAME_HEADER_BYTES - 4) {
      throw new RaftTransportError(
        'truncated',
        `Raft frame length ${length} has no room for a type`,
      );
    }
    if (length + 4 > this.#frameBytesMax) {
      throw new RaftTransportError(
        'oversized',
        `Raft frame of ${length + 4} bytes; the cap is ${this.#frameBytesMax} bytes`,
      );
    }
    checkRaftFrameHeader(header.readUInt8(4), header.readUInt8(5));
    return length + 4;
  }
}
