/**
 * What SQL text says before SQLite sees it. The server needs where each statement of a
 * multi-statement text ends (EXEC_SQL runs them in turn; better-sqlite3 prepares one at a time)
 * and which parameters a statement has (STMT answers their count, and better-sqlite3 binds `?NNN`
 * and `:name` by name, not by position); the drivers classify statements on the same tokens
 * (statement-class.ts).
 *
 * A small tokenizer, written after SQLite's tokenizer rules: strings '…', identifiers "…", `…`
 * and […], comments -- and /* *\/. A statement ends at a semicolon, except inside the body of
 * CREATE [TEMP] TRIGGER, which ends at "END ;" (the rule of sqlite3_complete).
 */

/** One parameter slot, numbered from 1 as SQLite numbers them. */
export interface ParameterSlot {
  /** undefined for an anonymous `?`, which better-sqlite3 binds by position. */
  readonly name: string | undefined;
}

export interface StatementText {
  /** The statement's text, its terminating semicolon included when it had one. */
  readonly sql: string;
  /** False when the text holds only whitespace, comments and semicolons. */
  readonly hasCode: boolean;
}

export type Token =
  | { readonly kind: 'word'; readonly text: string }
  | { readonly kind: 'semicolon' }
  | { readonly kind: 'parameter'; readonly text: string }
  /** A string literal or quoted identifier, its quotes removed and doubled quotes undone. */
  | { readonly kind: 'quoted'; readonly text: string }
  /** Any other character: punctuation, operators. */
  | { readonly kind: 'other'; readonly text: string };

/**
 * The first `count` tokens of one statement, for classifying it: words upper-cased, quoted
 * tokens unquoted and upper-cased, punctuation as itself; comments and whitespace skipped.
 */
export function leadingTokens(sql: string, count: number): string[] {
  const found: string[] = [];
  for (const { token } of tokens(sql)) {
    if (found.length >= count || token.kind === 'semicolon') break;
    found.push(token.text.toUpperCase());
  }
  return found;
}

/** Splits `sql` into its statements, in order. A text without code gives no statements. */
export function splitStatements(sql: string): StatementText[] {
  const statements: StatementText[] = [];
  let start = 0;
  let words: string[] = [];
  let previousWord = '';
  let hasCode = false;
  for (const { token, end } of tokens(sql)) {
    if (token.kind === 'semicolon') {
      const inTriggerBody = isCreateTrigger(words) && previousWord !== 'END';
      if (!inTriggerBody) {
        if (hasCode) statements.push({ sql: sql.slice(start, end), hasCode });
        start = end;
        words = [];
        previousWord = '';
        hasCode = false;
        continue;
      }
      previousWord = ';';
      continue;
    }
    hasCode = true;
    if (token.kind === 'word') {
      const upper = token.text.toUpperCase();
      if (words.length < 4) words.push(upper);
      previousWord = upper;
    } else previousWord = '';
  }
  const rest = sql.slice(start);
  if (hasCode) statements.push({ sql: rest, hasCode });
  return statements;
}

/** Whether a statement's first words are [EXPLAIN [QUERY PLAN]] CREATE [TEMP] TRIGGER. */
function isCreateTrigger(words: readonly string[]): boolean {
  let position = 0;
  if (words[position] === 'EXPLAIN') position++;
  if (words[position] !== 'CREATE') return false;
  position++;
  if (words[position] === 'TEMP' || words[position] === 'TEMPORARY') position++;
  return words[position] === 'TRIGGER';
}

/**
 * The parameter slots of one statement, numbered as SQLite numbers them: `?` takes the next
 * number, `?NNN` takes NNN, and a name (`:a`, `@a`, `$a`) takes the next number the first time it
 * appears. The slot count is SQLite's sqlite3_bind_parameter_count: the largest number used.
 */
export function parameterSlots(sql: string): ParameterSlot[] {
  const slots: ParameterSlot[] = [];
  const named = new Map<string, number>();
  for (const { token } of tokens(sql)) {
    if (token.kind !== 'parameter') continue;
    const text = token.text;
    if (text === '?') {
      slots.push({ name: undefined });
    } else if (text.startsWith('?')) {
      const number = Number(text.slice(1));
      if (!named.has(text)) named.set(text, number);
      while (slots.length < number) slots.push({ name: undefined });
      slots[number - 1] = { name: text.slice(1) };
    } else if (!named.has(text)) {
      slots.push({ name: text.slice(1) });
      named.set(text, slots.length);
    }
  }
  return slots;
}

/** Yields each token with the offset just past it. Whitespace and comments are skipped. */
export function* tokens(sql: string): Generator<{ token: Token; end: number }> {
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      const newline = sql.indexOf('\n', i);
      i = newline < 0 ? n : newline + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
    } else if (c === ';') {
      i++;
      yield { token: { kind: 'semicolon' }, end: i };
    } else if (c === "'" || c === '"' || c === '`') {
      const start = i;
      i = quotedEnd(sql, i, c);
      const text = sql.slice(start + 1, sql[i - 1] === c && i - start > 1 ? i - 1 : i);
      yield { token: { kind: 'quoted', text: text.replaceAll(c + c, c) }, end: i };
    } else if (c === '[') {
      const close = sql.indexOf(']', i);
      const start = i;
      i = close < 0 ? n : close + 1;
      yield {
        token: { kind: 'quoted', text: sql.slice(start + 1, close < 0 ? n : close) },
        end: i,
      };
    } else if (c === '?') {
      let j = i + 1;
      while (j < n && /[0-9]/.test(sql[j] as string)) j++;
      yield { token: { kind: 'parameter', text: sql.slice(i, j) }, end: j };
      i = j;
    } else if ((c === ':' || c === '@' || c === '$') && isWordChar(sql[i + 1])) {
      let j = i + 1;
      while (j < n && isWordChar(sql[j])) j++;
      yield { token: { kind: 'parameter', text: sql.slice(i, j) }, end: j };
      i = j;
    } else if (isWordChar(c)) {
      let j = i + 1;
      while (j < n && isWordChar(sql[j])) j++;
      yield { token: { kind: 'word', text: sql.slice(i, j) }, end: j };
      i = j;
    } else {
      i++;
      yield { token: { kind: 'other', text: c }, end: i };
    }
  }
}

/** The offset just past a quoted token; a doubled quote inside is an escaped quote. */
function quotedEnd(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}

function isWordChar(c: string | undefined): boolean {
  return c !== undefined && (/[A-Za-z0-9_]/.test(c) || c.charCodeAt(0) > 127);
}
