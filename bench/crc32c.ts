// The log's CRC-32C, native (@node-rs/crc32, the CPU's CRC instruction) against the project's
// portable slicing-by-8 code, in one process, the same data: throughput on 1 MiB records and the
// time of one call on 200 bytes (a small write's record). Also says which one the node uses here.
//
// Run: npm run bench:crc32c   (options: ROUNDS=5)

import { randomBytes } from 'node:crypto';
import { crc32c, crc32cImplementation, crc32cPortable } from '../src/storage/crc32c.js';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const large = randomBytes(1024 * 1024);
const small = randomBytes(200);

type Crc = (data: Uint8Array) => number;

/** The median of ROUNDS timings of `calls` calls of `crc` on `data`, in ms. */
function medianMs(crc: Crc, data: Uint8Array, calls: number): number {
  const times: number[] = [];
  let sink = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    for (let call = 0; call < calls; call++) sink ^= crc(data);
    times.push(performance.now() - started);
  }
  if (sink === 0.5) console.log(sink); // keeps the calls from being optimized away
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)] as number;
}

if (crc32c(large) !== crc32cPortable(large)) throw new Error('the two implementations disagree');
console.log(`the node uses: ${crc32cImplementation}`);
console.log('| implementation | 1 MiB, GiB/s | 200 bytes, µs per call |');
console.log('| --- | --- | --- |');
for (const [name, crc] of [
  ['in use', (data: Uint8Array) => crc32c(data)],
  ['portable', (data: Uint8Array) => crc32cPortable(data)],
] as const) {
  const gibPerSecond = 200 / 1024 / (medianMs(crc, large, 200) / 1000);
  const microseconds = (medianMs(crc, small, 200_000) * 1000) / 200_000;
  console.log(`| ${name} | ${gibPerSecond.toFixed(2)} | ${microseconds.toFixed(3)} |`);
}
