import { constants as bufferConstants } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import {
  FrameDecoder,
  MESSAGE_BYTES_MAX_DEFAULT,
  PARAMETERS_MAX_SCHEMA_0,
  PARAMETERS_MAX_SCHEMA_1,
  ProtocolError,
  ROWS_DONE,
  ROWS_PART,
  RequestType,
  ResponseType,
  ValueType,
  columnValueType,
  decodeRequest,
  decodeResponse,
  encodeFrame,
  encodeHandshake,
  encodeRequest,
  encodeResponse,
} from '../../../src/wire/index.js';
import type { Frame, FrameDecoderOptions, WireValue } from '../../../src/wire/index.js';
import { expectProtocolError } from './expect-protocol-error.js';

/**
 * Malformed input, one case per rule: each must end in a ProtocolError with the reason a caller
 * can act on, never a RangeError from a Buffer read or an allocation sized by a hostile field.
 */

// Body builders: fields as docs/wire-protocol.md §1 lays them out.
function u64(value: bigint | number): Buffer {
  const word = Buffer.alloc(8);
  word.writeBigUInt64LE(BigInt(value));
  return word;
}

function text(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  return Buffer.concat([bytes, Buffer.alloc(8 - (bytes.length % 8))]);
}

/** `hex` as bytes, zero-padded to a whole number of words. */
function raw(hex: string): Buffer {
  const bytes = Buffer.from(hex, 'hex');
  return Buffer.concat([bytes, Buffer.alloc((8 - (bytes.length % 8)) % 8)]);
}

function frame(type: number, ...parts: Buffer[]): Frame {
  return { type, schema: 0, body: Buffer.concat(parts) };
}

function header(words: number, type: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeUInt32LE(words, 0);
  bytes.writeUInt8(type, 4);
  return bytes;
}

const DONE = u64(ROWS_DONE);
const PART = u64(ROWS_PART);
const ignore = { frame: () => {} };

