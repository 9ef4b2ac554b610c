// recoverNode on a data directory as a stopped node leaves it: what it reports, what it writes
// through the node's own storage, and what it refuses.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMembers } from '../../../bin/commands/recover.js';
import {
  EntryType,
  Role,
  bootstrapState,
  decodeConfiguration,
  type Entry,
} from '../../../src/raft/index.js';
import { recoverNode } from '../../../src/server/offline-recovery.js';
import { FileStorage } from '../../../src/storage/index.js';

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) fs.rmSync(directory, { recursive: true });
});

const self = { id: 0x1a, address: '127.0.0.1:1' };
const lost = [
  { id: 0x2b, address: '127.0.0.1:2', role: Role.voter },
  { id: 0x3c, address: '127.0.0.1:3', role: Role.voter },
];

/** A stopped node's data directory: its identity, and a log of the bootstrap entry and `extra`. */
async function stoppedNode(extra: readonly Entry[], address = self.address): Promise<string> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'offline-recovery-'));
  directories.push(dataDir);
  fs.writeFileSync(path.join(dataDir, 'node.json'), JSON.stringify({ ...self, address }));
  const storage = FileStorage.open({ directory: path.join(dataDir, 'raft') });
  storage.load();
  const boot = bootstrapState({ servers: [{ ...self, address, role: Role.voter }, ...lost] });
  const entries = [...boot.entries, ...extra];
  await new Promise<void>((resolve, reject) =>
    storage.persist({ hardState: { term: 3, vote: 0x2b }, entries }, (error) =>
      error ? reject(error) : resolve(),
    ),
  );
  await storage.close();
  return dataDir;
}

function loadLog(dataDir: string) {
  const storage = FileStorage.open({ directory: path.join(dataDir, 'raft') });
  const state = storage.load();
  void storage.close();
  return state;
}

const command = (index: number, term: number): Entry => ({
  index,
  term,
  type: EntryType.command,
  data: new Uint8Array([index]),
});

describe('recoverNode', () => {
  it('reports the last index and term, and a dry run changes nothing', async () => {
    const dataDir = await stoppedNode([command(2, 2), command(3, 3)]);
    const report = await recoverNode({ dataDir, members: [self], dryRun: true });
    expect(report).toEqual({ ...self, lastIndex: 3, lastTerm: 3, term: 3 });
    expect(loadLog(dataDir).entries).toHaveLength(3);
  });

  it('appends a configuration of the members after every entry, in a new term it voted in', async () => {
    const dataDir = await stoppedNode([command(2, 2), command(3, 3)]);
    const report = await recoverNode({ dataDir, members: [self] });
    expect(report.written).toEqual({ index: 4, term: 4 });
    const state = loadLog(dataDir);
    expect(state.entries.map((entry) => [entry.index, entry.term])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
    ]);
    const last = state.entries.at(-1) as Entry;
    expect(last.type).toBe(EntryType.configuration);
    expect(decodeConfiguration(last.data)).toEqual({ servers: [{ ...self, role: Role.voter }] });
    expect(state.hardState).toEqual({ term: 4, vote: self.id });
  });

  it('refuses members without this node, and a node that is running', async () => {
    const dataDir = await stoppedNode([]);
    await expect(recoverNode({ dataDir, members: [lost[0] as never] })).rejects.toThrow(
      /must include this node, 1a/,
    );
    await expect(recoverNode({ dataDir, members: [] })).rejects.toThrow(TypeError);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    try {
      const running = await stoppedNode([], address);
      await expect(
        recoverNode({ dataDir: running, members: [{ ...self, address }] }),
      ).rejects.toThrow(/node 1a is running: something answers at/);
      expect(loadLog(running).entries).toHaveLength(1);
    } finally {
      server.close();
    }
  });
});

describe('parseMembers', () => {
  it('reads ID@HOST:PORT with hexadecimal ids, and refuses anything else', () => {
    expect(parseMembers('1a@10.0.0.1:9001,0x2B@10.0.0.2:9001')).toEqual([
      { id: 0x1a, address: '10.0.0.1:9001' },
      { id: 0x2b, address: '10.0.0.2:9001' },
    ]);
    expect(() => parseMembers('10.0.0.1:9001')).toThrow(/ID@HOST:PORT/);
  });
});
