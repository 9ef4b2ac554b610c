/**
 * Which simulator judges a mutant: 'raft' runs the Raft-core simulator (test/sim/cli.ts), 'node'
 * the whole-node simulator (test/sim/node/cli.ts). Both take `--seeds A..B --steps N`, print
 * "FAIL seed N: ..." per failing seed and exit 1 on any failure.
 */
export type MutantMode = 'raft' | 'node';

/** One exact-text edit. `search` must occur exactly once in the file when the edit is applied. */
export interface Replacement {
  readonly search: string;
  readonly replace: string;
}

/**
 * A deliberate, plausible bug: the simulator is trusted only as far as it catches these. The
 * edits apply to a copy of the tree, never to the working tree.
 */
export interface Mutant {
  /** Kebab-case, unique; `--mutant NAME` selects by it. */
  readonly name: string;
  /** One line: the real bug this models, and the rule it breaks (with its paper section). */
  readonly description: string;
  readonly mode: MutantMode;
  /** Repository-relative path of the file to edit. */
  readonly file: string;
  /** Applied in order; each must match exactly once, else the runner refuses the mutant. */
  readonly replacements: readonly Replacement[];
  /** Extra simulator arguments, such as `--nodes 5`. */
  readonly args?: readonly string[];
}

/** The CLI each mode runs, relative to the repository root. */
export const cliOfMode: Record<MutantMode, string> = {
  raft: 'test/sim/cli.ts',
  node: 'test/sim/node/cli.ts',
};

/** Extra arguments each mode's CLI takes to end at its first failing seed. */
export const stopFlagsOfMode: Record<MutantMode, readonly string[]> = {
  raft: ['--stop-on-failure'],
  node: ['--stop-on-failure'],
};

/** Each mode's default steps per seed (its CLI's default): what "caught at default steps" means. */
export const stepsOfMode: Record<MutantMode, number> = {
  raft: 20_000,
  node: 3000,
};

/**
 * Applies `mutant`'s edits to `text`, the file's content. Throws naming the mutant when an edit's
 * search text occurs zero or several times: a refactor must not turn a mutant into a no-op.
 */
export function applyMutant(mutant: Mutant, text: string): string {
  if (mutant.replacements.length === 0)
    throw new RangeError(`mutant ${mutant.name} has no replacements`);
  let result = text;
  for (const [position, { search, replace }] of mutant.replacements.entries()) {
    const count = occurrences(result, search);
    if (count !== 1) {
      throw new RangeError(
        `mutant ${mutant.name}: replacement ${position + 1} must match exactly once in ` +
          `${mutant.file}, found ${count} times: ${JSON.stringify(search)}`,
      );
    }
    if (search === replace)
      throw new RangeError(`mutant ${mutant.name}: replacement ${position + 1} changes nothing`);
    result = result.replace(search, () => replace);
  }
  return result;
}

function occurrences(text: string, search: string): number {
  if (search === '') return 0;
  let count = 0;
  for (let at = text.indexOf(search); at !== -1; at = text.indexOf(search, at + 1)) count++;
  return count;
}
