import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addressBytesMax,
  applyMembershipChange,
  decodeConfiguration,
  encodeConfiguration,
  isVoter,
  replicasOf,
  serversMax,
  votersOf,
} from '../../../src/raft/configuration.js';
import { Role, type Configuration, type Server } from '../../../src/raft/types.js';

/**
 * Configurations: the entry payload codec (a round trip for every valid configuration, a
 * RangeError for every invalid payload) and the one-server-at-a-time change rules (thesis §4.1).
 */

const runs = { seed: 41, numRuns: 500 };

const roleArbitrary = fc.constantFrom<Role>(Role.voter, Role.standby, Role.spare);
const addressArbitrary = fc
  .string({ unit: 'binary', maxLength: 80 })
  .filter((address) => Buffer.byteLength(address) <= addressBytesMax);

/** Valid configurations: distinct ids, at most `serversMax` servers, at least one voter. */
const configurationArbitrary: fc.Arbitrary<Configuration> = fc
  .uniqueArray(
    fc.record({
      id: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      address: addressArbitrary,
      role: roleArbitrary,
    }),
    { minLength: 1, maxLength: serversMax, selector: (server) => server.id },
  )
  .map((servers): Configuration => {
    const [first, ...rest] = servers;
    return { servers: first === undefined ? [] : [{ ...first, role: Role.voter }, ...rest] };
  });

function configuration(...servers: Array<[number, Role]>): Configuration {
  return { servers: servers.map(([id, role]) => ({ id, address: `node-${id}`, role })) };
}

/** A valid payload to corrupt: version 1, then servers 1 (voter, "a") and 2 (spare, "bc"). */
function payload(): Buffer {
  return Buffer.from(
    encodeConfiguration({
      servers: [
        { id: 1, address: 'a', role: Role.voter },
        { id: 2, address: 'bc', role: Role.spare },
      ],
    }),
  );
}

