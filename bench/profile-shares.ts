// For each V8 CPU profile in a directory (bench/profiled-node.mjs writes them): the main thread's
// busy time (every sample but idle) and, for each function named on the command line, the share
// of that time spent in it or in what it called.
//
// Run: npx tsx bench/profile-shares.ts DIR FUNCTION [FUNCTION ...]

import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const [directory, ...functions] = process.argv.slice(2);
if (directory === undefined || functions.length === 0) {
  throw new Error('usage: profile-shares.ts DIR FUNCTION [FUNCTION ...]');
}
const idle = new Set(['(idle)', '(program)']);

for (const file of fs.readdirSync(directory).filter((name) => name.endsWith('.cpuprofile'))) {
  const profile = JSON.parse(fs.readFileSync(path.join(directory, file), 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  let busyUs = 0;
  const inside = new Map(functions.map((name) => [name, 0]));
  for (const [i, sample] of profile.samples.entries()) {
    // A sample lasts until the next one.
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (idle.has(byId.get(sample)?.callFrame.functionName ?? '')) continue;
    busyUs += us;
    const stack = new Set<string>();
    for (let id: number | undefined = sample; id !== undefined; id = parentOf.get(id)) {
      stack.add(byId.get(id)?.callFrame.functionName ?? '');
    }
    for (const name of functions)
      if (stack.has(name)) inside.set(name, (inside.get(name) ?? 0) + us);
  }
  const shares = functions.map(
    (name) => `${name} ${(((inside.get(name) ?? 0) / Math.max(busyUs, 1)) * 100).toFixed(1)}%`,
  );
  console.log(`${file}: busy ${(busyUs / 1000).toFixed(0)} ms; ${shares.join(', ')}`);
}
