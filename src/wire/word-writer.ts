import { WORD_BYTES } from './codes.js';

const INITIAL_CAPACITY_BYTES = 256;

/**
 * Appends protocol fields to a growing buffer. Every method leaves the write position where the
 * protocol puts the next field; callers pad explicitly only inside tuple headers.
 */
export class WordWriter {
  #buffer: Buffer;
  #length = 0;

  constructor(capacityBytes = INITIAL_CAPACITY_BYTES) {
    this.#buffer = Buffer.alloc(capacityBytes);
  }

  get length(): number {
    return this.#length;
  }

  uint8(value: number): void {
    this.#reserve(1);
    this.#buffer.writeUInt8(value, this.#length);
    this.#length += 1;
  }

  uint32(value: number): void {
    this.#reserve(4);
    this.#buffer.writeUInt32LE(value, this.#length);
    this.#length += 4;
  }

  uint64(value: bigint): void {
    this.#reserve(8);
    this.#buffer.writeBigUInt64LE(value, this.#length);
    this.#length += 8;
  }

  int64(value: bigint): void {
    this.#reserve(8);
    this.#buffer.writeBigInt64LE(value, this.#length);
    this.#length += 8;
  }

  float64(value: number): void {
    this.#reserve(8);
    this.#buffer.writeDoubleLE(value, this.#length);
    this.#length += 8;
  }

  /** UTF-8 bytes, one NUL, zeros up to the next word boundary (§1 `text`). */
  text(value: string): void {
    // A NUL would end the field early and the rest of the string would be read as the fields
    // that follow it (e.g. forged parameters): the wire cannot carry it.
    if (value.includes('\0')) throw new RangeError('text must not contain NUL characters');
    const byteLength = Buffer.byteLength(value, 'utf8');
    this.#reserve(byteLength + WORD_BYTES);
    this.#buffer.write(value, this.#length, 'utf8');
    this.#length += byteLength;
    this.uint8(0);
    this.pad();
  }

  /** A u64 byte length, the bytes, zeros up to the next word boundary (§1 `blob`). */
  blob(value: Uint8Array): void {
    this.uint64(BigInt(value.byteLength));
    this.raw(value);
    this.pad();
  }

  raw(value: Uint8Array): void {
    this.#reserve(value.byteLength);
    this.#buffer.set(value, this.#length);
    this.#length += value.byteLength;
  }

  /** Zeros up to the next word boundary. */
  pad(): void {
    const remainder = this.#length % WORD_BYTES;
    if (remainder === 0) return;
    const padding = WORD_BYTES - remainder;
    this.#reserve(padding);
    this.#buffer.fill(0, this.#length, this.#length + padding);
    this.#length += padding;
  }

  /** Overwrite a u32 written earlier (used to fill in a header once the body length is known). */
  patchUint32(offset: number, value: number): void {
    this.#buffer.writeUInt32LE(value, offset);
  }

  /** The bytes written so far; the writer must not be used afterwards. */
  finish(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }

  #reserve(bytes: number): void {
    const needed = this.#length + bytes;
    if (needed <= this.#buffer.length) return;
    let capacity = this.#buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.alloc(capacity);
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }
}