describe('encodeConfiguration / decodeConfiguration', () => {
  it('round-trips every valid configuration', () => {
    fc.assert(
      fc.property(configurationArbitrary, (value) => {
        expect(decodeConfiguration(encodeConfiguration(value))).toEqual(value);
      }),
      runs,
    );
  });

  it('decodes a payload that sits inside a larger buffer', () => {
    const encoded = payload();
    const framed = Buffer.concat([Buffer.from([9, 9, 9]), encoded, Buffer.from([7])]);
    const view = framed.subarray(3, 3 + encoded.length);
    expect(decodeConfiguration(view).servers.map((server) => server.id)).toEqual([1, 2]);
  });

  it('either decodes arbitrary bytes into a valid configuration or throws a RangeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        let decoded: Configuration;
        try {
          decoded = decodeConfiguration(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(RangeError);
          return;
        }
        expect(votersOf(decoded).length).toBeGreaterThan(0);
      }),
      runs,
    );
  });

  it('either decodes a corrupted valid payload or throws a RangeError', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 20 }),
        fc.integer({ min: 0, max: 255 }),
        fc.nat({ max: 22 }),
        (position, value, cut) => {
          const bytes = payload();
          if (position < bytes.length) bytes[position] = value;
          const input = bytes.subarray(0, Math.min(bytes.length, cut + 5));
          try {
            decodeConfiguration(input);
          } catch (error) {
            expect(error).toBeInstanceOf(RangeError);
          }
        },
      ),
      runs,
    );
  });

  const invalid: Array<[string, () => Uint8Array, string]> = [
    ['an empty payload', () => new Uint8Array(0), 'too short'],
    ['a payload shorter than its header', () => payload().subarray(0, 4), 'too short'],
    ['an unknown version', () => Object.assign(payload(), { 0: 2 }), 'version 2'],
    ['more servers than serversMax', () => headerWithCount(serversMax + 1), '65 servers'],
    [
      'a count larger than the servers present',
      () => headerWithCount(3, payload()),
      'truncated server',
    ],
    ['a truncated server', () => payload().subarray(0, 12), 'truncated server'],
    ['a truncated address', () => payload().subarray(0, -1), 'truncated address'],
    ['trailing bytes', () => Buffer.concat([payload(), Buffer.from([0])]), 'trailing bytes'],
    ['server id 0', () => withU64At(5, 0n), 'bad server id 0'],
    ['a server id above Number.MAX_SAFE_INTEGER', () => withU64At(5, 2n ** 53n), 'too large'],
    ['the same id twice', () => withU64At(5 + 12, 1n), 'appears twice'],
    ['an unknown role', () => Object.assign(payload(), { 13: 3 }), 'bad role 3'],
    ['no voter', () => Object.assign(payload(), { 13: Role.standby }), 'no voters'],
    [
      'an address longer than addressBytesMax',
      () => encodeConfiguration(serverWithAddress('x'.repeat(addressBytesMax + 1))),
      'address too long',
    ],
  ];
  for (const [name, make, reason] of invalid) {
    it(`rejects ${name} with a RangeError naming it`, () => {
      const bytes = make();
      expect(() => decodeConfiguration(bytes)).toThrow(RangeError);
      expect(() => decodeConfiguration(bytes)).toThrow(reason);
    });
  }

  it('accepts an address of exactly addressBytesMax bytes and serversMax servers', () => {
    const longest = serverWithAddress('é'.repeat(addressBytesMax / 2) + 'x');
    expect(Buffer.byteLength(longest.servers[0]?.address ?? '')).toBe(addressBytesMax);
    expect(decodeConfiguration(encodeConfiguration(longest))).toEqual(longest);
    const servers = Array.from({ length: serversMax }, (_, i) => [i + 1, Role.voter] as const);
    const widest = configuration(...servers.map(([id, role]): [number, Role] => [id, role]));
    expect(decodeConfiguration(encodeConfiguration(widest))).toEqual(widest);
  });

  it('rejects an address that is not valid UTF-8 (it is not an encoder output)', () => {
    // Server 2's address "bc" becomes the bytes 0xff 0xfe, which no string encodes to.
    const bytes = payload();
    bytes[bytes.length - 2] = 0xff;
    bytes[bytes.length - 1] = 0xfe;
    expect(() => decodeConfiguration(bytes)).toThrow(RangeError);
  });
});

/** A payload whose server count is `count`, followed by `rest` after the header (if any). */
function headerWithCount(count: number, rest?: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(1, 0);
  header.writeUInt32LE(count, 1);
  return rest === undefined ? header : Buffer.concat([header, rest.subarray(5)]);
}

function withU64At(offset: number, value: bigint): Buffer {
  const bytes = payload();
  bytes.writeBigUInt64LE(value, offset);
  return bytes;
}

function serverWithAddress(address: string): { servers: Server[] } {
  return { servers: [{ id: 1, address, role: Role.voter }] };
}

