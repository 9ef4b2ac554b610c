import { WORD_BYTES } from './codes.js';
import { ProtocolError } from './protocol-error.js';

/**
 * Reads protocol fields from one message body. Every read checks the bounds first, so a hostile
 * length or a truncated body becomes a ProtocolError and never an out-of-range read or an
 * allocation sized by an unchecked field.
 */
export class WordReader {
  readonly #body: Buffer;
  #offset = 0;
  readonly #what: string;

  /** `what` names the message in error texts, e.g. "ROWS response". */
  constructor(body: Buffer, what: string) {
    this.#body = body;
    this.#what = what;
  }

  get offset(): number {
    return this.#offset;
  }

  get remainingBytes(): number {
    return this.#body.length - this.#offset;
  }

  /** Bytes left that could hold whole words: used to bound counts before looping on them. */
  get remainingWords(): number {
    return Math.floor(this.remainingBytes / WORD_BYTES);
  }

  uint8(): number {
    this.#need(1, 'u8');
    const value = this.#body.readUInt8(this.#offset);
    this.#offset += 1;
    return value;
  }

  /** The next byte without consuming it. */
  peekUint8(): number {
    this.#need(1, 'u8');
    return this.#body.readUInt8(this.#offset);
  }

  uint32(): number {
    this.#need(4, 'u32');
    const value = this.#body.readUInt32LE(this.#offset);
    this.#offset += 4;
    return value;
  }

  uint64(): bigint {
    this.#need(8, 'u64');
    const value = this.#body.readBigUInt64LE(this.#offset);
    this.#offset += 8;
    return value;
  }

  /** The next u64 without consuming it. */
  peekUint64(): bigint {
    this.#need(8, 'u64');
    return this.#body.readBigUInt64LE(this.#offset);
  }

  int64(): bigint {
    this.#need(8, 'i64');
    const value = this.#body.readBigInt64LE(this.#offset);
    this.#offset += 8;
    return value;
  }

  float64(): number {
    this.#need(8, 'f64');
    const value = this.#body.readDoubleLE(this.#offset);
    this.#offset += 8;
    return value;
  }

  /** A u64 that must fit a JS number, for counts and sizes. */
  count(field: string): number {
    const value = this.uint64();
    if (value > BigInt(this.remainingBytes)) {
      throw new ProtocolError(
        'truncated',
        `${this.#what}: ${field} ${value} exceeds the ${this.remainingBytes} bytes left in the body`,
      );
    }
    return Number(value);
  }

  text(): string {
    const end = this.#body.indexOf(0, this.#offset);
    if (end === -1) {
      throw new ProtocolError('truncated', `${this.#what}: text field has no terminating NUL`);
    }
    const value = this.#body.toString('utf8', this.#offset, end);
    this.#offset = end + 1;
    this.skipPadding();
    return value;
  }

  blob(): Buffer {
    const byteLength = this.count('blob length');
    const value = this.raw(byteLength);
    this.skipPadding();
    return value;
  }

  /** Bytes shared with the body (no copy): the frame's body is never reused. */
  raw(byteLength: number): Buffer {
    this.#need(byteLength, 'bytes');
    const value = this.#body.subarray(this.#offset, this.#offset + byteLength);
    this.#offset += byteLength;
    return value;
  }

  /** Skip to the next word boundary (padding bytes are not checked: see §1 on blob padding). */
  skipPadding(): void {
    const remainder = this.#offset % WORD_BYTES;
    if (remainder === 0) return;
    const padding = WORD_BYTES - remainder;
    this.#need(padding, 'padding');
    this.#offset += padding;
  }

  /** The body must be fully consumed: anything left is a malformed message. */
  end(): void {
    if (this.remainingBytes !== 0) {
      throw new ProtocolError(
        'trailing-bytes',
        `${this.#what}: ${this.remainingBytes} bytes left after the last field`,
      );
    }
  }

  #need(bytes: number, field: string): void {
    if (this.#offset + bytes > this.#body.length) {
      throw new ProtocolError(
        'truncated',
        `${this.#what}: ${field} at byte ${this.#offset} needs ${bytes} bytes, body has ${this.#body.length}`,
      );
    }
  }
}
