/**
 * A bounded FIFO of encoded frames waiting for one peer's socket. When full it refuses the new
 * frame and the caller counts a drop: Raft retransmits whatever a peer did not acknowledge, and a
 * slow or dead peer must not grow memory without bound.
 *
 * Invariant: messageCount <= messagesMax, and bytes <= bytesMax unless the queue holds a single
 * frame. An empty queue takes one frame of any size, so a message larger than bytesMax (one large
 * entry) can still be sent, alone; frame size itself is capped by frameBytesMax before this.
 */
export class SendQueue<Frame extends { readonly length: number } = Buffer> {
  readonly messagesMax: number;
  readonly bytesMax: number;
  #frames: Frame[] = [];
  /** Position of the oldest frame in #frames: shifting a long array is linear, this is not. */
  #head = 0;
  #bytes = 0;

  constructor(limits: { readonly messagesMax: number; readonly bytesMax: number }) {
    this.messagesMax = limits.messagesMax;
    this.bytesMax = limits.bytesMax;
  }

  get messageCount(): number {
    return this.#frames.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Appends `frame` if the limits allow; returns whether it was taken. */
  offer(frame: Frame): boolean {
    const empty = this.messageCount === 0;
    if (!empty && this.messageCount >= this.messagesMax) return false;
    if (!empty && this.#bytes + frame.length > this.bytesMax) return false;
    this.#frames.push(frame);
    this.#bytes += frame.length;
    return true;
  }

  /** Removes and returns the oldest frame. */
  shift(): Frame | undefined {
    const frame = this.#frames[this.#head];
    if (frame === undefined) return undefined;
    this.#head += 1;
    this.#bytes -= frame.length;
    if (this.#head === this.#frames.length) {
      this.#frames = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#frames.length) {
      this.#frames = this.#frames.slice(this.#head);
      this.#head = 0;
    }
    return frame;
  }

  clear(): void {
    this.#frames = [];
    this.#head = 0;
    this.#bytes = 0;
  }
}
