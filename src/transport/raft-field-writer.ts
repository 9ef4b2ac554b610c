const UINT32_RANGE = 2 ** 32;
/** Scalars are gathered in blocks of this size; data fields are kept by reference until finish. */
const SCRATCH_BYTES = 256;

/**
 * Builds one frame from fields. Scalars go into small scratch blocks and data fields are kept by
 * reference: a 4 MiB snapshot chunk is copied at most once, into the finished frame (`finish`),
 * never through a growing buffer, and not at all when the frame is written as its parts
 * (`finishParts`).
 */
export class RaftFieldWriter {
  readonly #parts: Buffer[] = [];
  #scratch = Buffer.alloc(SCRATCH_BYTES);
  #scratchUsed = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  uint8(value: number): void {
    this.#reserve(1);
    this.#scratchUsed = this.#scratch.writeUInt8(value, this.#scratchUsed);
    this.#length += 1;
  }

  uint32(value: number): void {
    this.#reserve(4);
    this.#scratchUsed = this.#scratch.writeUInt32LE(value, this.#scratchUsed);
    this.#length += 4;
  }

  /** `value` must be a non-negative safe integer; the caller checked it. */
  uint64(value: number): void {
    this.#reserve(8);
    const high = Math.floor(value / UINT32_RANGE);
    this.#scratchUsed = this.#scratch.writeUInt32LE(value - high * UINT32_RANGE, this.#scratchUsed);
    this.#scratchUsed = this.#scratch.writeUInt32LE(high, this.#scratchUsed);
    this.#length += 8;
  }

  /** Keeps `value` by reference: the caller must not change it before `finish`. */
  bytes(value: Uint8Array): void {
    this.#flush();
    if (value.byteLength > 0) this.#parts.push(bufferView(value));
    this.#length += value.byteLength;
  }

  /** The frame so far, as one new buffer; the writer must not be used afterwards. */
  finish(): Buffer {
    this.#flush();
    return Buffer.concat(this.#parts, this.#length);
  }

  /**
   * The frame so far as its parts, in order, none copied: scalars in the writer's own blocks
   * (the first one holds the first scalars written), data fields as they were given. The writer
   * must not be used afterwards.
   */
  finishParts(): Buffer[] {
    this.#flush();
    return this.#parts;
  }

  #reserve(byteLength: number): void {
    if (this.#scratchUsed + byteLength <= this.#scratch.length) return;
    this.#flush();
  }

  #flush(): void {
    if (this.#scratchUsed === 0) return;
    this.#parts.push(this.#scratch.subarray(0, this.#scratchUsed));
    this.#scratch = Buffer.alloc(SCRATCH_BYTES);
    this.#scratchUsed = 0;
  }
}

/** `value`'s bytes as a Buffer, without a copy. */
function bufferView(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value)
    ? value
    : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
