import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TermHistory } from '../../../src/storage/term-history.js';

// TermHistory against the naive reference: one term per stored index.

type Action =
  | { readonly kind: 'append'; readonly count: number; readonly termStep: number }
  | { readonly kind: 'truncate'; readonly back: number }
  | { readonly kind: 'compact'; readonly forward: number }
  | { readonly kind: 'clear' };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant('append' as const),
    count: fc.integer({ min: 1, max: 5 }),
    termStep: fc.nat(2),
  }),
  fc.record({ kind: fc.constant('truncate' as const), back: fc.nat(6) }),
  fc.record({ kind: fc.constant('compact' as const), forward: fc.nat(6) }),
  fc.constant({ kind: 'clear' as const }),
);

describe('TermHistory', () => {
  it('answers termAt like an array of terms', () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 40 }), (actions) => {
        const history = new TermHistory();
        let first = 1;
        let terms: number[] = [];
        let termMax = 1;
        for (const step of actions) {
          if (step.kind === 'append') {
            termMax += step.termStep;
            for (let i = 0; i < step.count; i++) {
              history.append(first + terms.length, termMax);
              terms.push(termMax);
            }
          } else if (step.kind === 'truncate') {
            const keep = Math.max(0, terms.length - step.back);
            history.truncateFrom(first + keep);
            terms = terms.slice(0, keep);
          } else if (step.kind === 'compact') {
            const drop = Math.min(step.forward, terms.length - 1);
            if (drop <= 0) continue;
            history.compactBefore(first + drop);
            first += drop;
            terms = terms.slice(drop);
          } else {
            history.clear();
            first += terms.length;
            terms = [];
          }
          terms.forEach((term, offset) => expect(history.termAt(first + offset)).toBe(term));
        }
      }),
      { seed: 11, numRuns: 300 },
    );
  });
});
