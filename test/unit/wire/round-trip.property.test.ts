import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FrameDecoder,
  PARAMETERS_MAX_SCHEMA_0,
  RequestType,
  ValueType,
  decodeRequest,
  decodeResponse,
  encodeHandshake,
  encodeRequest,
  encodeResponse,
} from '../../../src/wire/index.js';
import type {
  Frame,
  Request,
  Response,
  ResponseContext,
  RowBatch,
  ServerInfo,
  WireValue,
} from '../../../src/wire/index.js';
import { testSeed } from './seeded-random.js';

/**
 * Property: any sequence of well-formed messages, encoded, concatenated, cut at arbitrary points
 * and fed to one FrameDecoder, decodes to exactly the messages encoded, and re-encodes to the
 * same bytes. Values cover every wire type, including int64 extremes, -0, NaN and infinities.
 *
 * NaN: fast-check generates the canonical NaN; a separate property feeds every 64-bit pattern
 * through a FLOAT and checks the bytes survive. ECMAScript allows an engine to canonicalize NaN
 * payloads, so that property pins V8's behaviour (Node 20), not a language guarantee.
 */

const seed = testSeed(1_105);
/** Sized so that the file runs in about a second. */
const NUM_RUNS = 1_000;
const options = { seed, numRuns: NUM_RUNS };

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

const int64 = fc.oneof(
  fc.constantFrom(INT64_MIN, INT64_MAX, 0n, -1n, 2n ** 53n),
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
);
const uint64 = fc.oneof(
  fc.constantFrom(0n, UINT64_MAX, 2n ** 63n),
  fc.bigInt({ min: 0n, max: UINT64_MAX }),
);
const uint32 = fc.integer({ min: 0, max: 0xffffffff });
/** u64 fields the codec hands out as numbers: counts, codes, milliseconds. */
const safeCount = fc.oneof(fc.constantFrom(0, Number.MAX_SAFE_INTEGER), fc.maxSafeNat());
/** Any Unicode code points except NUL, which the text encoding cannot carry (§1). */
const text = fc
  .string({ unit: 'binary', maxLength: 20 })
  .map((value) => value.replaceAll('\0', ''));
const blob = fc.uint8Array({ maxLength: 20 }).map((bytes) => Buffer.from(bytes));
/** Doubles, with the values whose bits are easiest to lose drawn often. */
const float = fc.oneof(
  fc.constantFrom(-0, Number.NaN, Infinity, -Infinity, Number.MIN_VALUE, -Number.MAX_VALUE),
  fc.double(),
);
const schemaByte = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 }));

const wireValue: fc.Arbitrary<WireValue> = fc.oneof(
  int64.map((value): WireValue => ({ type: ValueType.INTEGER, value })),
  float.map((value): WireValue => ({ type: ValueType.FLOAT, value })),
  text.map((value): WireValue => ({ type: ValueType.TEXT, value })),
  blob.map((value): WireValue => ({ type: ValueType.BLOB, value })),
  fc.constant<WireValue>({ type: ValueType.NULL, value: null }),
  int64.map((value): WireValue => ({ type: ValueType.UNIXTIME, value })),
  text.map((value): WireValue => ({ type: ValueType.ISO8601, value })),
  fc.boolean().map((value): WireValue => ({ type: ValueType.BOOLEAN, value })),
);

/**
 * Schema 0 counts parameters in a byte (at most 255); schema 1 in a u32, so it also carries
 * 256..300. Both sizes near the limits and small ones are drawn; `undefined` is no tuple at all.
 */
const tuple = fc.oneof(
  fc.record({
    schema: fc.constant(0),
    parameters: fc.option(
      fc.oneof(
        fc.array(wireValue, { maxLength: 9 }),
        fc.array(wireValue, {
          minLength: PARAMETERS_MAX_SCHEMA_0 - 2,
          maxLength: PARAMETERS_MAX_SCHEMA_0,
        }),
      ),
      { nil: undefined },
    ),
  }),
  fc.record({
    schema: fc.constant(1),
    parameters: fc.option(
      fc.oneof(
        fc.array(wireValue, { maxLength: 9 }),
        fc.array(wireValue, { minLength: 256, maxLength: 300 }),
      ),
      { nil: undefined },
    ),
  }),
);