describe('applyMembershipChange (thesis §4.1)', () => {
  const base = configuration([1, Role.voter], [2, Role.voter], [3, Role.standby]);

  it('adds a new server as a spare, at the end', () => {
    const next = applyMembershipChange(base, { type: 'add', id: 4, address: 'node-4' });
    expect(next).toEqual({
      servers: [...base.servers, { id: 4, address: 'node-4', role: Role.spare }],
    });
  });

  it('assigns a role and removes a server', () => {
    expect(applyMembershipChange(base, { type: 'assign', id: 3, role: Role.voter })).toEqual(
      configuration([1, Role.voter], [2, Role.voter], [3, Role.voter]),
    );
    expect(applyMembershipChange(base, { type: 'remove', id: 2 })).toEqual(
      configuration([1, Role.voter], [3, Role.standby]),
    );
  });

  it('changes a copy and leaves the input as it was', () => {
    const frozen: Configuration = Object.freeze({
      servers: Object.freeze(base.servers.map((server) => Object.freeze({ ...server }))),
    });
    applyMembershipChange(frozen, { type: 'add', id: 4, address: 'node-4' });
    applyMembershipChange(frozen, { type: 'assign', id: 3, role: Role.spare });
    applyMembershipChange(frozen, { type: 'remove', id: 1 });
    expect(frozen).toEqual(base);
  });

  const refused: Array<[string, Parameters<typeof applyMembershipChange>[1], string]> = [
    ['adding a member again', { type: 'add', id: 2, address: 'elsewhere' }, 'already a member'],
    ['adding an address in use', { type: 'add', id: 4, address: 'node-1' }, 'already in use'],
    ['adding id 0', { type: 'add', id: 0, address: 'node-0' }, 'bad server id'],
    ['adding an unsafe id', { type: 'add', id: 2 ** 53, address: 'far' }, 'bad server id'],
    [
      'adding an address that is too long',
      { type: 'add', id: 4, address: 'x'.repeat(addressBytesMax + 1) },
      'address too long',
    ],
    ['assigning a non-member', { type: 'assign', id: 9, role: Role.voter }, 'not a member'],
    ['assigning the same role', { type: 'assign', id: 3, role: Role.standby }, 'already has'],
    ['removing a non-member', { type: 'remove', id: 9 }, 'not a member'],
  ];
  for (const [name, change, reason] of refused) {
    it(`refuses ${name}`, () => {
      const next = applyMembershipChange(base, change);
      expect(typeof next).toBe('string');
      expect(next).toContain(reason);
    });
  }

  it('refuses to leave no voter, by removal or by demotion', () => {
    const single = configuration([1, Role.voter], [2, Role.spare]);
    expect(applyMembershipChange(single, { type: 'remove', id: 1 })).toBe('no voters');
    expect(applyMembershipChange(single, { type: 'assign', id: 1, role: Role.standby })).toBe(
      'no voters',
    );
  });

  it('refuses a server beyond serversMax and accepts the last one that fits', () => {
    const ids = Array.from({ length: serversMax - 1 }, (_, i): [number, Role] => [
      i + 1,
      Role.voter,
    ]);
    const almostFull = configuration(...ids);
    const full = applyMembershipChange(almostFull, { type: 'add', id: 100, address: 'node-100' });
    expect(typeof full).toBe('object');
    if (typeof full === 'string') return;
    expect(full.servers).toHaveLength(serversMax);
    expect(applyMembershipChange(full, { type: 'add', id: 101, address: 'node-101' })).toBe(
      `more than ${serversMax} servers`,
    );
  });

  it('keeps every valid configuration valid under random changes', () => {
    const changeArbitrary = fc.oneof(
      fc.record({
        type: fc.constant('add' as const),
        id: fc.integer({ min: 1, max: 8 }),
        address: fc.constantFrom('a', 'b', 'c'),
      }),
      fc.record({
        type: fc.constant('assign' as const),
        id: fc.integer({ min: 1, max: 8 }),
        role: roleArbitrary,
      }),
      fc.record({ type: fc.constant('remove' as const), id: fc.integer({ min: 1, max: 8 }) }),
    );
    fc.assert(
      fc.property(fc.array(changeArbitrary, { maxLength: 30 }), (changes) => {
        let current = configuration([1, Role.voter]);
        for (const change of changes) {
          const next = applyMembershipChange(current, change);
          if (typeof next === 'string') continue;
          expect(decodeConfiguration(encodeConfiguration(next))).toEqual(next);
          current = next;
        }
      }),
      runs,
    );
  });
});

describe('role queries', () => {
  const mixed = configuration([1, Role.voter], [2, Role.standby], [3, Role.spare], [4, Role.voter]);

  it('voters vote, voters and standbys replicate, spares do neither', () => {
    expect(votersOf(mixed)).toEqual([1, 4]);
    expect(replicasOf(mixed)).toEqual([1, 2, 4]);
    expect([1, 2, 3, 4, 5].map((id) => isVoter(mixed, id))).toEqual([
      true,
      false,
      false,
      true,
      false,
    ]);
  });
});
