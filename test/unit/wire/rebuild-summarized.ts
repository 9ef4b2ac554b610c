import { createHash } from 'node:crypto';
import { ValueType, encodeRequest, encodeResponse } from '../../../src/wire/index.js';
import type { DumpedFile, WireValue } from '../../../src/wire/index.js';
import type { MessageSummary } from './load-vectors.js';

/**
 * A few large messages are stored as len/sha256/hex_head/hex_tail (test/fixtures/protocol-vectors/README.md).
 * Where the note determines the content, these helpers rebuild the message with our encoder;
 * matching the sha256 then proves encoder and note agree with the real bytes.
 */

export function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** How a rebuilt message compares with its summary; all true means byte-identical. */
export function summaryMatches(
  bytes: Buffer,
  summary: MessageSummary,
): { len: boolean; sha256: boolean; head: boolean; tail: boolean } {
  const headBytes = summary.hexHead.length / 2;
  const tailBytes = summary.hexTail.length / 2;
  return {
    len: bytes.length === summary.len,
    sha256: sha256Of(bytes) === summary.sha256,
    head: bytes.subarray(0, headBytes).toString('hex') === summary.hexHead,
    tail: bytes.subarray(bytes.length - tailBytes).toString('hex') === summary.hexTail,
  };
}

const CONSECUTIVE_ROWS =
  /^ROWS response \(words=\d+ type=7 schema=0\) columns=\[("[^"]+")\] rows=(\d+) end=(DONE|PART \(more batches follow\)) values=\[\[(-?\d+)\],\[(-?\d+)\]\] \.\.\. \[\[(-?\d+)\]\]/;

/**
 * A one-column ROWS batch of consecutive integers (files 06, 08, 28): the note gives the column,
 * the row count, the marker and the first, second and last values, which fixes every row.
 */
export function rebuildConsecutiveRows(note: string): Buffer | undefined {
  const match = CONSECUTIVE_ROWS.exec(note);
  if (!match) return undefined;
  const [, column = '', rowCount = '', end = '', first = '', second = '', last = ''] = match;
  const firstValue = BigInt(first);
  const rowTotal = Number(rowCount);
  if (BigInt(second) !== firstValue + 1n || BigInt(last) !== firstValue + BigInt(rowTotal - 1)) {
    return undefined; // not consecutive: the note does not determine the rows
  }
  const rows: WireValue[][] = [];
  for (let index = 0; index < rowTotal; index++) {
    rows.push([{ type: ValueType.INTEGER, value: firstValue + BigInt(index) }]);
  }
  return encodeResponse({
    type: 'ROWS',
    columns: [JSON.parse(column) as string],
    rows,
    more: end !== 'DONE',
  });
}

const REPEATED_TEXT_QUERY =
  /^QUERY_SQL request \(words=\d+ type=9 schema=0\) db=(\d+) sql=("(?:[^"\\]|\\.)*") params\(n=1, types=\[TEXT\]\) values=\["(.)\3{23}\.\.\.\((\d+) chars\)"\]/;

/**
 * A QUERY_SQL whose one TEXT parameter is a single character repeated (file 07: 4200 'x'). The
 * note shows the first 24 characters and the length; the sha256 check confirms the rest.
 */
export function rebuildRepeatedTextQuery(note: string): Buffer | undefined {
  const match = REPEATED_TEXT_QUERY.exec(note);
  if (!match) return undefined;
  const [, db = '', sql = '', character = '', length = ''] = match;
  const sqlText = JSON.parse(sql) as string;
  if (/\.\.\.\(\d+ chars\)$/.test(sqlText)) return undefined; // a shortened SQL is not determined
  return encodeRequest({
    type: 'QUERY_SQL',
    schema: 0,
    db: BigInt(db),
    sql: sqlText,
    parameters: [{ type: ValueType.TEXT, value: character.repeat(Number(length)) }],
  });
}

const FILES_NOTE = /^FILES response \(words=\d+ type=9 schema=0\) n=(\d+) files=\[([^\]]*)\]/;

/**
 * The FILES layout a note describes (names and sizes), with zeroed contents. The contents are
 * not in the note, so only the framing of a rebuilt skeleton can be compared with a summary.
 */
export function filesSkeletonFromNote(note: string): DumpedFile[] | undefined {
  const match = FILES_NOTE.exec(note);
  if (!match) return undefined;
  const [, count = '', list = ''] = match;
  const files = list === '' ? [] : list.split(', ');
  if (files.length !== Number(count)) return undefined;
  return files.map((file) => {
    const fileMatch = /^(.*):(\d+) bytes$/.exec(file);
    if (!fileMatch) throw new Error(`unexpected file entry ${file}`);
    return { name: fileMatch[1] ?? '', data: Buffer.alloc(Number(fileMatch[2])) };
  });
}
