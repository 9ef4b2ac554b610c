import { assert } from './assert.js';
import { Role, type Configuration, type NodeId, type Server } from './types.js';

/** Most servers a configuration may hold; keeps quorum arithmetic and messages bounded. */
export const serversMax = 64;
/** Most bytes of a server address, in UTF-8. */
export const addressBytesMax = 255;

/** A membership change, applied one at a time (thesis §4.1). */
export type MembershipChange =
  | { readonly type: 'add'; readonly id: NodeId; readonly address: string }
  | { readonly type: 'assign'; readonly id: NodeId; readonly role: Role }
  | { readonly type: 'remove'; readonly id: NodeId };

export function isVoter(configuration: Configuration, id: NodeId): boolean {
  return serverOf(configuration, id)?.role === Role.voter;
}

function serverOf(configuration: Configuration, id: NodeId): Server | undefined {
  return configuration.servers.find((server) => server.id === id);
}

export function votersOf(configuration: Configuration): NodeId[] {
  return configuration.servers.filter((s) => s.role === Role.voter).map((s) => s.id);
}

/** Servers that receive the log: voters and standbys (spares only wait; docs/cluster.md, roles). */
export function replicasOf(configuration: Configuration): NodeId[] {
  return configuration.servers.filter((s) => s.role !== Role.spare).map((s) => s.id);
}

/** Why a configuration or change is refused; `undefined` when it is acceptable. */
export function configurationProblem(configuration: Configuration): string | undefined {
  const ids = new Set<NodeId>();
  if (configuration.servers.length > serversMax) return `more than ${serversMax} servers`;
  for (const server of configuration.servers) {
    if (!Number.isSafeInteger(server.id) || server.id < 1) return `bad server id ${server.id}`;
    if (ids.has(server.id)) return `server id ${server.id} appears twice`;
    ids.add(server.id);
    if (Buffer.byteLength(server.address) > addressBytesMax) return `address too long`;
    if (server.role !== Role.voter && server.role !== Role.standby && server.role !== Role.spare) {
      return `bad role ${String(server.role)} for server ${server.id}`;
    }
  }
  if (votersOf(configuration).length === 0) return 'no voters';
  return undefined;
}

/**
 * Applies a change to a copy, validates the copy and returns it, or returns the reason it is
 * refused (docs/contributing.md, "Assertions and limits").
 */
export function applyMembershipChange(
  configuration: Configuration,
  change: MembershipChange,
): Configuration | string {
  const servers = [...configuration.servers];
  const position = servers.findIndex((server) => server.id === change.id);
  switch (change.type) {
    case 'add':
      if (position >= 0) return `server ${change.id} is already a member`;
      if (servers.some((server) => server.address === change.address)) {
        return `address ${change.address} is already in use`;
      }
      servers.push({ id: change.id, address: change.address, role: Role.spare });
      break;
    case 'assign': {
      const server = servers[position];
      if (server === undefined) return `server ${change.id} is not a member`;
      if (server.role === change.role) return `server ${change.id} already has that role`;
      servers[position] = { ...server, role: change.role };
      break;
    }
    case 'remove':
      if (position < 0) return `server ${change.id} is not a member`;
      servers.splice(position, 1);
      break;
  }
  const next: Configuration = { servers };
  return configurationProblem(next) ?? next;
}

const configurationVersion = 1;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Encodes a configuration as an entry payload: version byte, u32 count, then per server u64 id,
 * u8 role, u16 address length and the UTF-8 address. Little-endian like the wire protocol.
 */
export function encodeConfiguration(configuration: Configuration): Uint8Array {
  const addresses = configuration.servers.map((server) => Buffer.from(server.address, 'utf8'));
  const size = 5 + addresses.reduce((total, address) => total + 11 + address.length, 0);
  const buffer = Buffer.alloc(size);
  let offset = buffer.writeUInt8(configurationVersion, 0);
  offset = buffer.writeUInt32LE(configuration.servers.length, offset);
  configuration.servers.forEach((server, i) => {
    const address = addresses[i];
    assert(address !== undefined, 'address encoded for every server');
    offset = buffer.writeBigUInt64LE(BigInt(server.id), offset);
    offset = buffer.writeUInt8(server.role, offset);
    offset = buffer.writeUInt16LE(address.length, offset);
    offset += address.copy(buffer, offset);
  });
  assert(offset === size, `configuration encoded into ${offset} of ${size} bytes`);
  return buffer;
}

/** Decodes `encodeConfiguration`'s output; throws a RangeError naming the problem otherwise. */
export function decodeConfiguration(data: Uint8Array): Configuration {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const fail = (why: string): never => {
    throw new RangeError(`bad configuration payload: ${why}`);
  };
  if (buffer.length < 5) fail('too short');
  if (buffer.readUInt8(0) !== configurationVersion) fail(`version ${buffer.readUInt8(0)}`);
  const count = buffer.readUInt32LE(1);
  if (count > serversMax) fail(`${count} servers`);
  const servers: Server[] = [];
  let offset = 5;
  for (let i = 0; i < count; i++) {
    if (offset + 11 > buffer.length) fail('truncated server');
    const id = buffer.readBigUInt64LE(offset);
    if (id > BigInt(Number.MAX_SAFE_INTEGER)) fail(`server id ${id} too large`);
    const role = buffer.readUInt8(offset + 8) as Role;
    const length = buffer.readUInt16LE(offset + 9);
    offset += 11;
    if (offset + length > buffer.length) fail('truncated address');
    servers.push({ id: Number(id), role, address: decodeAddress(buffer, offset, length, fail) });
    offset += length;
  }
  if (offset !== buffer.length) fail('trailing bytes');
  const configuration: Configuration = { servers };
  const problem = configurationProblem(configuration);
  if (problem !== undefined) fail(problem);
  return configuration;
}

function decodeAddress(
  buffer: Buffer,
  offset: number,
  length: number,
  fail: (why: string) => never,
): string {
  try {
    return strictUtf8.decode(buffer.subarray(offset, offset + length));
  } catch {
    return fail('an address is not valid UTF-8');
  }
}
