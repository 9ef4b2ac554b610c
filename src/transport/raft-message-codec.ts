import {
  addressBytesMax,
  configurationProblem,
  decodeConfiguration,
  encodeConfiguration,
  serversMax,
} from '../raft/configuration.js';
import { EntryType } from '../raft/types.js';
import type { Entry, Message, MessageType, SnapshotMetadata } from '../raft/types.js';
import { RaftFieldReader } from './raft-field-reader.js';
import { RaftFieldWriter } from './raft-field-writer.js';
import {
  ENTRY_HEADER_BYTES,
  MESSAGE_ENTRIES_MAX,
  RAFT_FORMAT_VERSION,
  RAFT_FRAME_HEADER_BYTES,
  RaftMessageCode,
  messageTypeOf,
  raftMessageFields,
} from './raft-message-schema.js';
import type { RaftFieldKind, RaftFieldSchema } from './raft-message-schema.js';
import { RaftTransportError } from './raft-transport-error.js';

/** Bytes of the largest configuration `encodeConfiguration` can write for a valid one. */
const CONFIGURATION_BYTES_MAX = 5 + serversMax * (11 + addressBytesMax);
const UINT32_MAX = 0xffffffff;
const entryTypes: ReadonlySet<number> = new Set(Object.values(EntryType));

/**
 * A frame from this size up is written as its parts (`RaftFrame`): its entries' or snapshot
 * chunk's bytes as they lie. Copying them into one buffer was an eighth of a leader's main thread
 * while it sent rows of tens of megabytes, once per follower. A smaller frame is one buffer, one
 * write.
 */
const partsFromBytes = 64 * 1024;

/** A part smaller than this is copied together with its neighbours: a write per part costs more. */
const referencedPartBytesMin = 4096;

/**
 * `parts` with every run of small ones (scalars, small entries) joined into one buffer, so a frame
 * of many small entries is still a few writes, and large parts referenced as they are.
 */
function coalesced(parts: readonly Buffer[]): Buffer[] {
  const result: Buffer[] = [];
  let run: Buffer[] = [];
  const endRun = () => {
    if (run.length > 0) result.push(run.length === 1 ? (run[0] as Buffer) : Buffer.concat(run));
    run = [];
  };
  for (const part of parts) {
    if (part.length < referencedPartBytesMin) {
      run.push(part);
    } else {
      endRun();
      result.push(part);
    }
  }
  endRun();
  return result;
}

/** An encoded frame: its bytes are `parts` one after another, `length` in all. */
export interface RaftFrame {
  readonly parts: readonly Buffer[];
  readonly length: number;
}

/**
 * One whole frame for `message` (layout in raft-message-schema.ts). A value the format cannot
 * carry (an unsafe integer, node id 0, an invalid configuration) is a bug in the caller and
 * throws a RangeError naming the field.
 */
export function encodeRaftMessage(message: Message): Buffer {
  const { parts, length } = encodeRaftFrame(message);
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, length);
}

/**
 * `encodeRaftMessage`'s bytes as parts, for a vectored write: a large frame's data fields are
 * referenced, not copied, and must not change until the frame is written.
 */
export function encodeRaftFrame(message: Message): RaftFrame {
  const schema: RaftFieldSchema | undefined = raftMessageFields[message.type];
  if (schema === undefined)
    throw new TypeError(`unknown Raft message type ${String(message.type)}`);
  const writer = new RaftFieldWriter();
  writer.uint32(0); // the length, known once every field is written
  writer.uint8(RAFT_FORMAT_VERSION);
  writer.uint8(RaftMessageCode[message.type]);
  const fields = message as unknown as Readonly<Record<string, unknown>>;
  for (const [name, kind] of schema) {
    writeField(writer, kind, fields[name], `${message.type}.${name}`);
  }
  const length = writer.length;
  if (length - 4 > UINT32_MAX) {
    throw new RangeError(`${message.type} needs ${length} bytes, more than a frame holds`);
  }
  const parts = length < partsFromBytes ? [writer.finish()] : coalesced(writer.finishParts());
  // The first part starts with the writer's first block, where the length was reserved.
  const first = parts[0] as Buffer;
  first.writeUInt32LE(length - 4, 0);
  return { parts, length };
}