const request: fc.Arbitrary<Request> = fc.oneof(
  fc.record({ type: fc.constant('LEADER' as const), schema: schemaByte, unused: uint64 }),
  fc.record({ type: fc.constant('CLIENT' as const), schema: schemaByte, id: uint64 }),
  fc.record({ type: fc.constant('HEARTBEAT' as const), schema: schemaByte, timestamp: uint64 }),
  fc.record({
    type: fc.constant('OPEN' as const),
    schema: schemaByte,
    name: text,
    flags: uint64,
    vfs: text,
  }),
  fc.record({ type: fc.constant('PREPARE' as const), schema: schemaByte, db: uint64, sql: text }),
  fc
    .tuple(fc.constantFrom('EXEC' as const, 'QUERY' as const), uint32, uint32, tuple)
    .map(([type, db, stmt, { schema, parameters }]): Request => ({
      type,
      schema,
      db,
      stmt,
      parameters,
    })),
  fc.record({
    type: fc.constant('FINALIZE' as const),
    schema: schemaByte,
    db: uint32,
    stmt: uint32,
  }),
  fc
    .tuple(fc.constantFrom('EXEC_SQL' as const, 'QUERY_SQL' as const), uint64, text, tuple)
    .map(([type, db, sql, { schema, parameters }]): Request => ({
      type,
      schema,
      db,
      sql,
      parameters,
    })),
  fc.record({ type: fc.constant('INTERRUPT' as const), schema: schemaByte, db: uint64 }),
  fc.record({
    type: fc.constant('CONNECT' as const),
    schema: schemaByte,
    id: uint64,
    address: text,
  }),
  fc.record({ type: fc.constant('ADD' as const), schema: schemaByte, id: uint64, address: text }),
  fc.record({
    type: fc.constant('ASSIGN' as const),
    schema: schemaByte,
    id: uint64,
    role: fc.option(uint64, { nil: undefined }),
  }),
  fc.record({ type: fc.constant('REMOVE' as const), schema: schemaByte, id: uint64 }),
  fc.record({ type: fc.constant('DUMP' as const), schema: schemaByte, name: text }),
  fc.record({ type: fc.constant('CLUSTER' as const), schema: schemaByte, format: uint64 }),
  fc.record({ type: fc.constant('TRANSFER' as const), schema: schemaByte, id: uint64 }),
  fc.record({ type: fc.constant('DESCRIBE' as const), schema: schemaByte, format: uint64 }),
  fc.record({ type: fc.constant('WEIGHT' as const), schema: schemaByte, weight: uint64 }),
  fc.record({ type: fc.constant('CHECK' as const), schema: schemaByte, index: uint64 }),
  fc.record({
    type: fc.constant('DIVERGED' as const),
    schema: schemaByte,
    index: uint64,
    reason: text,
  }),
);

/** Column counts around the row-header word boundary: 1-16 columns take one word, 17+ two. */
const rowBatch: fc.Arbitrary<RowBatch> = fc
  .oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 15, max: 20 }))
  .chain((columnCount) =>
    fc.record({
      columns: fc.array(text, { minLength: columnCount, maxLength: columnCount }),
      rows: fc.array(fc.array(wireValue, { minLength: columnCount, maxLength: columnCount }), {
        maxLength: 4,
      }),
    }),
  );
/** A batch of no columns can only be empty (see hostile-input.test.ts). */
const emptyBatch = fc.constant<RowBatch>({ columns: [], rows: [] });
const anyBatch = fc.oneof({ arbitrary: rowBatch, weight: 5 }, { arbitrary: emptyBatch, weight: 1 });

const servers = fc.oneof(
  fc.record({
    type: fc.constant('SERVERS' as const),
    format: fc.constant(0 as const),
    servers: fc.array(fc.record({ id: uint64, address: text }), { maxLength: 5 }),
  }),
  fc.record({
    type: fc.constant('SERVERS' as const),
    format: fc.constant(1 as const),
    servers: fc.array(
      fc.record({
        id: uint64,
        address: text,
        role: fc.constantFrom<NonNullable<ServerInfo['role']>>('voter', 'standby', 'spare'),
      }),
      { maxLength: 5 },
    ),
  }),
);

const response: fc.Arbitrary<Response> = fc.oneof(
  fc
    .record({
      code: safeCount,
      message: text,
      partialBatch: fc.option(anyBatch, { nil: undefined }),
    })
    .map(({ code, message, partialBatch }): Response =>
      partialBatch
        ? { type: 'FAILURE', code, message, partialBatch }
        : { type: 'FAILURE', code, message },
    ),
  fc.record({ type: fc.constant('SERVER' as const), id: uint64, address: text }),
  fc.record({ type: fc.constant('SERVER_LEGACY' as const), address: text }),
  fc.record({ type: fc.constant('WELCOME' as const), heartbeatTimeoutMs: safeCount }),
  servers,
  fc.record({ type: fc.constant('DB' as const), db: uint32, padding: uint32 }),
  fc.record({
    type: fc.constant('STMT' as const),
    db: uint32,
    stmt: uint32,
    parameterCount: safeCount,
  }),
  fc.record({ type: fc.constant('RESULT' as const), lastInsertId: int64, rowsAffected: safeCount }),
  fc
    .tuple(anyBatch, fc.boolean())
    .map(([batch, more]): Response => ({ type: 'ROWS', ...batch, more })),
  fc.record({ type: fc.constant('EMPTY' as const), unused: uint64 }),
  fc.record({
    type: fc.constant('FILES' as const),
    files: fc.array(fc.record({ name: text, data: blob }), { maxLength: 3 }),
  }),
  fc.record({ type: fc.constant('METADATA' as const), failureDomain: uint64, weight: uint64 }),
  fc.record({
    type: fc.constant('CHECKSUMS' as const),
    index: uint64,
    databases: fc.array(fc.record({ name: text, pages: uint64, hash: text }), { maxLength: 3 }),
  }),
);

