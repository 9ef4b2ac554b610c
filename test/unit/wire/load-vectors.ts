import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROTOCOL_VERSION_LEGACY, RequestType } from '../../../src/wire/index.js';

/**
 * Reads the captured traffic in test/fixtures/protocol-vectors (format: its README.md) and
 * classifies every line, so that the tests can check each one and prove none was skipped.
 */

/** Stand-in for a message too large to keep in full: its length, hash and both ends. */
export interface MessageSummary {
  readonly len: number;
  readonly sha256: string;
  readonly hexHead: string;
  readonly hexTail: string;
}

export type VectorLineKind =
  | 'handshake' // the version word, first c2s line of a connection
  | 'message' // a request (c2s) or response (s2c), in full or summarized
  | 'event' // FIN or RST: no bytes
  | 'raft'; // a placeholder for raft traffic after CONNECT: no bytes

export interface VectorLine {
  readonly file: string;
  /** 1-based line number in the file, for failure messages. */
  readonly lineNumber: number;
  readonly conn: number;
  readonly server: string;
  readonly dir: 'c2s' | 's2c';
  readonly note: string;
  readonly kind: VectorLineKind;
  /** The complete message (or version word); absent for events, raft lines and summaries. */
  readonly bytes?: Buffer;
  readonly summary?: MessageSummary;
  /** The connection's handshake used the legacy version: type 1 responses are SERVER_LEGACY. */
  readonly legacy: boolean;
  /** Format of the last CLUSTER request sent before this line on the same connection. */
  readonly clusterFormat: 0 | 1 | undefined;
}

export interface VectorFile {
  readonly name: string;
  readonly lines: readonly VectorLine[];
}

const repositoryRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** The captured vectors, kept in the repository as test fixtures. */
export const VECTORS_DIRECTORY = path.resolve(
  repositoryRoot,
  'test',
  'fixtures',
  'protocol-vectors',
);

const LINE_FIELDS = new Set([
  'conn',
  'server',
  't_ms',
  'dir',
  'note',
  'hex',
  'event',
  'len',
  'sha256',
  'hex_head',
  'hex_tail',
]);

/** Every vector file, sorted by name. Throws when the folder is missing or empty. */
export function loadVectorFiles(): VectorFile[] {
  if (!existsSync(VECTORS_DIRECTORY)) {
    throw new Error(`protocol vectors not found at ${VECTORS_DIRECTORY}`);
  }
  const names = readdirSync(VECTORS_DIRECTORY)
    .filter((name) => name.endsWith('.jsonl'))
    .sort();
  if (names.length === 0) throw new Error(`no *.jsonl vectors in ${VECTORS_DIRECTORY}`);
  return names.map((name) => ({
    name,
    lines: classify(name, readFileSync(path.join(VECTORS_DIRECTORY, name), 'utf8')),
  }));
}

interface RawLine {
  readonly lineNumber: number;
  readonly fields: Record<string, unknown>;
}

interface ConnectionState {
  handshakeSeen: boolean;
  legacy: boolean;
  clusterFormat: 0 | 1 | undefined;
  connectSent: boolean;
}

function classify(file: string, text: string): VectorLine[] {
  const rawLines = text
    .split('\n')
    .map((line, index) => ({ line, lineNumber: index + 1 }))
    .filter(({ line }) => line.trim() !== '')
    .map(({ line, lineNumber }) => ({ lineNumber, fields: parseLine(file, lineNumber, line) }));
  const connections = new Map<number, ConnectionState>();
  return rawLines.map((raw) => {
    const conn = numberField(raw, 'conn');
    let state = connections.get(conn);
    if (!state) {
      state = { handshakeSeen: false, legacy: false, clusterFormat: undefined, connectSent: false };
      connections.set(conn, state);
    }
    return classifyLine(file, raw, conn, state);
  });
}

function classifyLine(
  file: string,
  raw: RawLine,
  conn: number,
  state: ConnectionState,
): VectorLine {
  const where = `${file}:${raw.lineNumber}`;
  const dir = stringField(raw, 'dir');
  if (dir !== 'c2s' && dir !== 's2c') throw new Error(`${where}: bad dir ${dir}`);
  const base = {
    file,
    lineNumber: raw.lineNumber,
    conn,
    server: stringField(raw, 'server'),
    dir,
    note: stringField(raw, 'note'),
    legacy: state.legacy,
    clusterFormat: state.clusterFormat,
  } as const;
  const { fields } = raw;
  if (fields['event'] !== undefined) return { ...base, kind: 'event' };
  if (fields['hex'] === undefined && fields['len'] === undefined) {
    // Only raft traffic after CONNECT is omitted without a summary (README, file 27).
    if (!state.connectSent) throw new Error(`${where}: a line without bytes before any CONNECT`);
    return { ...base, kind: 'raft' };
  }
  const summary = fields['len'] === undefined ? undefined : summaryOf(raw);
  const bytes = summary ? undefined : Buffer.from(stringField(raw, 'hex'), 'hex');
  if (dir === 'c2s' && !state.handshakeSeen) {
    if (!bytes || bytes.length !== 8) throw new Error(`${where}: handshake must be one word`);
    state.handshakeSeen = true;
    state.legacy = bytes.readBigUInt64LE(0) === PROTOCOL_VERSION_LEGACY;
    return { ...base, kind: 'handshake', bytes, legacy: state.legacy };
  }
  if (dir === 'c2s' && bytes) recordRequest(bytes, state);
  return { ...base, kind: 'message', ...(bytes ? { bytes } : {}), ...(summary ? { summary } : {}) };
}

/**
 * Remembers what later responses on the connection depend on. Reads the raw header and first
 * body word rather than calling the codec, so a codec bug fails one test, not the whole loading.
 */
function recordRequest(bytes: Buffer, state: ConnectionState): void {
  if (bytes.length < 16) return;
  const type = bytes.readUInt8(4);
  if (type === RequestType.CLUSTER) {
    // dqlite 1.11 answers any non-zero format with the format-1 layout (docs/wire-protocol.md §6.1).
    state.clusterFormat = bytes.readBigUInt64LE(8) === 0n ? 0 : 1;
  }
  if (type === RequestType.CONNECT) state.connectSent = true;
}

function summaryOf(raw: RawLine): MessageSummary {
  return {
    len: numberField(raw, 'len'),
    sha256: stringField(raw, 'sha256'),
    hexHead: stringField(raw, 'hex_head'),
    hexTail: stringField(raw, 'hex_tail'),
  };
}

function parseLine(file: string, lineNumber: number, line: string): Record<string, unknown> {
  const parsed: unknown = JSON.parse(line);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${file}:${lineNumber}: not a JSON object`);
  }
  // A field this loader does not know means the format changed: fail instead of ignoring it.
  for (const key of Object.keys(parsed)) {
    if (!LINE_FIELDS.has(key)) throw new Error(`${file}:${lineNumber}: unknown field ${key}`);
  }
  return parsed as Record<string, unknown>;
}

function stringField(raw: RawLine, name: string): string {
  const value = raw.fields[name];
  if (typeof value !== 'string') throw new Error(`line ${raw.lineNumber}: ${name} is not a string`);
  return value;
}

function numberField(raw: RawLine, name: string): number {
  const value = raw.fields[name];
  if (typeof value !== 'number') throw new Error(`line ${raw.lineNumber}: ${name} is not a number`);
  return value;
}
