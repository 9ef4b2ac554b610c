/** A trace line, or a function that formats it; formatting waits until a failure needs it. */
export type TraceText = string | (() => string);

interface TraceLine {
  readonly timeMilliseconds: number;
  readonly text: TraceText;
}

/**
 * The last lines of what happened in a run, kept for the failure report: enough to see the
 * faults, elections and messages leading to a broken invariant without storing the whole run.
 */
export class Trace {
  readonly #lines: TraceLine[] = [];
  readonly #capacity: number;
  /** Index of the oldest line once the buffer is full. */
  #start = 0;
  readonly #echo: ((line: string) => void) | undefined;

  /** `echo`, if given, receives every line as it is added (the CLI's --verbose). */
  constructor(options: { readonly capacity: number; readonly echo?: (line: string) => void }) {
    if (!Number.isSafeInteger(options.capacity) || options.capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, got ${options.capacity}`);
    }
    this.#capacity = options.capacity;
    this.#echo = options.echo;
  }

  add(timeMilliseconds: number, text: TraceText): void {
    const line = { timeMilliseconds, text };
    this.#echo?.(format(line));
    if (this.#lines.length < this.#capacity) {
      this.#lines.push(line);
      return;
    }
    this.#lines[this.#start] = line;
    this.#start = (this.#start + 1) % this.#capacity;
  }

  /** The newest `count` lines, oldest first. */
  lines(count: number = this.#capacity): string[] {
    const ordered = [...this.#lines.slice(this.#start), ...this.#lines.slice(0, this.#start)];
    return ordered.slice(Math.max(0, ordered.length - count)).map(format);
  }
}

function format(line: TraceLine): string {
  const text = typeof line.text === 'string' ? line.text : line.text();
  return `${line.timeMilliseconds.toFixed(1).padStart(10)}ms ${text}`;
}
