import { describe, expect, it } from 'vitest';
import {
  FrameDecoder,
  HEADER_BYTES,
  ValueType,
  WORD_BYTES,
  decodeRequest,
  decodeResponse,
  encodeHandshake,
  encodeRequest,
  encodeResponse,
  requestTypeName,
  valueTypeName,
} from '../../../src/wire/index.js';
import type { Frame, Request, Response, ResponseContext } from '../../../src/wire/index.js';
import { blobPaddingOffsets, zeroBytesAt } from './blob-padding.js';
import { expectProtocolError } from './expect-protocol-error.js';
import { loadVectorFiles } from './load-vectors.js';
import type { VectorFile, VectorLine } from './load-vectors.js';
import {
  filesSkeletonFromNote,
  rebuildConsecutiveRows,
  rebuildRepeatedTextQuery,
  sha256Of,
  summaryMatches,
} from './rebuild-summarized.js';
import {
  renderHandshakeNote,
  renderRequestNote,
  renderResponseNote,
  renderUnknownRequestNote,
  stripCaptureAnnotation,
} from './render-note.js';
import { randomChunks, seededRandom, testSeed } from './seeded-random.js';

/**
 * Every line of every captured vector file (test/fixtures/protocol-vectors) is decoded, rendered in the
 * grammar of its note and compared with the note, then re-encoded and compared with the captured
 * bytes. Summarized lines are rebuilt where the note determines them and checked by sha256.
 */

const files = loadVectorFiles();
const seed = testSeed(20_240_506);

/** Full captured messages by sha256: a summary may stand for bytes captured in full elsewhere. */
const capturedBySha256 = new Map<string, Buffer>();
for (const file of files) {
  for (const line of file.lines) {
    if (line.kind === 'message' && line.bytes) {
      capturedBySha256.set(sha256Of(line.bytes), line.bytes);
    }
  }
}

/** The bytes of a message line: captured, rebuilt from its note, or captured in another file. */
function messageBytes(line: VectorLine): Buffer {
  if (line.bytes) return line.bytes;
  const summary = line.summary;
  if (!summary) throw new Error(`${where(line)}: a message without bytes or summary`);
  const rebuilt =
    rebuildConsecutiveRows(line.note) ??
    rebuildRepeatedTextQuery(line.note) ??
    capturedBySha256.get(summary.sha256);
  if (!rebuilt) throw new Error(`${where(line)}: no way to rebuild this summarized message`);
  return rebuilt;
}

function where(line: VectorLine): string {
  return `${line.file}:${line.lineNumber}`;
}

/** Exactly one frame out of a FrameDecoder fed the whole message. */
function singleFrame(bytes: Buffer): Frame {
  const frames: Frame[] = [];
  const decoder = new FrameDecoder();
  decoder.push(bytes, { frame: (frame) => frames.push(frame) });
  expect(frames).toHaveLength(1);
  expect(decoder.bufferedBytes).toBe(0);
  return frames[0]!;
}

/** Re-encoding gives the captured bytes, except for the padding the C server leaves dirty. */
function expectReencodes(message: Request | Response, encoded: Buffer, captured: Buffer): void {
  const expected = zeroBytesAt(captured, blobPaddingOffsets(message));
  expect(encoded.toString('hex')).toBe(expected.toString('hex'));
}

function checkHandshake(line: VectorLine): void {
  const bytes = line.bytes!;
  const versions: bigint[] = [];
  const decoder = new FrameDecoder({ expectHandshake: true });
  decoder.push(bytes, { handshake: (version) => versions.push(version), frame: () => {} });
  expect(versions).toHaveLength(1);
  const version = versions[0]!;
  expect(renderHandshakeNote(version)).toBe(line.note);
  expect(encodeHandshake(version).equals(bytes)).toBe(true);
}

function checkRequest(line: VectorLine, bytes: Buffer): void {
  const frame = singleFrame(bytes);
  if (requestTypeName(frame.type) === undefined) {
    // File 15 sends type 99, which dqlite 1.11 never answers: decoding must refuse it.
    expectProtocolError(() => decodeRequest(frame), 'unknown-type');
    expect(renderUnknownRequestNote(frame)).toBe(line.note);
    return;
  }
  const request = decodeRequest(frame);
  const rendered = renderRequestNote(frame, request);
  expect(rendered).toBe(expectedRequestNote(line, frame, request, rendered));
  expectReencodes(request, encodeRequest(request), bytes);
}

