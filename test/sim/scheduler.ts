/**
 * Virtual time for the simulator: a clock in milliseconds and a queue of events. Nothing happens
 * between events, so the run jumps from one to the next and a simulated minute costs only the work
 * done in it (tigerbeetle src/testing/time.zig; dqlite src/raft/fixture.c).
 *
 * Events at the same time run in the order they were scheduled. That tie-break, together with the
 * seeded PRNG, is what makes a run deterministic.
 */
export interface ScheduledEvent {
  readonly time: number;
  /** Insertion order; breaks ties between events at the same time. */
  readonly sequence: number;
  /** Short description for traces, such as "deliver AppendEntries 1->2". */
  readonly label: string;
  readonly action: () => void;
  cancelled: boolean;
}

/** Most events waiting at once; a runaway loop that floods the queue fails fast instead of OOM. */
export const pendingEventsMax = 1_000_000;

/** A heap of `pendingEventsMax` events is about 20 levels deep; sifting never needs more. */
const heapLevelsMax = 64;

export class Scheduler {
  /** Virtual time of the event being run (or last run), in milliseconds. Never decreases. */
  #now = 0;
  #sequence = 0;
  /** Binary min-heap ordered by (time, sequence). */
  readonly #heap: ScheduledEvent[] = [];

  get now(): number {
    return this.#now;
  }

  /** Events waiting, cancelled ones included until they reach the top of the heap. */
  get pending(): number {
    return this.#heap.length;
  }

  /** Schedules `action` to run `delayMilliseconds` from now. */
  schedule(delayMilliseconds: number, label: string, action: () => void): ScheduledEvent {
    if (!Number.isFinite(delayMilliseconds) || delayMilliseconds < 0) {
      throw new RangeError(`delayMilliseconds must be finite and >= 0, got ${delayMilliseconds}`);
    }
    return this.at(this.#now + delayMilliseconds, label, action);
  }

  /** Schedules `action` at virtual time `time`, which may not be in the past. */
  at(time: number, label: string, action: () => void): ScheduledEvent {
    if (!(time >= this.#now)) throw new RangeError(`time ${time} is before now (${this.#now})`);
    if (this.#heap.length >= pendingEventsMax) {
      throw new RangeError(`more than ${pendingEventsMax} pending events`);
    }
    const event: ScheduledEvent = {
      time,
      sequence: this.#sequence++,
      label,
      action,
      cancelled: false,
    };
    this.#heap.push(event);
    this.#siftUp(this.#heap.length - 1);
    return event;
  }

  /** A cancelled event is skipped when its time comes; cancelling twice is harmless. */
  cancel(event: ScheduledEvent): void {
    event.cancelled = true;
  }

  /** Time of the next live event, or undefined when none is left. */
  peekTime(): number | undefined {
    this.#dropCancelledTop();
    return this.#heap[0]?.time;
  }

  /**
   * Advances the clock to the next live event and runs it. Returns the event, or undefined when
   * the queue is empty.
   */
  step(): ScheduledEvent | undefined {
    this.#dropCancelledTop();
    const event = this.#pop();
    if (event === undefined) return undefined;
    this.#now = event.time;
    event.action();
    return event;
  }

  /**
   * Runs every event up to and including `time`, at most `stepsMax` of them, then sets the clock
   * to `time` if the queue reached it. Returns the number of events run.
   */
  runUntil(time: number, stepsMax: number): number {
    let steps = 0;
    while (steps < stepsMax) {
      const next = this.peekTime();
      if (next === undefined || next > time) break;
      this.step();
      steps++;
    }
    const next = this.peekTime();
    if (time > this.#now && (next === undefined || next > time)) this.#now = time;
    return steps;
  }

  #dropCancelledTop(): void {
    for (
      let dropped = 0;
      dropped < pendingEventsMax && this.#heap[0]?.cancelled === true;
      dropped++
    ) {
      this.#pop();
    }
  }

  #pop(): ScheduledEvent | undefined {
    const top = this.#heap[0];
    const last = this.#heap.pop();
    if (top === undefined || last === undefined) return undefined;
    if (this.#heap.length > 0) {
      this.#heap[0] = last;
      this.#siftDown(0);
    }
    return top;
  }

  #siftUp(start: number): void {
    let position = start;
    for (let level = 0; level < heapLevelsMax && position > 0; level++) {
      const parent = (position - 1) >> 1;
      if (!this.#before(position, parent)) return;
      this.#swap(position, parent);
      position = parent;
    }
  }

  #siftDown(start: number): void {
    let position = start;
    const size = this.#heap.length;
    for (let level = 0; level < heapLevelsMax; level++) {
      const left = 2 * position + 1;
      const right = left + 1;
      let smallest = position;
      if (left < size && this.#before(left, smallest)) smallest = left;
      if (right < size && this.#before(right, smallest)) smallest = right;
      if (smallest === position) return;
      this.#swap(position, smallest);
      position = smallest;
    }
  }

  #before(first: number, second: number): boolean {
    const a = this.#heap[first] as ScheduledEvent;
    const b = this.#heap[second] as ScheduledEvent;
    return a.time < b.time || (a.time === b.time && a.sequence < b.sequence);
  }

  #swap(first: number, second: number): void {
    const a = this.#heap[first] as ScheduledEvent;
    this.#heap[first] = this.#heap[second] as ScheduledEvent;
    this.#heap[second] = a;
  }
}
