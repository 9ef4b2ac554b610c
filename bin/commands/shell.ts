import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import {
  classifyStatement,
  connect,
  ConnectionError,
  DqliteError,
  LeadershipLostError,
  NoLeaderError,
  NotLeaderError,
  splitStatements,
} from '../../index.js';
import type { DqliteClient, QueryResult } from '../../index.js';
import { formatNodeId, parseNodeId } from './node-id.js';
import { TLS_ARGUMENTS, TLS_USAGE, tlsFromFiles } from './tls-files.js';
import { UsageError } from './usage-error.js';

export const SHELL_USAGE = `dqlite-ts shell --cluster HOST:PORT[,...] [--format table|json]
                 ${TLS_USAGE} DATABASE [SQL]
  An SQL shell on the cluster's leader, which it follows when leadership moves. With SQL it runs
  every statement of it and exits; otherwise it reads statements (ending with ;) and
  dot-commands: .cluster .leader .describe .weight N .remove ID .transfer [ID] .dump [DIR]
  .format table|json .help .quit. Node ids print in hexadecimal; ID may be that or the decimal
  id. The exit status is 1 when any statement failed. The --tls-* flags (PEM files, all three or
  none) connect over mutual TLS.`;

type Format = 'table' | 'json';

/** What the shell keeps between lines: the connection to the leader and how it went so far. */
interface Shell {
  format: Format;
  client: DqliteClient;
  /** Opens a connection to the current leader (the cluster is asked again). */
  readonly connectLeader: () => Promise<DqliteClient>;
  /** Inside BEGIN … COMMIT typed by the user: a leader change then loses the transaction. */
  inTransaction: boolean;
  failures: number;
}

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
  const format = parseFormat(values.format);
  const tls = tlsFromFiles(values);
  const cluster = values.cluster.split(',');
  const connectLeader = () => connect({ cluster, database, tls });
  const shell: Shell = {
    format,
    client: await connectLeader(),
    connectLeader,
    inTransaction: false,
    failures: 0,
  };
  try {
    if (sql !== undefined) await runLine(shell, sql);
    else await interactive(shell, database);
    // Like a script run by sqlite3: the exit status says whether every statement succeeded.
    return shell.failures === 0 ? 0 : 1;
  } finally {
    await shell.client.close();
  }
}

async function interactive(shell: Shell, database: string) {
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
      if (text !== '') await runLine(shell, text);
    } else pending = text;
    prompt();
    input.prompt();
  }
  input.close();
}

/** Runs a dot-command, or every statement of the text in turn, printing each outcome. */
async function runLine(shell: Shell, text: string): Promise<void> {
  const statements = text.startsWith('.') ? [text] : splitStatements(text).map((part) => part.sql);
  for (const statement of statements) {
    try {
      if (statement.startsWith('.')) await dotCommand(shell, statement);
      else await runSql(shell, statement);
    } catch (error) {
      if (!isReported(error)) throw error;
      shell.failures++;
      console.error(`error: ${(error as Error).message}`);
    }
  }
}

function isReported(error: unknown): boolean {
  return (
    error instanceof DqliteError ||
    error instanceof UsageError ||
    error instanceof ConnectionError ||
    error instanceof NoLeaderError
  );
}

/**
 * Runs `work` on the leader, following it as the pool does: a statement the old leader refused
 * before running it (NOT_LEADER, or a connection that died before the request left) runs again
 * on the new leader; one that may have run is reported, its outcome unknown. Inside a
 * transaction the user opened, nothing is run again: the transaction died with its leader.
 */
async function onLeader<T>(shell: Shell, work: (client: DqliteClient) => Promise<T>): Promise<T> {
  try {
    return await work(shell.client);
  } catch (error) {
    const refused =
      error instanceof NotLeaderError || (error instanceof ConnectionError && !error.requestSent);
    const mayHaveRun = error instanceof LeadershipLostError || error instanceof ConnectionError;
    if (!refused && !mayHaveRun) throw error;
    await reconnect(shell);
    if (shell.inTransaction) {
      shell.inTransaction = false;
      throw new UsageError(
        `the leader changed inside the transaction, which was rolled back (${(error as Error).message}); connected to the new leader ${shell.client.address}`,
      );
    }
    if (refused) return await work(shell.client);
    throw new UsageError(
      `the leader changed while the statement ran: whether it took effect is unknown (${(error as Error).message})`,
    );
  }
}