/**
 * The note, stripped of capture annotations, except for the schema-1 QUERY_SQL of file 04. Its
 * note shows how the 1.11 server misreads the tuple (it ignores the schema byte and takes the
 * first byte of the u32 count as a one-byte count, then the next count byte, 0, as a type
 * code), which is why that server answered 1005. We decode schema 1 as newer servers do, so for
 * that line the note's tuple part is checked against the bytes read the 1.11 way, and the rest
 * of the note against our rendering.
 */
function expectedRequestNote(
  line: VectorLine,
  frame: Frame,
  request: Request,
  rendered: string,
): string {
  const note = stripCaptureAnnotation(line.note);
  if (frame.schema !== 1 || !('parameters' in request) || !request.parameters) return note;
  const tupleOffset = frame.body.length - encodedTupleBytes(request);
  const asServer111 = schema0Reading(frame.body, tupleOffset);
  expect(note).toBe(rendered.replace(/params\(.*$/, asServer111));
  return rendered;
}

/** Bytes the parameter tuple of `request` takes at the end of its body. */
function encodedTupleBytes(request: Request): number {
  const withoutTuple = encodeRequest({ ...request, parameters: undefined } as Request);
  return encodeRequest(request).length - withoutTuple.length;
}

/** The params part of a note for a tuple read with a one-byte count (schema 0). */
function schema0Reading(body: Buffer, tupleOffset: number): string {
  const count = body[tupleOffset] ?? 0;
  const types = [...body.subarray(tupleOffset + 1, tupleOffset + 1 + count)];
  if (types.some((type) => valueTypeName(type) !== undefined)) {
    throw new Error('only tuples the 1.11 server cannot read at all are rendered this way');
  }
  const values = types.map((type) => `"?${type}"`);
  return `params(n=${count}, types=[${types.join(',')}]) values=[${values.join(',')}]`;
}

function checkResponse(line: VectorLine, bytes: Buffer): void {
  const frame = singleFrame(bytes);
  const response = decodeResponse(frame, contextOf(line));
  expect(renderResponseNote(frame, response)).toBe(stripCaptureAnnotation(line.note));
  expectReencodes(response, encodeResponse(response), bytes);
}

/** What the connection tells a response decoder: the handshake and the CLUSTER format asked. */
function contextOf(line: VectorLine): ResponseContext {
  if (line.clusterFormat === undefined) return { legacy: line.legacy };
  return { legacy: line.legacy, clusterFormat: line.clusterFormat };
}

function checkSummary(line: VectorLine, bytes: Buffer): void {
  expect(summaryMatches(bytes, line.summary!)).toEqual({
    len: true,
    sha256: true,
    head: true,
    tail: true,
  });
  if (line.note.startsWith('FILES')) checkFilesSkeleton(line);
}

/**
 * The note of a summarized FILES gives names and sizes but not contents: rebuild the layout
 * with zeroed contents and check that the header, the first file's name and size, and the total
 * length agree with the summary, that the first file's bytes start like a SQLite database, and
 * that a decoder given only the head stops with 'truncated'.
 */
function checkFilesSkeleton(line: VectorLine): void {
  const summary = line.summary!;
  const files = filesSkeletonFromNote(line.note);
  if (!files || !files[0]) throw new Error(`${where(line)}: the note lists no files`);
  const skeleton = encodeResponse({ type: 'FILES', files });
  expect(skeleton.length).toBe(summary.len);
  const head = Buffer.from(summary.hexHead, 'hex');
  expect(head.readUInt32LE(0) * WORD_BYTES + HEADER_BYTES).toBe(summary.len);
  // Header, count, first name and first size: everything before the first file's bytes.
  const firstFile = { name: files[0].name, data: Buffer.alloc(0) };
  const firstDataOffset = encodeResponse({ type: 'FILES', files: [firstFile] }).length;
  expect(skeleton.subarray(0, firstDataOffset).toString('hex')).toBe(
    head.subarray(0, firstDataOffset).toString('hex'),
  );
  const magic = head.subarray(firstDataOffset, firstDataOffset + 16).toString('latin1');
  expect(magic).toBe('SQLite format 3\0');
  const headFrame = { type: head.readUInt8(4), schema: 0, body: head.subarray(HEADER_BYTES) };
  expectProtocolError(() => decodeResponse(headFrame), 'truncated');
}

function checkLine(line: VectorLine): void {
  switch (line.kind) {
    case 'handshake':
      return checkHandshake(line);
    case 'event':
      // FIN or RST: nothing was sent, the note only says who closed.
      expect(line.note).toMatch(/closed its side|reset the connection/);
      return;
    case 'raft':
      // After CONNECT the stream is raft's own RPC format (§11); the capture omits it.
      expect(line.note).toMatch(/raft RPCs/);
      return;
    case 'message': {
      const bytes = messageBytes(line);
      if (line.summary) checkSummary(line, bytes);
      if (line.dir === 'c2s') checkRequest(line, bytes);
      else checkResponse(line, bytes);
      return;
    }
  }
}

/**
 * One direction of one connection: the bytes on the wire, in order. Summarized messages are
 * replaced by their rebuilt bytes, whose sha256 the per-line tests check.
 */
interface Stream {
  readonly name: string;
  readonly expectHandshake: boolean;
  readonly parts: readonly Buffer[];
}

function streamsOf(file: VectorFile): Stream[] {
  const streams = new Map<string, { name: string; expectHandshake: boolean; parts: Buffer[] }>();
  for (const line of file.lines) {
    if (line.kind !== 'handshake' && line.kind !== 'message') continue;
    const name = `conn ${line.conn} ${line.dir}`;
    let stream = streams.get(name);
    if (!stream) {
      stream = { name, expectHandshake: line.kind === 'handshake', parts: [] };
      streams.set(name, stream);
    }
    stream.parts.push(line.kind === 'handshake' ? line.bytes! : messageBytes(line));
  }
  return [...streams.values()];
}

/** Splits messages by their headers without the codec: the reference for the FrameDecoder. */
function framesByHeader(stream: Stream): { versions: bigint[]; frames: Frame[] } {
  const [first, ...rest] = stream.parts;
  const versions = stream.expectHandshake && first ? [first.readBigUInt64LE(0)] : [];
  const messages = stream.expectHandshake ? rest : stream.parts;
  const frames = messages.map((bytes) => {
    expect(bytes.readUInt32LE(0) * WORD_BYTES).toBe(bytes.length - HEADER_BYTES);
    return { type: bytes.readUInt8(4), schema: bytes.readUInt8(5), body: bytes.subarray(8) };
  });
  return { versions, frames };
}

describe('captured vectors', () => {
  it('cover every file, and each file has at least one message', () => {
    expect(files.length).toBeGreaterThanOrEqual(28);
    for (const file of files) {
      expect(file.lines.some((line) => line.kind === 'message')).toBe(true);
    }
  });

  it('include blob padding that the C server left dirty, so masking it is needed', () => {
    let dirtyBytes = 0;
    for (const file of files) {
      for (const line of file.lines) {
        if (line.kind !== 'message' || line.dir !== 's2c' || !line.bytes) continue;
        const response = decodeResponse(singleFrame(line.bytes), contextOf(line));
        for (const offset of blobPaddingOffsets(response)) {
          if (line.bytes[offset] !== 0) dirtyBytes++;
        }
      }
    }
    expect(dirtyBytes).toBeGreaterThan(0);
  });

  it('file 04: our decoder reads the schema-1 tuple the 1.11 server misread as n=1 INTEGER 42', () => {
    const file = files.find((candidate) => candidate.name.startsWith('04-'))!;
    const line = file.lines.find((candidate) => / schema=1\) /.test(candidate.note))!;
    const request = decodeRequest(singleFrame(line.bytes!));
    expect(request).toMatchObject({ type: 'QUERY_SQL', schema: 1, sql: 'SELECT ?' });
    expect(request).toHaveProperty('parameters', [{ type: ValueType.INTEGER, value: 42n }]);
  });
});

describe.each(files)('$name', (file) => {
  for (const line of file.lines) {
    const title = `line ${line.lineNumber} (${line.kind}, conn ${line.conn} ${line.dir}): ${line.note.slice(0, 60)}`;
    it(title, () => checkLine(line));
  }

  it('every connection stream reassembles from random-size chunks', () => {
    for (const stream of streamsOf(file)) {
      const reference = framesByHeader(stream);
      const whole = Buffer.concat(stream.parts);
      for (const chunkBytesMax of [1, 13, 4096]) {
        const random = seededRandom(seed + chunkBytesMax);
        const versions: bigint[] = [];
        const frames: Frame[] = [];
        const decoder = new FrameDecoder({ expectHandshake: stream.expectHandshake });
        const sink = {
          handshake: (version: bigint) => versions.push(version),
          frame: (frame: Frame) => frames.push(frame),
        };
        for (const chunk of randomChunks(whole, random, chunkBytesMax)) decoder.push(chunk, sink);
        const context = `${stream.name}, chunks <= ${chunkBytesMax}, seed ${random.seed}`;
        expect(versions, context).toEqual(reference.versions);
        expect(frames, context).toEqual(reference.frames);
        expect(decoder.bufferedBytes, context).toBe(0);
      }
    }
  });
});