/** What a client knows from its own side of the exchange when decoding this response. */
function contextFor(message: Response): ResponseContext {
  if (message.type === 'SERVER_LEGACY') return { legacy: true };
  if (message.type === 'SERVERS') return { clusterFormat: message.format };
  return {};
}

/** Cuts `bytes` at the given positions (taken modulo its length), in order. */
function cutAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const positions = cuts.map((cut) => cut % (bytes.length + 1)).sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const position of [...positions, bytes.length]) {
    chunks.push(bytes.subarray(start, position));
    start = position;
  }
  return chunks;
}

function reassemble(chunks: readonly Buffer[], expectHandshake: boolean) {
  const versions: bigint[] = [];
  const frames: Frame[] = [];
  const decoder = new FrameDecoder({ expectHandshake });
  const sink = {
    handshake: (version: bigint) => versions.push(version),
    frame: (frame: Frame) => frames.push(frame),
  };
  for (const chunk of chunks) decoder.push(chunk, sink);
  expect(decoder.bufferedBytes).toBe(0);
  return { versions, frames };
}

const cuts = fc.array(fc.nat(), { maxLength: 12 });

describe('round trip through a chunked stream', () => {
  it('requests: handshake, then messages, decode to what was encoded', () => {
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 5 }), cuts, (requests, cutList) => {
        const encoded = requests.map(encodeRequest);
        const stream = Buffer.concat([encodeHandshake(), ...encoded]);
        const { versions, frames } = reassemble(cutAt(stream, cutList), true);
        expect(versions).toEqual([1n]);
        const decoded = frames.map(decodeRequest);
        expect(decoded).toEqual(requests);
        // Byte-exact too: -0 and NaN survive as bits, not only as equal values.
        expect(decoded.map((message) => encodeRequest(message).toString('hex'))).toEqual(
          encoded.map((bytes) => bytes.toString('hex')),
        );
      }),
      options,
    );
  });

  it('responses decode to what was encoded', () => {
    fc.assert(
      fc.property(
        fc.array(response, { minLength: 1, maxLength: 5 }),
        cuts,
        (responses, cutList) => {
          const encoded = responses.map(encodeResponse);
          const { frames } = reassemble(cutAt(Buffer.concat(encoded), cutList), false);
          const decoded = frames.map((frame, index) =>
            decodeResponse(frame, contextFor(responses[index]!)),
          );
          expect(decoded).toEqual(responses);
          expect(decoded.map((message) => encodeResponse(message).toString('hex'))).toEqual(
            encoded.map((bytes) => bytes.toString('hex')),
          );
        },
      ),
      options,
    );
  });

  it('the edge cases are drawn: 0 rows, 17+ columns, partial batches, 256+ parameters', () => {
    // Guards the arbitraries: a property that never meets its edge cases proves nothing.
    const responses = fc.sample(response, { seed, numRuns: NUM_RUNS * 5 });
    const requests = fc.sample(request, { seed, numRuns: NUM_RUNS * 5 });
    const rows = responses.filter((sample) => sample.type === 'ROWS');
    expect(rows.some((sample) => sample.rows.length === 0)).toBe(true);
    expect(rows.some((sample) => sample.columns.length >= 17 && sample.rows.length > 0)).toBe(true);
    expect(rows.some((sample) => sample.columns.length === 0)).toBe(true);
    const failures = responses.filter((sample) => sample.type === 'FAILURE');
    expect(failures.some((sample) => (sample.partialBatch?.rows.length ?? 0) > 0)).toBe(true);
    const parameterCounts = requests.map((sample) =>
      'parameters' in sample ? (sample.parameters?.length ?? -1) : -1,
    );
    expect(parameterCounts).toContain(0);
    expect(parameterCounts.some((count) => count >= 253 && count <= 255)).toBe(true);
    expect(parameterCounts.some((count) => count > 255)).toBe(true);
  });
});

/** Exponent all ones: infinities (zero mantissa) and NaNs with any sign and payload. */
const nanOrInfinityBits = fc
  .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 2n ** 52n - 1n }))
  .map(([negative, mantissa]) => (negative ? 1n << 63n : 0n) | (0x7ffn << 52n) | mantissa);

describe('FLOAT bit patterns', () => {
  it('every 64-bit pattern, NaN payloads included, re-encodes to the same bytes (V8)', () => {
    fc.assert(
      fc.property(fc.oneof(uint64, nanOrInfinityBits), (bits) => {
        // EXEC body: db and stmt ids, a one-word tuple header (n=1, FLOAT), the value.
        const body = Buffer.alloc(24);
        body.writeUInt8(1, 8);
        body.writeUInt8(ValueType.FLOAT, 9);
        body.writeBigUInt64LE(bits, 16);
        const frame = { type: RequestType.EXEC, schema: 0, body };
        const reencoded = encodeRequest(decodeRequest(frame));
        expect(reencoded.subarray(8).toString('hex')).toBe(frame.body.toString('hex'));
      }),
      { seed, numRuns: 1_000 },
    );
  });
});
