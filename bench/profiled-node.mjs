// Runs the built `dqlite-ts` CLI with V8's sampling profiler on its main thread, and writes the
// profile to $PROF_DIR/<pid>.cpuprofile when the process exits (SIGTERM included: the node exits
// through process.exit). Point DQLITE_TS_CLI at this file and any benchmark's nodes are profiled:
//
//   npm run build
//   PROF_DIR=/tmp/prof DQLITE_TS_CLI=bench/profiled-node.mjs SIZES_MB=20,40,cap npm run bench:big-rows
//   npx tsx bench/profile-shares.ts /tmp/prof crc32c encodeBatch concat '(garbage collector)'
//
// The profiler slows the node: compare profiles with profiles, not with unprofiled runs.

import fs from 'node:fs';
import inspector from 'node:inspector';
import process from 'node:process';
import { URL } from 'node:url';

const directory = process.env.PROF_DIR;
if (directory === undefined || directory === '') throw new Error('profiled-node: set PROF_DIR');
const session = new inspector.Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 250 });
session.post('Profiler.start');
process.on('exit', () => {
  // A session of this thread answers synchronously, so the profile is written before the exit.
  session.post('Profiler.stop', (error, result) => {
    if (error !== null) return;
    fs.mkdirSync(directory, { recursive: true });
    fs.writeFileSync(`${directory}/${process.pid}.cpuprofile`, JSON.stringify(result.profile));
  });
});
await import(new URL('../dist/bin/dqlite-ts.js', import.meta.url).href);
