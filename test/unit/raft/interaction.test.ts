import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseScript, renderScript, type CommandBlock } from './datadriven.js';
import { InteractionSession } from './interaction-session.js';

/**
 * Runs every `testdata/*.txt` interaction script (format in `testdata/README.md`). Each command's
 * output must match the text below it. `REWRITE=1` writes the actual output into the files
 * instead (except below `# pinned:` lines); every rewritten line must then be checked against the
 * paper before it is committed, because the files are the specification, not a snapshot.
 */

const testdata = join(dirname(fileURLToPath(import.meta.url)), 'testdata');
const rewrite = process.env.REWRITE === '1';
const scripts = readdirSync(testdata)
  .filter((name) => name.endsWith('.txt'))
  .sort();

describe('raft interaction scripts', () => {
  for (const name of scripts) {
    it(name, () => {
      const path = join(testdata, name);
      const text = readFileSync(path, 'utf8');
      const blocks = parseScript(text);
      const session = new InteractionSession();
      const commands = blocks.filter((block): block is CommandBlock => block.kind === 'command');
      const outputs = commands.map((block) => session.run(block.line, block.lineNumber));
      if (rewrite) {
        // Pinned outputs are hand-written specifications the code does not meet yet: keep them.
        const kept = commands.map((block, i) =>
          block.pinned && block.expected !== undefined ? [...block.expected] : (outputs[i] ?? []),
        );
        const rewritten = renderScript(blocks, kept);
        if (rewritten !== text) writeFileSync(path, rewritten);
        return;
      }
      const actual = renderScript(blocks, outputs);
      const first = commands.findIndex(
        (block, i) => block.expected?.join('\n') !== outputs[i]?.join('\n'),
      );
      const where = commands[first];
      const message =
        where === undefined
          ? name
          : `${name}:${where.lineNumber} "${where.line}" is the first command whose output differs`;
      expect(actual, message).toBe(text);
    });
  }
});
