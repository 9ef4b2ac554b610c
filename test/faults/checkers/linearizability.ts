// A linearizability checker for histories of operations on a sequential model, after Wing & Gong
// (1993) with the state cache of Lowe (2017), as Porcupine (Athalye) implements it: a depth-first
// search for an order of the operations that respects real time (an operation that returned
// before another was called comes first) and that the model accepts, one step at a time. The
// cache remembers each (set of operations linearized, model state) already explored, which turns
// the search from factorial into something a few thousand operations per key can afford.
//
// A history of independent keys is split per key first (P-compositionality: a history is
// linearizable exactly when each key's is), which keeps each search small.

/** One operation as a client saw it: what it asked, what it got, when it started and ended. */
export interface Operation<Input, Output> {
  readonly client: number;
  readonly input: Input;
  readonly output: Output;
  /** When the call was made (any monotonic unit: ms, ns, a logical clock). */
  readonly call: number;
  /**
   * When the answer arrived. An operation whose outcome is unknown (a timeout, a lost
   * connection) has `Infinity`: it may have taken effect at any point after its call, or never,
   * which for the models here is the same as at the very end.
   */
  readonly return: number;
}

/** A sequential specification: the state, and what each operation does to it. */
export interface Model<State, Input, Output> {
  init(): State;
  /** The state after `input` answered with `output`, or undefined when that cannot happen. */
  step(state: State, input: Input, output: Output): State | undefined;
  /** Equality of states, for the cache (default: ===). */
  equal?(a: State, b: State): boolean;
  /** A short text of an operation, for the verdict of a failed check. */
  describe?(input: Input, output: Output): string;
}

export type Verdict =
  | { readonly result: 'ok' }
  | {
      readonly result: 'illegal';
      /** The longest prefix of operations the search could linearize, described. */
      readonly longestLinearized: readonly string[];
      /** The operations of that prefix's frontier that could not go next, described. */
      readonly stuckAt: readonly string[];
    }
  | { readonly result: 'unknown'; readonly reason: string };

export interface CheckOptions {
  /** Search steps allowed before giving up with 'unknown'. Default 5,000,000. */
  readonly stepsMax?: number;
}

interface Entry {
  readonly kind: 'call' | 'return';
  readonly operation: number;
  readonly time: number;
  previous: Entry | undefined;
  next: Entry | undefined;
  /** A call's matching return. */
  match: Entry | undefined;
}

/** Checks one history (one key's) against the model. */
export function checkLinearizable<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly Operation<Input, Output>[],
  options: CheckOptions = {},
): Verdict {
  const stepsMax = options.stepsMax ?? 5_000_000;
  const equal = model.equal ?? ((a: State, b: State) => a === b);
  const describe = (index: number) => {
    const operation = history[index] as Operation<Input, Output>;
    const text = model.describe?.(operation.input, operation.output);
    return `client ${operation.client}: ${text ?? JSON.stringify([operation.input, operation.output])}`;
  };
  const head = buildEntries(history);
  const linearized = new Bitset(history.length);
  const cache = new Map<string, State[]>();
  const stack: { call: Entry; state: State }[] = [];
  let state = model.init();
  let entry = head.next;
  let longest: number[] = [];
  let stuck: number[] = [];
  for (let steps = 0; entry !== undefined; steps++) {
    if (steps > stepsMax) return { result: 'unknown', reason: `gave up after ${stepsMax} steps` };
    if (entry.kind === 'call') {
      const operation = history[entry.operation] as Operation<Input, Output>;
      const next = model.step(state, operation.input, operation.output);
      if (next !== undefined) {
        linearized.set(entry.operation);
        const key = linearized.key();
        const seen = cache.get(key);
        if (seen === undefined || !seen.some((cached) => equal(cached, next))) {
          if (seen === undefined) cache.set(key, [next]);
          else seen.push(next);
          stack.push({ call: entry, state });
          state = next;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized.clear(entry.operation);
      }
      entry = entry.next;
      continue;
    }
    // A return whose call is still in the list: that operation must have been linearized before
    // this point and was not, so the last choice was wrong.
    if (stack.length > longest.length) {
      longest = stack.map((frame) => frame.call.operation);
      stuck = frontier(head);
    }
    const frame = stack.pop();
    if (frame === undefined) {
      return {
        result: 'illegal',
        longestLinearized: longest.map(describe),
        stuckAt: (stuck.length > 0 ? stuck : frontier(head)).map(describe),
      };
    }
    state = frame.state;
    linearized.clear(frame.call.operation);
    unlift(frame.call);
    entry = frame.call.next;
  }
  return { result: 'ok' };
}

/** Checks every key's history on its own; the first illegal key decides. */
export function checkLinearizableByKey<Key, State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly (Operation<Input, Output> & { readonly key: Key })[],
  options: CheckOptions = {},
): Verdict & { readonly key?: Key } {
  const byKey = new Map<Key, Operation<Input, Output>[]>();
  for (const operation of history) {
    let list = byKey.get(operation.key);
    if (list === undefined) byKey.set(operation.key, (list = []));
    list.push(operation);
  }
  let unknown: (Verdict & { key: Key }) | undefined;
  for (const [key, operations] of byKey) {
    const verdict = checkLinearizable(model, operations, options);
    if (verdict.result === 'illegal') return { ...verdict, key };
    if (verdict.result === 'unknown') unknown ??= { ...verdict, key };
  }
  return unknown ?? { result: 'ok' };
}

