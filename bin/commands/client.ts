import { parseArgs } from 'node:util';
import { connect } from '../../index.js';
import type { DqliteClient, Parameter } from '../../index.js';
import { TLS_ARGUMENTS, TLS_USAGE, tlsFromFiles } from './tls-files.js';
import { UsageError } from './usage-error.js';

export const CLIENT_USAGE = `dqlite-ts <query|exec|leader|cluster> --cluster HOST:PORT[,...] [--database NAME]
                 ${TLS_USAGE} [args]
  query SQL [JSON_PARAMS]   run a query on the leader and print its rows as JSON lines
  exec SQL [JSON_PARAMS]    run statements on the leader and print the result
  leader                    print the leader's id and address
  cluster                   print every node: id, address, role
  JSON_PARAMS is a JSON array of positional parameters, e.g. '[1, "x", null]'. The --tls-* flags
  (PEM files, all three or none) connect over mutual TLS.`;

type Command = (client: DqliteClient, args: string[]) => Promise<void>;

export const clientCommands: Record<string, Command> = {
  query: async (client, [sql, params]) => {
    const { columns, rows } = await client.query(required(sql, 'SQL'), parseParameters(params));
    console.log(JSON.stringify(columns));
    for (const row of rows) console.log(JSON.stringify(row, jsonValue));
  },
  exec: async (client, [sql, params]) => {
    const result = await client.exec(required(sql, 'SQL'), parseParameters(params));
    console.log(JSON.stringify(result, jsonValue));
  },
  leader: async (client) => {
    const leader = await client.leader();
    console.log(leader ? `${leader.id.toString(16)} ${leader.address}` : 'no leader');
  },
  cluster: async (client) => {
    for (const node of await client.cluster())
      console.log(`${node.id.toString(16)} ${node.address} ${node.role}`);
  },
};

function required(value: string | undefined, name: string): string {
  if (value === undefined) throw new UsageError(`missing ${name}`);
  return value;
}

function parseParameters(text: string | undefined): Parameter[] | undefined {
  if (text === undefined) return undefined;
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new UsageError('JSON_PARAMS must be a JSON array');
  return parsed as Parameter[]; // the client rejects nested arrays and objects with a TypeError
}

/** JSON has no bigint or bytes: print them as decimal strings and hex. */
function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer') {
    return `x'${Buffer.from((value as { data: number[] }).data).toString('hex')}'`;
  }
  return value;
}

/** Runs one client command against any Dqlite cluster (dqlite-ts or canonical's C server). */
export async function runClientCommand(name: string, argv: string[]): Promise<number> {
  const command = clientCommands[name] as Command;
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      cluster: { type: 'string' },
      database: { type: 'string', default: 'main' },
      ...TLS_ARGUMENTS,
    },
  });
  const cluster = required(values.cluster, '--cluster').split(',');
  const tls = tlsFromFiles(values);
  const client = await connect({ cluster, database: values.database, tls });
  try {
    await command(client, positionals);
  } finally {
    await client.close();
  }
  return 0;
}
