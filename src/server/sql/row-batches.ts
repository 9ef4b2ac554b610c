import { ValueType, encodeResponse, type WireValue } from '../../wire/index.js';

/**
 * ROWS messages are cut like dqlite 1.11 cuts them (docs/wire-protocol.md §7): rows are added while
 * the message (header, column count, names and rows so far) is under this many bytes, so a batch
 * ends with the first row that reaches it. A row larger than this goes alone in its batch.
 */
export const rowsBatchBytes = 4096;

/**
 * Encodes ROWS messages from `source` until they reach `replyBytesMax` (the node's
 * limits.queryBufferBytes: what a query holds ready for a client that has not read it yet).
 * `done` is true when the last message carries DONE; otherwise the last one carries PART and the
 * caller asks again once the client took these.
 */
export function encodeRowBatches(
  source: IteratorRowSource,
  replyBytesMax: number,
): { bytes: Buffer; done: boolean } {
  const messages: Buffer[] = [];
  let replyBytes = 0;
  const namesBytes = source.columns.reduce((sum, name) => sum + textBytes(name), 8 + 8);
  let lookahead = source.next();
  while (messages.length === 0 || replyBytes < replyBytesMax) {
    const rows: WireValue[][] = [];
    let size = namesBytes;
    while (lookahead !== undefined && size < rowsBatchBytes) {
      rows.push(lookahead);
      size += rowBytes(lookahead);
      lookahead = source.next();
    }
    const more = lookahead !== undefined;
    const message = encodeResponse({ type: 'ROWS', columns: source.columns, rows, more });
    messages.push(message);
    replyBytes += message.length;
    if (!more) return { bytes: Buffer.concat(messages), done: true };
  }
  // The row read ahead must not be lost: the source hands it out again first.
  if (lookahead !== undefined) source.giveBack(lookahead);
  return { bytes: Buffer.concat(messages), done: false };
}

/** The rows of a query, converted to wire values; it can take one row back. */
export class IteratorRowSource {
  readonly columns: readonly string[];
  readonly #rows: Iterator<WireValue[]>;
  #returned: WireValue[] | undefined;

  constructor(columns: readonly string[], rows: Iterator<WireValue[]>) {
    this.columns = columns;
    this.#rows = rows;
  }

  next(): WireValue[] | undefined {
    const returned = this.#returned;
    if (returned !== undefined) {
      this.#returned = undefined;
      return returned;
    }
    const step = this.#rows.next();
    return step.done === true ? undefined : step.value;
  }

  giveBack(row: WireValue[]): void {
    this.#returned = row;
  }

  /** Stops the underlying iterator (releases the SQLite statement). */
  close(): void {
    this.#rows.return?.();
  }
}

function textBytes(text: string): number {
  return (Math.floor(Buffer.byteLength(text) / 8) + 1) * 8;
}

function rowBytes(row: readonly WireValue[]): number {
  let size = Math.ceil(Math.ceil(row.length / 2) / 8) * 8;
  for (const value of row) {
    switch (value.type) {
      case ValueType.TEXT:
      case ValueType.ISO8601:
        size += textBytes(value.value);
        break;
      case ValueType.BLOB:
        size += 8 + Math.ceil(value.value.byteLength / 8) * 8;
        break;
      default:
        size += 8;
    }
  }
  return size;
}
