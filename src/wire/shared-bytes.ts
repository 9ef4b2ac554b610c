/**
 * Bytes a node hands between its main thread and its SQL worker (a large request's frame, a Raft
 * message carrying entries, a transaction's page set) live in a SharedArrayBuffer from this size
 * up: posted to the other thread they are shared, not copied. Copying them was a stall of the
 * thread that runs Raft: 235 ms for one 64 MB parameter here. Below this size a copy costs less
 * than a shared buffer. Nothing writes such bytes once they are handed out.
 *
 * Only for bytes that stay inside the node: a Buffer handed to an application owns a plain
 * ArrayBuffer, which it may transfer.
 */
export const sharedBytesMin = 64 * 1024;

/** `byteLength` zeroed bytes in a SharedArrayBuffer of their own. */
export function sharedBuffer(byteLength: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(byteLength));
}