async function reconnect(shell: Shell): Promise<void> {
  await shell.client.close().catch(() => undefined);
  shell.client = await shell.connectLeader();
}

async function runSql(shell: Shell, sql: string): Promise<void> {
  const { control } = classifyStatement(sql);
  const result = await onLeader(shell, (client) => statementResult(client, sql));
  if (control.kind === 'begin' || control.kind === 'savepoint') shell.inTransaction = true;
  if (control.kind === 'commit' || control.kind === 'rollback') shell.inTransaction = false;
  print(result, shell.format);
}

/**
 * The statement's rows, or its counts when it returns none. The package's classifier picks the
 * request; a statement it reads as returning rows that has none (a PRAGMA like `optimize`) is
 * answered with "not an error" and nothing run, and then goes as EXEC.
 */
async function statementResult(
  client: DqliteClient,
  sql: string,
): Promise<{ columns: readonly string[]; rows: readonly (readonly unknown[])[] }> {
  const counts = async () => {
    const outcome = await client.exec(sql);
    return {
      columns: ['rows_affected', 'last_insert_id'],
      rows: [[outcome.rowsAffected, outcome.lastInsertId]],
    };
  };
  if (classifyStatement(sql).shape === 'write') return counts();
  let result: QueryResult;
  try {
    result = await client.query(sql);
  } catch (error) {
    if (
      !(error instanceof DqliteError) ||
      error.errno !== 1 ||
      !/not an error/.test(error.message)
    ) {
      throw error;
    }
    return counts();
  }
  return result;
}

async function dotCommand(shell: Shell, text: string) {
  const [command, ...args] = text.split(/\s+/);
  const print_ = (result: { columns: readonly string[]; rows: readonly (readonly unknown[])[] }) =>
    print(result, shell.format);
  const memberIds = async () =>
    (await onLeader(shell, (client) => client.cluster())).map((node) => node.id);
  switch (command) {
    case '.cluster': {
      const nodes = await onLeader(shell, (client) => client.cluster());
      const rows = nodes.map((node) => [formatNodeId(node.id), node.address, node.role]);
      return print_({ columns: ['id', 'address', 'role'], rows });
    }
    case '.leader': {
      const leader = await onLeader(shell, (client) => client.leader());
      return print_({
        columns: ['id', 'address'],
        rows: leader ? [[formatNodeId(leader.id), leader.address]] : [],
      });
    }
    case '.describe': {
      const { failureDomain, weight } = await shell.client.describe();
      return print_({
        columns: ['address', 'failure_domain', 'weight'],
        rows: [[shell.client.address, failureDomain, weight]],
      });
    }
    case '.weight':
      await shell.client.weight(BigInt(required(args[0], 'a weight')));
      return;
    case '.remove': {
      const id = parseNodeId(required(args[0], 'a node id'), await memberIds());
      await onLeader(shell, (client) => client.remove(id));
      return;
    }
    case '.transfer': {
      const id = args[0] === undefined ? 0n : parseNodeId(args[0], await memberIds());
      await onLeader(shell, (client) => client.transfer(id));
      // This node no longer leads: the next line goes to the new leader.
      await reconnect(shell);
      console.log(`leader: ${shell.client.address}`);
      return;
    }
    case '.dump': {
      const files = await onLeader(shell, (client) => client.dump());
      if (args[0] !== undefined) {
        fs.mkdirSync(args[0], { recursive: true });
        for (const file of files) fs.writeFileSync(path.join(args[0], file.name), file.data);
      }
      const rows = files.map((file) => [file.name, file.data.length]);
      return print_({ columns: ['file', 'bytes'], rows });
    }
    case '.format':
      shell.format = parseFormat(args[0]);
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