/**
 * The call and return entries in time order, linked, behind a sentinel head. At equal times a
 * call comes before a return, so operations that touch in time count as concurrent.
 */
function buildEntries<Input, Output>(history: readonly Operation<Input, Output>[]): Entry {
  const entries: Entry[] = [];
  history.forEach((operation, index) => {
    const call: Entry = {
      kind: 'call',
      operation: index,
      time: operation.call,
      previous: undefined,
      next: undefined,
      match: undefined,
    };
    const ret: Entry = { ...call, kind: 'return', time: operation.return };
    call.match = ret;
    entries.push(call, ret);
  });
  entries.sort((a, b) => a.time - b.time || (a.kind === b.kind ? 0 : a.kind === 'call' ? -1 : 1));
  const head: Entry = {
    kind: 'call',
    operation: -1,
    time: -Infinity,
    previous: undefined,
    next: undefined,
    match: undefined,
  };
  let last = head;
  for (const entry of entries) {
    last.next = entry;
    entry.previous = last;
    last = entry;
  }
  return head;
}

/** Takes a call and its return out of the list (they stay linked to their neighbours). */
function lift(call: Entry): void {
  unlink(call);
  unlink(call.match as Entry);
}

function unlift(call: Entry): void {
  relink(call.match as Entry);
  relink(call);
}

function unlink(entry: Entry): void {
  (entry.previous as Entry).next = entry.next;
  if (entry.next !== undefined) entry.next.previous = entry.previous;
}

function relink(entry: Entry): void {
  (entry.previous as Entry).next = entry;
  if (entry.next !== undefined) entry.next.previous = entry;
}

/** The operations that could go next: calls before the first return still in the list. */
function frontier(head: Entry): number[] {
  const calls: number[] = [];
  for (let entry = head.next; entry !== undefined && entry.kind === 'call'; entry = entry.next) {
    calls.push(entry.operation);
  }
  return calls;
}

/** A fixed-size set of operation indexes, with a string key for the cache. */
class Bitset {
  readonly #words: Uint32Array;

  constructor(size: number) {
    this.#words = new Uint32Array(Math.ceil(size / 32) || 1);
  }

  set(index: number): void {
    this.#words[index >>> 5] = ((this.#words[index >>> 5] as number) | (1 << (index & 31))) >>> 0;
  }

  clear(index: number): void {
    this.#words[index >>> 5] = ((this.#words[index >>> 5] as number) & ~(1 << (index & 31))) >>> 0;
  }

  key(): string {
    return String.fromCharCode(...new Uint16Array(this.#words.buffer));
  }
}
