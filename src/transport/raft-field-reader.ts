import { RaftTransportError } from './raft-transport-error.js';

const UINT32_RANGE = 2 ** 32;
/** The high half of a u64 above which the value exceeds Number.MAX_SAFE_INTEGER (2^53 - 1). */
const SAFE_HIGH_WORD_MAX = 0x1fffff;

/**
 * Reads fields from one Raft frame. Every read checks its bounds first, so a truncated frame or a
 * hostile length becomes a RaftTransportError, never an out-of-range read or an allocation sized
 * by an unchecked field.
 */
export class RaftFieldReader {
  readonly #frame: Buffer;
  #offset: number;
  readonly #what: string;

  /** Reads `frame` from `offset`; `what` names the message in error texts. */
  constructor(frame: Buffer, offset: number, what: string) {
    this.#frame = frame;
    this.#offset = offset;
    this.#what = what;
  }

  get remainingBytes(): number {
    return this.#frame.length - this.#offset;
  }

  uint8(field: string): number {
    this.#need(1, field);
    const value = this.#frame.readUInt8(this.#offset);
    this.#offset += 1;
    return value;
  }

  uint32(field: string): number {
    this.#need(4, field);
    const value = this.#frame.readUInt32LE(this.#offset);
    this.#offset += 4;
    return value;
  }

  /** A u64 that must be a safe integer: terms and indexes are JS numbers in the Raft core. */
  uint64(field: string): number {
    this.#need(8, field);
    const low = this.#frame.readUInt32LE(this.#offset);
    const high = this.#frame.readUInt32LE(this.#offset + 4);
    if (high > SAFE_HIGH_WORD_MAX) {
      throw new RaftTransportError(
        'unsafe-integer',
        `${this.#what}: ${field} is above Number.MAX_SAFE_INTEGER`,
      );
    }
    this.#offset += 8;
    return high * UINT32_RANGE + low;
  }

  /**
   * The next `byteLength` bytes. A view when the frame owns its whole buffer (the reassembler
   * built it from several chunks): the view pins only this frame, which is mostly these bytes,
   * and an entry of many megabytes is not copied again on a follower's event loop. A copy when
   * the frame is a view of a socket chunk, so decoded data never pins the rest of that chunk.
   */
  bytes(byteLength: number, field: string): Uint8Array {
    this.#need(byteLength, field);
    const frame = this.#frame;
    const start = this.#offset;
    this.#offset += byteLength;
    const ownsBuffer = frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength;
    if (ownsBuffer) return new Uint8Array(frame.buffer, start, byteLength);
    const copy = new Uint8Array(byteLength);
    copy.set(frame.subarray(start, start + byteLength));
    return copy;
  }

  /** The frame must be fully consumed: anything left is a malformed message. */
  end(): void {
    if (this.remainingBytes !== 0) {
      throw new RaftTransportError(
        'trailing-bytes',
        `${this.#what}: ${this.remainingBytes} bytes left after the last field`,
      );
    }
  }

  #need(byteLength: number, field: string): void {
    if (byteLength > this.remainingBytes) {
      throw new RaftTransportError(
        'truncated',
        `${this.#what}: ${field} at byte ${this.#offset} needs ${byteLength} bytes, ${this.remainingBytes} left`,
      );
    }
  }
}