describe('FrameDecoder', () => {
  it('rejects an empty body (words = 0), which kills a dqlite 1.11 server (§13, crash 1)', () => {
    const decoder = new FrameDecoder();
    expectProtocolError(() => decoder.push(header(0, RequestType.LEADER), ignore), 'empty-body');
  });

  it('rejects a header announcing more than messageBytesMax before any body arrives', () => {
    const decoder = new FrameDecoder();
    // 2^32-1 words is 32 GiB: the error must come from the header alone, nothing is buffered.
    expectProtocolError(
      () => decoder.push(header(0xffffffff, ResponseType.ROWS), ignore),
      'oversized',
    );
    expect(decoder.bufferedBytes).toBeLessThanOrEqual(8);
  });

  it('accepts a message of exactly MESSAGE_BYTES_MAX_DEFAULT and buffers only what arrives', () => {
    const decoder = new FrameDecoder();
    const words = (MESSAGE_BYTES_MAX_DEFAULT - 8) / 8;
    decoder.push(header(words, ResponseType.FILES), ignore);
    decoder.push(Buffer.alloc(64), ignore);
    // The announced body is 256 MiB, but only the bytes actually received are held: the header
    // (kept until its frame is whole, as the Raft decoder does) and 64 bytes of body.
    expect(decoder.bufferedBytes).toBe(8 + 64);
    expectProtocolError(
      () => new FrameDecoder().push(header(words + 1, ResponseType.FILES), ignore),
      'oversized',
    );
  });

  it('honors a custom messageBytesMax at its edge', () => {
    const frames: Frame[] = [];
    const decoder = new FrameDecoder({ messageBytesMax: 32 });
    decoder.push(Buffer.concat([header(3, ResponseType.EMPTY), Buffer.alloc(24)]), {
      frame: (received) => frames.push(received),
    });
    expect(frames).toHaveLength(1);
    expectProtocolError(() => decoder.push(header(4, ResponseType.EMPTY), ignore), 'oversized');
  });

  it('validates messageBytesMax: a message needs a header and one word, and must fit a Buffer', () => {
    const silly = [0, -1, 15, 16.5, Number.NaN, Infinity, 2 ** 53, bufferConstants.MAX_LENGTH + 1];
    for (const messageBytesMax of silly) {
      expect(() => new FrameDecoder({ messageBytesMax }), String(messageBytesMax)).toThrow(
        RangeError,
      );
    }
    expect(() => new FrameDecoder({ messageBytesMax: 16 })).not.toThrow();
    expect(() => new FrameDecoder({ messageBytesMax: bufferConstants.MAX_LENGTH })).not.toThrow();
  });

  it('rejects misspelled decoder options', () => {
    const misspelled = { maxMessageBytes: 1024 } as unknown as FrameDecoderOptions;
    expect(() => new FrameDecoder(misspelled)).toThrow(/unknown option "maxMessageBytes"/);
  });

  it('keeps throwing the same error after a ProtocolError, even when valid bytes follow', () => {
    const decoder = new FrameDecoder();
    let first: unknown;
    try {
      decoder.push(header(0, RequestType.LEADER), ignore);
    } catch (error) {
      first = error;
    }
    expect(first).toBeInstanceOf(ProtocolError);
    const valid = encodeRequest({ type: 'LEADER', schema: 0, unused: 0n });
    expect(() => decoder.push(valid, ignore)).toThrow(first as Error);
    expect(() => decoder.push(Buffer.alloc(0), ignore)).toThrow(first as Error);
  });

  it('consumes the handshake word even when the sink has no handshake callback', () => {
    // An optional call `sink.handshake?.(take())` would skip taking the word, and the version
    // would then be read as a message header.
    const frames: Frame[] = [];
    const decoder = new FrameDecoder({ expectHandshake: true });
    const leader = encodeRequest({ type: 'LEADER', schema: 0, unused: 0n });
    decoder.push(Buffer.concat([encodeHandshake(), leader]), {
      frame: (received) => frames.push(received),
    });
    expect(frames).toEqual([{ type: RequestType.LEADER, schema: 0, body: Buffer.alloc(8) }]);
  });

  it('waits for a whole handshake word split across chunks', () => {
    const versions: bigint[] = [];
    const decoder = new FrameDecoder({ expectHandshake: true });
    const sink = { handshake: (version: bigint) => versions.push(version), frame: () => {} };
    decoder.push(Buffer.from('e53f4360', 'hex'), sink);
    expect(versions).toEqual([]);
    decoder.push(Buffer.from('d74d1086', 'hex'), sink);
    expect(versions).toEqual([0x86104dd760433fe5n]);
  });
});

