import { describe, expect, it } from 'vitest';
import {
  PEER_HANDSHAKE_BYTES_MAX,
  encodePeerHandshake,
  parsePeerHandshake,
} from '../../../src/transport/index.js';
import {
  PROTOCOL_VERSION_LEGACY,
  encodeHandshake,
  encodeRequest,
} from '../../../src/wire/index.js';

/** How a listener tells a peer's connection from a client's by its first bytes (§11). */

const longestAddress = `${'h'.repeat(249)}:65535`; // 255 bytes, the most a configuration holds

describe('parsePeerHandshake', () => {
  it('finds the id, the address and the bytes after CONNECT', () => {
    const handshake = encodePeerHandshake({ id: 7, address: '127.0.0.1:9007' });
    // The layout of §11: version word, then CONNECT (type 11) with the id and the address.
    expect(handshake.subarray(0, 16).toString('hex')).toBe(
      '0100000000000000' + '03000000' + '0b000000',
    );
    const rest = Buffer.from('raft frames');
    const result = parsePeerHandshake(Buffer.concat([handshake, rest]));
    expect(result).toEqual({ kind: 'peer', id: 7, address: '127.0.0.1:9007', rest });
  });

  it('needs more bytes at every cut of a handshake, and never past PEER_HANDSHAKE_BYTES_MAX', () => {
    const handshake = encodePeerHandshake({ id: Number.MAX_SAFE_INTEGER, address: longestAddress });
    expect(handshake.length).toBe(PEER_HANDSHAKE_BYTES_MAX);
    for (let length = 0; length < handshake.length; length++) {
      expect(parsePeerHandshake(handshake.subarray(0, length)).kind).toBe('need-more-bytes');
    }
    expect(parsePeerHandshake(handshake)).toMatchObject({ kind: 'peer', address: longestAddress });
  });

  it('says "not a peer" for a client: another request after the version word, or a legacy one', () => {
    const client = Buffer.concat([
      encodeHandshake(),
      encodeRequest({ type: 'LEADER', unused: 0n }),
    ]);
    expect(parsePeerHandshake(client)).toEqual({ kind: 'not-peer' });
    expect(parsePeerHandshake(encodeHandshake(PROTOCOL_VERSION_LEGACY))).toEqual({
      kind: 'not-peer',
    });
    expect(parsePeerHandshake(Buffer.from('GET / HTTP/1.1\r\n'))).toEqual({ kind: 'not-peer' });
  });

  it('says "malformed" for a CONNECT that cannot name a peer', () => {
    const connect = (id: bigint, address: string) =>
      Buffer.concat([encodeHandshake(), encodeRequest({ type: 'CONNECT', id, address })]);
    const reasons = [
      connect(0n, '127.0.0.1:1'),
      connect(2n ** 53n, '127.0.0.1:1'),
      connect(1n, ''),
    ].map((bytes) => {
      const result = parsePeerHandshake(bytes);
      return result.kind === 'malformed' ? result.error.reason : result.kind;
    });
    expect(reasons).toEqual(['malformed', 'malformed', 'malformed']);

    const tooLong = connect(1n, `${longestAddress}x`);
    expect(parsePeerHandshake(tooLong)).toMatchObject({ kind: 'malformed' });
    const noNul = connect(1n, '127.0.0.1:1');
    noNul.fill(0x41, 24); // the address's NUL and padding overwritten
    expect(parsePeerHandshake(noNul)).toMatchObject({
      kind: 'malformed',
      error: { reason: 'truncated' },
    });
    const empty = connect(1n, 'a:1');
    empty.writeUInt32LE(0, 8);
    expect(parsePeerHandshake(empty)).toMatchObject({
      kind: 'malformed',
      error: { reason: 'empty-body' },
    });
    const forged = connect(1n, 'a:1');
    forged.writeUInt32LE(0xffffffff, 8);
    expect(parsePeerHandshake(forged)).toMatchObject({
      kind: 'malformed',
      error: { reason: 'oversized' },
    });
  });

  it('refuses to encode an id or address a peer could not read back', () => {
    expect(() => encodePeerHandshake({ id: 0, address: 'a:1' })).toThrow(RangeError);
    expect(() => encodePeerHandshake({ id: 1, address: '' })).toThrow(RangeError);
    expect(() => encodePeerHandshake({ id: 1, address: `${longestAddress}x` })).toThrow(RangeError);
  });
});
