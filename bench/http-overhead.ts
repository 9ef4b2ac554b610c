// What the HTTP endpoint costs the request path: two one-node clusters in this process, one
// started with `http` (scraped every second, as Prometheus would) and one without, the same
// client workload against each, alternating over rounds; the median of each is kept and the
// ratio printed. Workloads: point reads through a prepared statement (the cheapest request, so
// the largest relative cost) and single-row writes (each a Raft entry made durable).
//
// Run: npm run bench:http   (options: ROUNDS=7 SECONDS=2)

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from '../bin/local-cluster.js';
import { connect, type DqliteClient } from '../drivers/client/index.js';
import { createNode, type DqliteNode } from '../index.js';
import { NodeMetrics } from '../src/http/node-metrics.js';
import { RequestType } from '../src/wire/index.js';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const SECONDS = Number(process.env.SECONDS ?? 2);

interface Subject {
  readonly name: string;
  readonly node: DqliteNode;
  readonly client: DqliteClient;
}

async function startSubject(name: string, directory: string, http: boolean): Promise<Subject> {
  const [port] = await freePorts(1);
  const node = await createNode({
    address: `127.0.0.1:${port}`,
    dataDir: path.join(directory, name),
    contentCheckIntervalMs: 0,
    ...(http ? { http: { address: '127.0.0.1:0' } } : {}),
  });
  const client = await connect({ cluster: [node.address], database: 'bench' });
  await client.exec('CREATE TABLE IF NOT EXISTS kv (k INTEGER PRIMARY KEY, v TEXT)');
  await client.exec('INSERT OR REPLACE INTO kv (k, v) VALUES (1, ?)', ['one']);
  return { name, node, client };
}

/** Runs `step` in sequence for SECONDS; returns operations per second. */
async function rate(step: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  const end = started + SECONDS * 1000;
  let done = 0;
  while (performance.now() < end) {
    await step();
    done++;
  }
  return done / ((performance.now() - started) / 1000);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/**
 * Nanoseconds the request path spends per request on the endpoint's account, alone: the two clock
 * reads ClientSession adds and the histogram observation. Steady where the end-to-end rates are
 * noisy, and the end-to-end cost can be no less.
 */
function observerNanoseconds(): number {
  const metrics = new NodeMetrics();
  const calls = 2_000_000;
  let sink = 0;
  const time = (observe: boolean): number => {
    const started = performance.now();
    for (let i = 0; i < calls; i++) {
      if (!observe) {
        sink += i;
        continue;
      }
      const requestStartedMs = performance.now();
      metrics.requests.answered(RequestType.QUERY, (performance.now() - requestStartedMs) / 1000);
    }
    return ((performance.now() - started) * 1e6) / calls;
  };
  time(true); // warm up
  const observed = median(Array.from({ length: 5 }, () => time(true)));
  const empty = median(Array.from({ length: 5 }, () => time(false)));
  if (sink < 0) console.log(sink); // keeps the empty loop from being optimised away
  return observed - empty;
}

async function main(): Promise<void> {
  const perRequest = observerNanoseconds();
  console.log(
    `observer on the request path: ${perRequest.toFixed(0)} ns per request (2 clock reads + 1 histogram observation)`,
  );

  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'http-overhead-'));
  const plain = await startSubject('without http', directory, false);
  const observed = await startSubject('with http', directory, true);
  const scraper = setInterval(() => {
    void fetch(`http://${observed.node.httpAddress}/metrics`).then((response) => response.text());
  }, 1000);
  try {
    const workloads = {
      'point read': async (subject: Subject) => {
        const statement = await subject.client.prepare('SELECT v FROM kv WHERE k = ?');
        const result = await rate(() => statement.query([1]));
        await statement.finalize();
        return result;
      },
      write: (subject: Subject) => {
        let key = 2;
        return rate(() =>
          subject.client.exec('INSERT OR REPLACE INTO kv VALUES (?, ?)', [key++ % 1000, 'x']),
        );
      },
    };
    console.log(
      `requests per second, one client in sequence, median of ${ROUNDS} rounds of ${SECONDS} s`,
    );
    for (const [workload, run] of Object.entries(workloads)) {
      const samples = new Map<string, number[]>([
        [plain.name, []],
        [observed.name, []],
      ]);
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate which goes first, so neither always runs on a warmer machine.
        const order = round % 2 === 0 ? [plain, observed] : [observed, plain];
        for (const subject of order) samples.get(subject.name)?.push(await run(subject));
      }
      const without = median(samples.get(plain.name) ?? []);
      const withHttp = median(samples.get(observed.name) ?? []);
      console.log(
        `  ${workload.padEnd(11)} without http ${without.toFixed(0).padStart(6)}/s   with http ${withHttp.toFixed(0).padStart(6)}/s   ratio ${(withHttp / without).toFixed(3)}`,
      );
    }
  } finally {
    clearInterval(scraper);
    for (const subject of [plain, observed]) {
      await subject.client.close();
      await subject.node.close();
    }
    fs.rmSync(directory, { recursive: true, force: true });
  }
}

await main();
