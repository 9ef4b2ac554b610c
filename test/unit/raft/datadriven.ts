/**
 * The file format of `testdata/*.txt` (described for readers in `testdata/README.md`): lines
 * starting with `#` and blank lines are kept as they are; any other line is a command, followed
 * by a `----` line and the expected output, which runs to the next blank line or the end of the
 * file. A command without `----` has no expected output yet; rewriting adds it. A command right
 * below a `# pinned: <why>` line keeps its hand-written output when the file is rewritten.
 */

export interface CommandBlock {
  readonly kind: 'command';
  readonly line: string;
  /** 1-based line number of the command in its file. */
  readonly lineNumber: number;
  readonly expected: readonly string[] | undefined;
  /**
   * A `# pinned: <why>` comment line right above the command: its expected output was written by
   * hand (the code does not produce it yet, see FINDINGS.md) and rewriting keeps it.
   */
  readonly pinned: boolean;
}

export interface TextBlock {
  readonly kind: 'text';
  readonly line: string;
}

export type ScriptBlock = CommandBlock | TextBlock;

export const outputSeparator = '----';
const pinnedMarker = '# pinned:';

export function parseScript(text: string): ScriptBlock[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const blocks: ScriptBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '' || line.startsWith('#')) {
      blocks.push({ kind: 'text', line });
      continue;
    }
    if (line === outputSeparator) throw new ScriptError(i + 1, 'output without a command');
    const lineNumber = i + 1;
    const pinned = (lines[i - 1] ?? '').startsWith(pinnedMarker);
    if (lines[i + 1] !== outputSeparator) {
      if (pinned) throw new ScriptError(lineNumber, 'a pinned command needs its expected output');
      blocks.push({ kind: 'command', line, lineNumber, expected: undefined, pinned });
      continue;
    }
    i += 1;
    const expected: string[] = [];
    while (i + 1 < lines.length && (lines[i + 1] ?? '').trim() !== '') {
      i += 1;
      expected.push(lines[i] ?? '');
    }
    blocks.push({ kind: 'command', line, lineNumber, expected, pinned });
  }
  return blocks;
}

/** Renders blocks back to text, with `outputs` (one per command, in order) as the output. */
export function renderScript(blocks: readonly ScriptBlock[], outputs: readonly string[][]): string {
  const lines: string[] = [];
  let command = 0;
  blocks.forEach((block, i) => {
    lines.push(block.line);
    if (block.kind === 'text') return;
    const output = outputs[command++];
    if (output === undefined) throw new Error(`no output for "${block.line}"`);
    lines.push(outputSeparator, ...output);
    // The output ends at a blank line, so one must follow before the next command.
    const next = blocks[i + 1];
    if (next !== undefined && next.line.trim() !== '') lines.push('');
  });
  return `${lines.join('\n')}\n`;
}

/** A mistake in a script (unknown command or argument): never rendered as output, always thrown. */
export class ScriptError extends Error {
  override readonly name = 'ScriptError';

  constructor(lineNumber: number, message: string) {
    super(`line ${lineNumber}: ${message}`);
  }
}

/** A command's arguments: positional words, then `key=value` pairs; unknown keys are refused. */
export class CommandArguments {
  readonly name: string;
  readonly #positional: string[] = [];
  readonly #named = new Map<string, string>();
  readonly #used = new Set<string>();
  readonly #lineNumber: number;

  constructor(line: string, lineNumber: number) {
    const [name, ...words] = line.trim().split(/\s+/);
    this.name = name ?? '';
    this.#lineNumber = lineNumber;
    for (const word of words) {
      const equals = word.indexOf('=');
      if (equals > 0) this.#named.set(word.slice(0, equals), word.slice(equals + 1));
      else this.#positional.push(word);
    }
  }

  fail(message: string): never {
    throw new ScriptError(this.#lineNumber, `${this.name}: ${message}`);
  }

  positionalCount(): number {
    return this.#positional.length;
  }

  /** The positional words from `from` on, joined by spaces. */
  rest(from: number): string {
    return this.#positional.slice(from).join(' ');
  }

  word(position: number): string {
    const word = this.#positional[position];
    if (word === undefined) this.fail(`missing argument ${position + 1}`);
    return word;
  }

  integerAt(position: number): number {
    return this.#toInteger(this.word(position), `argument ${position + 1}`);
  }

  /** Every positional argument as a node id. */
  nodeIds(): number[] {
    return this.#positional.map((word, i) => this.#toInteger(word, `argument ${i + 1}`));
  }

  has(key: string): boolean {
    return this.#named.has(key);
  }

  string(key: string): string | undefined {
    this.#used.add(key);
    return this.#named.get(key);
  }

  integer(key: string): number | undefined {
    const value = this.string(key);
    return value === undefined ? undefined : this.#toInteger(value, key);
  }

  boolean(key: string): boolean | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    if (value !== 'true' && value !== 'false') this.fail(`${key} must be true or false`);
    return value === 'true';
  }

  /** Integers separated by commas: `manual=1,2`. */
  integers(key: string): number[] {
    const value = this.string(key);
    if (value === undefined) return [];
    return value.split(',').map((word) => this.#toInteger(word, key));
  }

  /** Refuses `key=value` pairs the command did not read. */
  finish(): void {
    for (const key of this.#named.keys()) {
      if (!this.#used.has(key)) this.fail(`unknown argument ${key}`);
    }
  }

  #toInteger(word: string, what: string): number {
    const value = Number(word);
    if (!Number.isSafeInteger(value)) this.fail(`${what} must be an integer, got "${word}"`);
    return value;
  }
}