describe('request bodies', () => {
  it('rejects unknown request types (HEARTBEAT-like silence is the server’s business)', () => {
    expectProtocolError(() => decodeRequest(frame(99, u64(0))), 'unknown-type');
    expectProtocolError(() => decodeRequest(frame(20, u64(0))), 'unknown-type');
  });

  it('rejects a body cut short of its fixed fields', () => {
    expectProtocolError(() => decodeRequest(frame(RequestType.LEADER)), 'truncated');
    expectProtocolError(() => decodeRequest(frame(RequestType.OPEN, text('db'))), 'truncated');
  });

  it('rejects text without a terminating NUL', () => {
    expectProtocolError(
      () => decodeRequest(frame(RequestType.PREPARE, u64(0), Buffer.from('SELECT 1'))),
      'truncated',
    );
  });

  it('rejects trailing bytes after the last field', () => {
    expectProtocolError(
      () => decodeRequest(frame(RequestType.LEADER, u64(0), u64(0))),
      'trailing-bytes',
    );
    expectProtocolError(
      () => decodeRequest(frame(RequestType.ASSIGN, u64(1), u64(0), u64(0))),
      'trailing-bytes',
    );
  });

  it('rejects a blob whose length runs past the body', () => {
    const tuple = raw('0104'); // n=1, BLOB
    expectProtocolError(
      () => decodeRequest(frame(RequestType.EXEC, u64(0), tuple, u64(1000), u64(0))),
      'truncated',
    );
    expectProtocolError(
      () => decodeRequest(frame(RequestType.EXEC, u64(0), tuple, u64(0xffffffffffffffffn))),
      'truncated',
    );
  });

  it('rejects a parameter count the body cannot hold', () => {
    // 200 parameters need 200 type bytes and 200 words; the body has two words after the ids.
    const tuple = raw(`c8${'01'.repeat(7)}`);
    expectProtocolError(
      () => decodeRequest(frame(RequestType.EXEC, u64(0), tuple, u64(1))),
      'truncated',
    );
  });

  it('rejects a schema-1 parameter count above PARAMETERS_MAX_SCHEMA_1 as implausible', () => {
    const count = Buffer.alloc(8);
    count.writeUInt32LE(PARAMETERS_MAX_SCHEMA_1 + 1);
    const body = Buffer.concat([u64(0), count, Buffer.alloc(PARAMETERS_MAX_SCHEMA_1 * 16)]);
    expectProtocolError(
      () => decodeRequest({ type: RequestType.EXEC, schema: 1, body }),
      'malformed',
    );
  });

  it('rejects unknown parameter type codes, including 0 and the unused 6 to 8', () => {
    for (const code of [0, 6, 7, 8, 12, 255]) {
      const tuple = raw(`01${code.toString(16).padStart(2, '0')}`);
      expectProtocolError(
        () => decodeRequest(frame(RequestType.EXEC_SQL, u64(0), text('SELECT ?'), tuple, u64(0))),
        'unknown-type',
      );
    }
  });

  it('decodes DESCRIBE with a format other than 0: answering FAILURE is the server’s job (§13, crash 2)', () => {
    expect(decodeRequest(frame(RequestType.DESCRIBE, u64(7)))).toEqual({
      type: 'DESCRIBE',
      schema: 0,
      format: 7n,
    });
  });
});