/**
 * Checks a frame's version byte and type code, which a stream decoder reads before the rest of
 * the frame has arrived, and returns the message type.
 */
export function checkRaftFrameHeader(version: number, code: number): MessageType {
  if (version !== RAFT_FORMAT_VERSION) {
    throw new RaftTransportError('unknown-version', `Raft frame format version ${version}`);
  }
  const type = messageTypeOf(code);
  if (type === undefined) {
    throw new RaftTransportError('unknown-type', `Raft message type code ${code}`);
  }
  return type;
}

/** Decodes one whole frame, length prefix included; malformed input throws RaftTransportError. */
export function decodeRaftMessage(frame: Buffer): Message {
  if (frame.length < RAFT_FRAME_HEADER_BYTES) {
    throw new RaftTransportError('truncated', `a Raft frame of ${frame.length} bytes`);
  }
  const length = frame.readUInt32LE(0);
  if (length < frame.length - 4) {
    throw new RaftTransportError('trailing-bytes', `frame length ${length}, ${frame.length} bytes`);
  }
  if (length > frame.length - 4) {
    throw new RaftTransportError('truncated', `frame length ${length}, ${frame.length} bytes`);
  }
  const type = checkRaftFrameHeader(frame.readUInt8(4), frame.readUInt8(5));
  const reader = new RaftFieldReader(frame, RAFT_FRAME_HEADER_BYTES, type);
  const message: Record<string, unknown> = { type };
  const schema: RaftFieldSchema = raftMessageFields[type];
  for (const [name, kind] of schema) {
    message[name] = readField(reader, kind, name);
  }
  reader.end();
  return message as unknown as Message;
}

function writeField(writer: RaftFieldWriter, kind: RaftFieldKind, value: unknown, field: string) {
  switch (kind) {
    case 'node-id':
      writer.uint64(checkInteger(value, 1, field));
      break;
    case 'uint64':
      writer.uint64(checkInteger(value, 0, field));
      break;
    case 'boolean':
      if (typeof value !== 'boolean') throw new RangeError(`${field} must be a boolean`);
      writer.uint8(value ? 1 : 0);
      break;
    case 'bytes':
      writeBytes(writer, value, field);
      break;
    case 'entries':
      writeEntries(writer, value, field);
      break;
    case 'snapshot-metadata':
      writeSnapshotMetadata(writer, value as SnapshotMetadata, field);
      break;
    default:
      unhandledKind(kind);
  }
}

function readField(reader: RaftFieldReader, kind: RaftFieldKind, field: string): unknown {
  switch (kind) {
    case 'node-id':
      return readNodeId(reader, field);
    case 'uint64':
      return reader.uint64(field);
    case 'boolean':
      return readBoolean(reader, field);
    case 'bytes':
      return reader.bytes(reader.uint32(`${field} length`), field);
    case 'entries':
      return readEntries(reader, field);
    case 'snapshot-metadata':
      return readSnapshotMetadata(reader, field);
    default:
      return unhandledKind(kind);
  }
}

function checkInteger(value: unknown, minimum: number, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    throw new RangeError(`${field} must be a safe integer >= ${minimum}, got ${String(value)}`);
  }
  return value;
}

function writeBytes(writer: RaftFieldWriter, value: unknown, field: string): void {
  if (!(value instanceof Uint8Array)) throw new RangeError(`${field} must be a Uint8Array`);
  if (value.byteLength > UINT32_MAX) throw new RangeError(`${field} is over ${UINT32_MAX} bytes`);
  writer.uint32(value.byteLength);
  writer.bytes(value);
}

function writeEntries(writer: RaftFieldWriter, value: unknown, field: string): void {
  if (!Array.isArray(value)) throw new RangeError(`${field} must be an array`);
  const entries = value as readonly Entry[];
  if (entries.length > MESSAGE_ENTRIES_MAX) {
    throw new RangeError(
      `${field} holds ${entries.length} entries, the most is ${MESSAGE_ENTRIES_MAX}`,
    );
  }
  writer.uint32(entries.length);
  entries.forEach((entry, position) => {
    const what = `${field}[${position}]`;
    writer.uint64(checkInteger(entry.index, 1, `${what}.index`));
    writer.uint64(checkInteger(entry.term, 1, `${what}.term`));
    if (!entryTypes.has(entry.type)) throw new RangeError(`${what}.type ${String(entry.type)}`);
    writer.uint8(entry.type);
    writeBytes(writer, entry.data, `${what}.data`);
  });
}

