import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileDurablySync } from '../storage/durable-file.js';

/** Who a node is, kept in its data directory so a restart keeps its place in the cluster. */
export interface NodeIdentity {
  readonly id: number;
  readonly address: string;
}

const identityFile = 'node.json';

/**
 * The identity stored in `dataDir`, or a new one (a random id) written there durably. A stored
 * identity with another address is refused: the cluster knows the node by the old one.
 */
export function loadOrCreateIdentity(
  dataDir: string,
  address: string,
  requestedId: number | undefined,
): { identity: NodeIdentity; created: boolean } {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, identityFile);
  if (fs.existsSync(file)) {
    const identity = readIdentity(dataDir);
    if (identity.address !== address) {
      throw new Error(
        `${dataDir} belongs to node ${identity.id.toString(16)} at ${identity.address}, not ${address}; ` +
          'start it with its own address or use an empty data directory',
      );
    }
    if (requestedId !== undefined && requestedId !== identity.id) {
      throw new Error(
        `${dataDir} belongs to node ${identity.id.toString(16)}, not ${requestedId.toString(16)}`,
      );
    }
    return { identity, created: false };
  }
  // 2^48 ids make a clash between two nodes of one cluster vanishingly unlikely.
  const id = requestedId ?? randomInt(1, 2 ** 48);
  const identity = { id, address };
  writeFileDurablySync(file, Buffer.from(`${JSON.stringify(identity)}\n`));
  return { identity, created: true };
}

/** The identity stored in `dataDir`; throws when there is none or it is damaged. */
export function readIdentity(dataDir: string): NodeIdentity {
  const file = path.join(dataDir, identityFile);
  if (!fs.existsSync(file)) throw new Error(`${dataDir} holds no node (no ${identityFile})`);
  const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<NodeIdentity>;
  if (!Number.isSafeInteger(stored.id) || typeof stored.address !== 'string') {
    throw new Error(`${file} is damaged: expected {"id": <integer>, "address": "<host:port>"}`);
  }
  return stored as NodeIdentity;
}
