import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { applyMutant, type Mutant } from './mutant.js';
import { mutants } from './mutants.js';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const sample: Mutant = {
  name: 'sample',
  description: 'a test mutant',
  mode: 'raft',
  file: 'sample.ts',
  replacements: [{ search: 'a < b', replace: 'a <= b' }],
};

describe('applyMutant', () => {
  it('replaces text that occurs exactly once', () => {
    expect(applyMutant(sample, 'if (a < b) x();')).toBe('if (a <= b) x();');
  });

  it('refuses text that does not occur, naming the mutant', () => {
    expect(() => applyMutant(sample, 'if (a > b) x();')).toThrow(/mutant sample.*found 0 times/);
  });

  it('refuses text that occurs more than once', () => {
    expect(() => applyMutant(sample, 'a < b; a < b;')).toThrow(/found 2 times/);
  });

  it('applies replacements in order, each against the text the previous one left', () => {
    const twoSteps: Mutant = {
      ...sample,
      replacements: [
        { search: 'a < b', replace: 'a < c' },
        { search: 'a < c', replace: 'a > c' },
      ],
    };
    expect(applyMutant(twoSteps, 'a < b')).toBe('a > c');
  });

  it('treats replacement text literally', () => {
    const dollar: Mutant = { ...sample, replacements: [{ search: 'a < b', replace: "$&'" }] };
    expect(applyMutant(dollar, 'a < b')).toBe("$&'");
  });
});

describe('the mutant list', () => {
  it('has unique names and a description for each', () => {
    const names = mutants.map((mutant) => mutant.name);
    expect(new Set(names).size).toBe(names.length);
    for (const mutant of mutants) expect(mutant.description.length).toBeGreaterThan(20);
  });

  // A refactor that moves the code a mutant edits must update the mutant, not silently skip it.
  for (const mutant of mutants) {
    it(`${mutant.name} still applies to ${mutant.file}`, () => {
      const text = readFileSync(path.join(repositoryRoot, mutant.file), 'utf8');
      expect(applyMutant(mutant, text)).not.toBe(text);
    });
  }
});
