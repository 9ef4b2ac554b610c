// The logger `dqlite-ts node` gives its node: pino at the level of --log-level, writing JSON lines
// to stderr, or, when stderr is a terminal, one short line per record for a person to read. The
// short form is made here from pino's own JSON line, so no formatting package is needed.

import { pino, type DestinationStream, type Logger } from 'pino';
import { UsageError } from './usage-error.js';

export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

const levelNames: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** Fields every record has, shown in the line's fixed part rather than as key=value. */
const fixedFields = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'node', 'address']);

/** The value of --log-level: one of `logLevels`; default 'info'. */
export function parseLogLevel(text: string | undefined): LogLevel {
  if (text === undefined) return 'info';
  const level = logLevels.find((name) => name === text);
  if (level === undefined) {
    throw new UsageError(`--log-level must be one of ${logLevels.join(', ')}, got "${text}"`);
  }
  return level;
}

/**
 * One pino JSON line as a short line: time of day, level, node id, message, then the other
 * fields as key=value (an error's stack on the lines after). A line that is not JSON is kept.
 */
export function humanLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = typeof record.time === 'number' ? new Date(record.time).toISOString() : '';
  const level = levelNames[record.level as number] ?? String(record.level);
  const parts = [time.slice(11, 23), level.padEnd(5), `node ${String(record.node ?? '?')}`];
  parts.push(String(record.msg ?? ''));
  let stack = '';
  for (const [key, value] of Object.entries(record)) {
    if (fixedFields.has(key)) continue;
    if (key === 'err' && typeof value === 'object' && value !== null && 'stack' in value) {
      stack = `\n${String(value.stack)}`;
      continue;
    }
    parts.push(`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  return `${parts.join(' ')}${stack}\n`;
}

/** Writes each record as `humanLine` to stderr, synchronously. */
const humanStderr: DestinationStream = {
  write: (line: string) => {
    process.stderr.write(humanLine(line));
  },
};

/** The node's logger: JSON lines on stderr, or short lines when stderr is a terminal. */
export function nodeLogger(level: LogLevel, terminal = process.stderr.isTTY === true): Logger {
  const destination = terminal ? humanStderr : pino.destination({ dest: 2, sync: true });
  return pino({ level }, destination);
}
