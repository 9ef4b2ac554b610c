import type { TransferListItem } from 'node:worker_threads';

/**
 * The buffers of `arrays` that may be moved to another thread instead of copied: only those that
 * own their whole ArrayBuffer. Node's small Buffers share a pooled slab, and moving a slab would
 * detach every other Buffer cut from it.
 */
export function transferableBuffers(
  arrays: readonly (Uint8Array | undefined)[],
): TransferListItem[] {
  const list: TransferListItem[] = [];
  for (const array of arrays) {
    if (array === undefined) continue;
    const whole = array.byteOffset === 0 && array.byteLength === array.buffer.byteLength;
    if (whole && array.buffer instanceof ArrayBuffer && !list.includes(array.buffer)) {
      list.push(array.buffer);
    }
  }
  return list;
}