describe('response bodies', () => {
  it('rejects unknown response types', () => {
    expectProtocolError(() => decodeResponse(frame(11, u64(0))), 'unknown-type');
    expectProtocolError(() => decodeResponse(frame(255, u64(0))), 'unknown-type');
  });

  it('rejects an empty body handed to the decoder directly', () => {
    expectProtocolError(() => decodeResponse(frame(ResponseType.EMPTY)), 'truncated');
    expectProtocolError(() => decodeResponse(frame(ResponseType.FAILURE)), 'truncated');
  });

  it('rejects trailing bytes after the last field', () => {
    expectProtocolError(
      () => decodeResponse(frame(ResponseType.EMPTY, u64(0), u64(0))),
      'trailing-bytes',
    );
    expectProtocolError(
      () => decodeResponse(frame(ResponseType.ROWS, u64(1), text('x'), DONE, u64(0))),
      'trailing-bytes',
    );
  });

  it('rejects a count that is not a plausible number', () => {
    expectProtocolError(
      () => decodeResponse(frame(ResponseType.WELCOME, u64(2n ** 53n))),
      'malformed',
    );
  });

  it('rejects a column count larger than the body', () => {
    expectProtocolError(
      () => decodeResponse(frame(ResponseType.ROWS, u64(1000), DONE)),
      'truncated',
    );
    expectProtocolError(
      () => decodeResponse(frame(ResponseType.ROWS, u64(0xffffffffffffffffn), DONE)),
      'truncated',
    );
    // Fits the bytes left (16) but not the words: each name takes at least one word.
    expectProtocolError(
      () => decodeResponse(frame(ResponseType.ROWS, u64(9), text('a'), DONE)),
      'truncated',
    );
  });

  it('rejects unknown value type nibbles in a row header', () => {
    // Two columns: INTEGER in the low nibble, 6 (unused) in the high nibble.
    const row = Buffer.concat([raw('61'), u64(1), u64(2)]);
    expectProtocolError(
      () => decodeResponse(frame(ResponseType.ROWS, u64(2), text('a'), text('b'), row, DONE)),
      'unknown-type',
    );
    const zero = Buffer.concat([raw('00'), u64(1)]);
    expectProtocolError(
      () => decodeResponse(frame(ResponseType.ROWS, u64(1), text('a'), zero, DONE)),
      'unknown-type',
    );
  });

  it('rejects a ROWS end marker that is neither DONE nor PART', () => {
    const almostDone = u64(0x00ffffffffffffffn); // first byte 0xff, but not DONE
    expectProtocolError(
      () => decodeResponse(frame(ResponseType.ROWS, u64(1), text('a'), almostDone)),
      'malformed',
    );
    const almostPart = raw('eeeeeeeeeeeeee');
    expectProtocolError(
      () => decodeResponse(frame(ResponseType.ROWS, u64(1), text('a'), almostPart)),
      'malformed',
    );
  });

  it('rejects ROWS without an end marker', () => {
    const row = Buffer.concat([raw('01'), u64(1)]);
    expectProtocolError(
      () => decodeResponse(frame(ResponseType.ROWS, u64(1), text('a'), row)),
      'truncated',
    );
  });

  it('reads ROWS with 0 columns as an empty batch, and nothing else', () => {
    // No server sends it (a statement without columns gets FAILURE "not an error", §6.1), but
    // a zero-column batch can only be empty, so it is unambiguous; anything more is rejected.
    expect(decodeResponse(frame(ResponseType.ROWS, u64(0), DONE))).toEqual({
      type: 'ROWS',
      columns: [],
      rows: [],
      more: false,
    });
    expect(decodeResponse(frame(ResponseType.ROWS, u64(0), PART))).toMatchObject({ more: true });
    expectProtocolError(
      () => decodeResponse(frame(ResponseType.ROWS, u64(0), u64(5), DONE)),
      'malformed',
    );
    expectProtocolError(() => decodeResponse(frame(ResponseType.ROWS, u64(0))), 'truncated');
  });

  it('rejects server counts larger than the body, in both CLUSTER formats', () => {
    const one = Buffer.concat([u64(1), text('127.0.0.1:9301'), u64(0)]);
    for (const clusterFormat of [0, 1] as const) {
      expectProtocolError(
        () => decodeResponse(frame(ResponseType.SERVERS, u64(4), one), { clusterFormat }),
        'truncated',
      );
      expectProtocolError(
        () => decodeResponse(frame(ResponseType.SERVERS, u64(2n ** 63n), one), { clusterFormat }),
        'truncated',
      );
    }
  });

  it('rejects an unknown node role', () => {
    const server = Buffer.concat([u64(1), text('127.0.0.1:9301'), u64(3)]);
    expectProtocolError(
      () => decodeResponse(frame(ResponseType.SERVERS, u64(1), server), { clusterFormat: 1 }),
      'malformed',
    );
  });

  it('rejects file counts and file sizes larger than the body', () => {
    expectProtocolError(
      () => decodeResponse(frame(ResponseType.FILES, u64(5), text('db'), u64(0))),
      'truncated',
    );
    expectProtocolError(
      () => decodeResponse(frame(ResponseType.FILES, u64(1), text('db'), u64(4096), u64(0))),
      'truncated',
    );
  });

  it('rejects a FAILURE that is neither plain nor a partial batch followed by code and message', () => {
    // One column named "v", then a word that is no row and no failure tail.
    expectProtocolError(
      () => decodeResponse(frame(ResponseType.FAILURE, u64(1), text('v'), u64(0))),
      'unknown-type',
    );
    // No text at all after the code. Which of the two forms was meant cannot be known, so a
    // body that fits neither is 'malformed', whichever part is missing.
    expectProtocolError(() => decodeResponse(frame(ResponseType.FAILURE, u64(0))), 'malformed');
  });
});

