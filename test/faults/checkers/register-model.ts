// The sequential specification of one register (one key of a table): reads, writes and
// compare-and-set, as the fault runs' register workload issues them through the pool.

import type { Model } from './linearizability.js';

export type RegisterInput =
  | { readonly type: 'read' }
  | { readonly type: 'write'; readonly value: number }
  | { readonly type: 'cas'; readonly from: number; readonly to: number };

/**
 * What the client got. `unknown` is an operation whose outcome nobody knows (it timed out, or
 * its connection died); give it `return: Infinity`. A read with an unknown outcome tells nothing
 * and belongs out of the history.
 */
export type RegisterOutput =
  | { readonly type: 'read'; readonly value: number | null }
  | { readonly type: 'written' }
  | { readonly type: 'cas'; readonly swapped: boolean }
  | { readonly type: 'unknown' };

/** The register starts absent (null), as a row that was never inserted. */
export const registerModel: Model<number | null, RegisterInput, RegisterOutput> = {
  init: () => null,
  step(state, input, output) {
    switch (input.type) {
      case 'read':
        if (output.type === 'unknown') return state;
        return output.type === 'read' && output.value === state ? state : undefined;
      case 'write':
        return input.value;
      case 'cas':
        if (output.type === 'unknown') return state === input.from ? input.to : state;
        if (output.type !== 'cas') return undefined;
        if (output.swapped) return state === input.from ? input.to : undefined;
        return state === input.from ? undefined : state;
    }
  },
  describe(input, output) {
    const result =
      output.type === 'read'
        ? String(output.value)
        : output.type === 'cas'
          ? String(output.swapped)
          : output.type;
    if (input.type === 'read') return `read -> ${result}`;
    if (input.type === 'write') return `write ${input.value} -> ${result}`;
    return `cas ${input.from}->${input.to} -> ${result}`;
  },
};
