import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { connect, DqliteError } from '../../index.js';
import type { DqliteClient, QueryResult } from '../../index.js';
import { TLS_ARGUMENTS, TLS_USAGE, tlsFromFiles } from './tls-files.js';
import { UsageError } from './usage-error.js';

export const SHELL_USAGE = `dqlite-ts shell --cluster HOST:PORT[,...] [--format table|json]
                 ${TLS_USAGE} DATABASE [SQL]
  An SQL shell on the cluster's leader. With SQL it runs it and exits; otherwise it reads
  statements (ending with ;) and dot-commands: .cluster .leader .describe .weight N .remove ID
  .transfer [ID] .dump [DIR] .format table|json .help .quit. The --tls-* flags (PEM files, all
  three or none) connect over mutual TLS.`;

type Format = 'table' | 'json';

/** `dqlite-ts shell`: one-shot or interactive SQL against any Dqlite cluster. */
export async function runShell(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      cluster: { type: 'string' },
      format: { type: 'string', default: 'table' },
      ...TLS_ARGUMENTS,
    },
  });
  const [database, sql] = positionals;
  if (values.cluster === undefined) throw new UsageError('missing --cluster');
  if (database === undefined) throw new UsageError('missing DATABASE');
  const state = { format: parseFormat(values.format) };
  const tls = tlsFromFiles(values);
  const client = await connect({ cluster: values.cluster.split(','), database, tls });
  try {
    if (sql !== undefined) return (await runLine(client, sql, state)) ? 0 : 1;
    await interactive(client, state, database);
    return 0;
  } finally {
    await client.close();
  }
}

async function interactive(client: DqliteClient, state: { format: Format }, database: string) {
  const input = readline.createInterface({ input: process.stdin, output: process.stdout });
  const prompt = () => input.setPrompt(pending === '' ? `${database}> ` : '   ...> ');
  let pending = '';
  prompt();
  input.prompt();
  for await (const line of input) {
    const text = pending === '' ? line.trim() : `${pending}\n${line}`;
    if (text === '.quit' || text === '.exit') break;
    if (text.startsWith('.') || text.trimEnd().endsWith(';') || text === '') {
      pending = '';
      if (text !== '') await runLine(client, text, state);
    } else pending = text;
    prompt();
    input.prompt();
  }
  input.close();
}

/** Runs one statement or dot-command and prints its outcome; false when it failed. */
async function runLine(client: DqliteClient, text: string, state: { format: Format }) {
  try {
    if (text.startsWith('.')) await dotCommand(client, text, state);
    else await runSql(client, text, state.format);
    return true;
  } catch (error) {
    if (!(error instanceof DqliteError) && !(error instanceof UsageError)) throw error;
    console.error(`error: ${error.message}`);
    return false;
  }
}

async function runSql(client: DqliteClient, sql: string, format: Format): Promise<void> {
  let result: QueryResult;
  try {
    result = await client.query(sql);
  } catch (error) {
    // Dqlite answers QUERY of a statement without rows with "not an error" and runs nothing.
    if (
      !(error instanceof DqliteError) ||
      error.errno !== 1 ||
      !/not an error/.test(error.message)
    ) {
      throw error;
    }
    const outcome = await client.exec(sql);
    print(
      {
        columns: ['rows_affected', 'last_insert_id'],
        rows: [[outcome.rowsAffected, outcome.lastInsertId]],
      },
      format,
    );
    return;
  }
  print(result, format);
}

async function dotCommand(client: DqliteClient, text: string, state: { format: Format }) {
  const [command, ...args] = text.split(/\s+/);
  switch (command) {
    case '.cluster': {
      const nodes = await client.cluster();
      const rows = nodes.map((node) => [node.id, node.address, node.role]);
      return print({ columns: ['id', 'address', 'role'], rows }, state.format);
    }
    case '.leader': {
      const leader = await client.leader();
      return print(
        { columns: ['id', 'address'], rows: leader ? [[leader.id, leader.address]] : [] },
        state.format,
      );
    }
    case '.describe': {
      const { failureDomain, weight } = await client.describe();
      return print(
        {
          columns: ['address', 'failure_domain', 'weight'],
          rows: [[client.address, failureDomain, weight]],
        },
        state.format,
      );
    }
    case '.weight':
      await client.weight(BigInt(required(args[0], 'a weight')));
      return;
    case '.remove':
      await client.remove(BigInt(required(args[0], 'a node id')));
      return;
    case '.transfer':
      await client.transfer(args[0] === undefined ? 0n : BigInt(args[0]));
      return;
    case '.dump': {
      const files = await client.dump();
      if (args[0] !== undefined) {
        fs.mkdirSync(args[0], { recursive: true });
        for (const file of files) fs.writeFileSync(path.join(args[0], file.name), file.data);
      }
      const rows = files.map((file) => [file.name, file.data.length]);
      return print({ columns: ['file', 'bytes'], rows }, state.format);
    }
    case '.format':
      state.format = parseFormat(args[0]);
      return;
    case '.help':
      console.log(SHELL_USAGE);
      return;
    default:
      throw new UsageError(`unknown command ${command}; try .help`);
  }
}

function print(
  result: { columns: readonly string[]; rows: readonly (readonly unknown[])[] },
  format: Format,
) {
  if (format === 'json') {
    for (const row of result.rows) {
      const object = Object.fromEntries(
        result.columns.map((column, i) => [column, jsonValue(row[i])]),
      );
      console.log(JSON.stringify(object));
    }
    return;
  }
  const cells = result.rows.map((row) => row.map((value) => textOf(value)));
  const widths = result.columns.map((column, i) =>
    Math.max(column.length, ...cells.map((row) => (row[i] ?? '').length)),
  );
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i] ?? 0))
      .join(' | ')
      .trimEnd();
  console.log(line(result.columns));
  console.log(widths.map((width) => '-'.repeat(width)).join('-+-'));
  for (const row of cells) console.log(line(row));
}

function textOf(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (value instanceof Uint8Array) return `x'${Buffer.from(value).toString('hex')}'`;
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

function jsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return `x'${Buffer.from(value).toString('hex')}'`;
  return value;
}

function parseFormat(text: string | undefined): Format {
  if (text === 'table' || text === 'json') return text;
  throw new UsageError(`--format must be table or json, got "${text}"`);
}

function required(value: string | undefined, what: string): string {
  if (value === undefined) throw new UsageError(`missing ${what}`);
  return value;
}