function writeSnapshotMetadata(
  writer: RaftFieldWriter,
  metadata: SnapshotMetadata,
  field: string,
): void {
  writer.uint64(checkInteger(metadata.index, 0, `${field}.index`));
  writer.uint64(checkInteger(metadata.term, 0, `${field}.term`));
  writer.uint64(checkInteger(metadata.configurationIndex, 0, `${field}.configurationIndex`));
  writer.uint64(checkInteger(metadata.bytes, 0, `${field}.bytes`));
  const problem = configurationProblem(metadata.configuration);
  if (problem !== undefined) throw new RangeError(`${field}.configuration: ${problem}`);
  writeBytes(writer, encodeConfiguration(metadata.configuration), `${field}.configuration`);
}

function readNodeId(reader: RaftFieldReader, field: string): number {
  const id = reader.uint64(field);
  if (id === 0) throw new RaftTransportError('malformed', `${field} is node id 0`);
  return id;
}

function readBoolean(reader: RaftFieldReader, field: string): boolean {
  const code = reader.uint8(field);
  if (code > 1) throw new RaftTransportError('bad-enum', `${field} holds boolean code ${code}`);
  return code === 1;
}

function readEntries(reader: RaftFieldReader, field: string): Entry[] {
  const count = reader.uint32(`${field} count`);
  if (count > MESSAGE_ENTRIES_MAX) {
    throw new RaftTransportError(
      'oversized',
      `${field}: ${count} entries, the most is ${MESSAGE_ENTRIES_MAX}`,
    );
  }
  // Checked before the loop, so a forged count costs no work beyond the bytes really sent.
  if (count * ENTRY_HEADER_BYTES > reader.remainingBytes) {
    throw new RaftTransportError(
      'truncated',
      `${field}: ${count} entries in ${reader.remainingBytes} bytes`,
    );
  }
  const entries: Entry[] = [];
  for (let position = 0; position < count; position++) {
    entries.push(readEntry(reader, `${field}[${position}]`));
  }
  return entries;
}

function readEntry(reader: RaftFieldReader, what: string): Entry {
  const index = reader.uint64(`${what}.index`);
  const term = reader.uint64(`${what}.term`);
  const type = reader.uint8(`${what}.type`);
  if (!entryTypes.has(type)) throw new RaftTransportError('bad-enum', `${what} has type ${type}`);
  const data = reader.bytes(reader.uint32(`${what}.data length`), `${what}.data`);
  // Entry's invariants (src/raft/types.ts): a peer's bytes must not trip an assertion in the core.
  if (index === 0 || term === 0) {
    throw new RaftTransportError('malformed', `${what} has index ${index}, term ${term}`);
  }
  if (type === EntryType.configuration) readConfiguration(data, `${what}.data`);
  return { index, term, type: type as EntryType, data };
}

function readSnapshotMetadata(reader: RaftFieldReader, field: string): SnapshotMetadata {
  const index = reader.uint64(`${field}.index`);
  const term = reader.uint64(`${field}.term`);
  const configurationIndex = reader.uint64(`${field}.configurationIndex`);
  const bytes = reader.uint64(`${field}.bytes`);
  const length = reader.uint32(`${field}.configuration length`);
  if (length > CONFIGURATION_BYTES_MAX) {
    throw new RaftTransportError('oversized', `${field}.configuration of ${length} bytes`);
  }
  const configuration = readConfiguration(reader.bytes(length, `${field}.configuration`), field);
  return { index, term, configuration, configurationIndex, bytes };
}

function readConfiguration(data: Uint8Array, field: string): SnapshotMetadata['configuration'] {
  try {
    return decodeConfiguration(data);
  } catch (error) {
    // decodeConfiguration reports every problem with the bytes as a RangeError.
    if (error instanceof RangeError) {
      throw new RaftTransportError('malformed', `${field}: ${error.message}`);
    }
    throw error;
  }
}

function unhandledKind(kind: never): never {
  throw new TypeError(`unhandled Raft field kind ${String(kind)}`);
}
