// The data directory's format version: a directory of the previous release (no `format` marker)
// opens with its data and gets the marker; one of a newer format is refused, naming both versions.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../bin/local-cluster.js';
import { createNode, createPool, recoverNode, type NodeOptions } from '../../index.js';
import { waitUntil } from '../interop/poll-until.js';

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'data-format-'));
afterAll(() => fs.rmSync(directory, { recursive: true, force: true }));

const marker = path.join(directory, 'format');

async function rowsOf(options: NodeOptions): Promise<number> {
  const node = await createNode(options);
  try {
    await waitUntil(() => node.isLeader(), 'the node leads');
    const pool = createPool({ cluster: [node.address], database: 'app' });
    try {
      const { rows } = await pool.query('SELECT count(*) AS n FROM t');
      return Number(rows[0]?.n);
    } finally {
      await pool.close();
    }
  } finally {
    await node.close();
  }
}

describe('data format version', () => {
  it('upgrades a directory without a marker in place, keeping its data', async () => {
    const [port] = await freePorts(1);
    const options: NodeOptions = { address: `127.0.0.1:${port}`, dataDir: directory };
    const node = await createNode(options);
    const pool = createPool({ cluster: [node.address], database: 'app' });
    await pool.exec('CREATE TABLE t (v)');
    for (let i = 0; i < 5; i++) await pool.exec('INSERT INTO t VALUES (?)', [i]);
    await pool.close();
    await node.close();
    expect(fs.readFileSync(marker, 'utf8')).toBe('1\n');

    // The previous release wrote no marker.
    fs.rmSync(marker);
    expect(await rowsOf(options)).toBe(5);
    expect(fs.readFileSync(marker, 'utf8')).toBe('1\n');
    expect(fs.existsSync(`${marker}.tmp`)).toBe(false);

    // A newer release's directory is refused before anything in it is touched.
    fs.writeFileSync(marker, '2\n');
    const message = /has data format version 2, newer than version 1 that this release reads/;
    await expect(createNode(options)).rejects.toThrow(message);
    await expect(
      recoverNode({ dataDir: directory, members: [{ id: 1, address: options.address }] }),
    ).rejects.toThrow(message);
    expect(fs.readFileSync(marker, 'utf8')).toBe('2\n');
    fs.writeFileSync(marker, 'one\n');
    await expect(createNode(options)).rejects.toThrow(/format is damaged/);
  }, 60_000);
});