describe('encoder misuse', () => {
  it('refuses more parameters than the schema can count', () => {
    const parameters: WireValue[] = Array.from({ length: PARAMETERS_MAX_SCHEMA_0 + 1 }, () => ({
      type: ValueType.NULL,
      value: null,
    }));
    expect(() => encodeRequest({ type: 'EXEC', schema: 0, db: 0, stmt: 0, parameters })).toThrow(
      RangeError,
    );
    expect(() =>
      encodeRequest({ type: 'EXEC', schema: 1, db: 0, stmt: 0, parameters }),
    ).not.toThrow();
  });

  it('refuses text containing NUL, which the wire cannot carry and would misframe', () => {
    // Encoded as is, "a\0" + bytes would end the text early and let the rest of the string be
    // read as the following fields, e.g. forged parameter values.
    expect(() =>
      encodeRequest({
        type: 'EXEC_SQL',
        schema: 0,
        db: 0n,
        sql: 'SELECT 1\0',
        parameters: undefined,
      }),
    ).toThrow(RangeError);
    const forged: WireValue = { type: ValueType.TEXT, value: 'a\0\u0001' };
    expect(() =>
      encodeRequest({ type: 'EXEC', schema: 0, db: 0, stmt: 0, parameters: [forged] }),
    ).toThrow(RangeError);
  });

  it('refuses rows that do not match the column count', () => {
    const one: WireValue = { type: ValueType.INTEGER, value: 1n };
    expect(() =>
      encodeResponse({ type: 'ROWS', columns: ['a', 'b'], rows: [[one]], more: false }),
    ).toThrow(RangeError);
    // Zero columns: a row would take no bytes and vanish on the wire.
    expect(() => encodeResponse({ type: 'ROWS', columns: [], rows: [[]], more: false })).toThrow(
      RangeError,
    );
  });

  it('refuses a frame body that is not whole words', () => {
    expect(() => encodeFrame(RequestType.LEADER, 0, Buffer.alloc(7))).toThrow(RangeError);
  });
});

describe('columnValueType (§5.1)', () => {
  const integer: WireValue = { type: ValueType.INTEGER, value: 1_700_000_000n };
  const float: WireValue = { type: ValueType.FLOAT, value: 1.5 };
  const textValue: WireValue = { type: ValueType.TEXT, value: '2024-05-06 07:08:09' };
  const nullValue: WireValue = { type: ValueType.NULL, value: null };
  const blob: WireValue = { type: ValueType.BLOB, value: Buffer.from([1]) };

  it('maps INTEGER to UNIXTIME and TEXT or NULL to ISO8601 in date columns, any case', () => {
    for (const declared of ['DATETIME', 'DATE', 'TIMESTAMP', 'datetime', ' Date ']) {
      expect(columnValueType(declared, integer)).toEqual({
        type: ValueType.UNIXTIME,
        value: 1_700_000_000n,
      });
      expect(columnValueType(declared, textValue)).toEqual({
        type: ValueType.ISO8601,
        value: '2024-05-06 07:08:09',
      });
      expect(columnValueType(declared, nullValue)).toEqual({ type: ValueType.ISO8601, value: '' });
    }
  });

  it('maps INTEGER and NULL to BOOLEAN in BOOLEAN columns', () => {
    expect(columnValueType('BOOLEAN', { type: ValueType.INTEGER, value: 0n })).toEqual({
      type: ValueType.BOOLEAN,
      value: false,
    });
    expect(columnValueType('boolean', { type: ValueType.INTEGER, value: 2n })).toEqual({
      type: ValueType.BOOLEAN,
      value: true,
    });
    expect(columnValueType('BOOLEAN', nullValue)).toEqual({
      type: ValueType.BOOLEAN,
      value: false,
    });
  });

  it('keeps a FLOAT in a DATETIME column a FLOAT, where dqlite 1.11 crashes (§13, crash 4)', () => {
    expect(columnValueType('DATETIME', float)).toEqual(float);
    expect(columnValueType('DATETIME', blob)).toEqual(blob);
    expect(columnValueType('BOOLEAN', float)).toEqual(float);
    expect(columnValueType('BOOLEAN', textValue)).toEqual(textValue);
    expect(columnValueType('BOOLEAN', blob)).toEqual(blob);
  });

  it('keeps the storage class for other and missing declared types', () => {
    for (const declared of [null, '', 'INTEGER', 'TEXT', 'DATETIME2']) {
      for (const value of [integer, float, textValue, nullValue, blob]) {
        expect(columnValueType(declared, value)).toEqual(value);
      }
    }
  });
});
