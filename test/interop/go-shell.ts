// The go-dqlite shell (`/usr/bin/dqlite`, Debian package go-dqlite 1.11.5) as an independent
// observer of a cluster: it uses go-dqlite's own connector and client, so what it reports does
// not depend on our wire code being right.
//
// Observed behaviour of `dqlite -s ADDRS DATABASE COMMAND` (1.11.5):
// * COMMAND is either a dot command (.cluster, .leader, .describe ADDR, .weight ADDR N,
//   .remove ADDR, .dump ADDR [DB], .reconfigure DIR YAML) or SQL. Anything else starting with a
//   dot is sent as SQL and fails with `near ".": syntax error`.
// * Without COMMAND it reads commands from stdin (prompt "dqlite> "), so always pass one.
// * It first finds the leader through the connector and retries forever while there is none
//   (e.g. during an election), so every call needs a timeout.
// * Tabular output separates columns with "|" and ends every row with "\n", with no header and
//   no escaping (a "|" or newline inside a value is printed as is). Values use Go's formatting:
//   NULL is "<nil>", 1.5 is "1.5", a blob x'0102' is "[1 2]". A statement with no rows prints
//   nothing. Failures exit 1 with "Error: <message>" and the usage text on stderr.
// * `-f json` only changes .cluster and .describe (SQL results stay tabular); .cluster then
//   prints ids in decimal, beyond 2^53, so JSON.parse would corrupt them. We parse tabular.

import { execFile } from 'node:child_process';

export const GO_SHELL_BINARY = '/usr/bin/dqlite';

/** Room for large SELECT results; the shell's output is buffered in memory by execFile. */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

export type GoShellRole = 'voter' | 'standby' | 'spare';

export interface GoShellClusterNode {
  id: bigint;
  address: string;
  role: GoShellRole;
}

/** Runs one shell command and resolves with its stdout; rejects on failure or timeout. */
export async function goShell(
  addresses: readonly string[],
  database: string,
  command: string,
  timeoutMs = 10_000,
  /** Where the shell runs; `.dump` writes the database's files there. */
  cwd?: string,
): Promise<string> {
  const argumentsList = ['-s', addresses.join(','), database, command];
  return new Promise((resolve, reject) => {
    // SIGKILL on timeout: the shell sits in its leader-retry loop and there is nothing to flush.
    const options = {
      timeout: timeoutMs,
      killSignal: 'SIGKILL' as const,
      maxBuffer: MAX_OUTPUT_BYTES,
      ...(cwd === undefined ? {} : { cwd }),
    };
    execFile(GO_SHELL_BINARY, argumentsList, options, (error, stdout, stderr) => {
      if (error === null) {
        resolve(stdout);
        return;
      }
      reject(new Error(describeFailure(command, addresses, timeoutMs, error, stderr)));
    });
  });
}

function describeFailure(
  command: string,
  addresses: readonly string[],
  timeoutMs: number,
  error: Error & { killed?: boolean },
  stderr: string,
): string {
  const where = `dqlite -s ${addresses.join(',')} ... ${JSON.stringify(command)}`;
  if (error.killed === true) return `${where} timed out after ${timeoutMs} ms`;
  // The shell prints "Error: <message>" followed by its usage text; only the message matters.
  const errorLine = stderr.split('\n').find((line) => line.startsWith('Error: '));
  return `${where} failed: ${errorLine ?? (stderr.trim() || error.message)}`;
}

/** The shell spells standby "stand-by"; we normalise to the protocol document's names. */
const ROLES: ReadonlyMap<string, GoShellRole> = new Map([
  ['voter', 'voter'],
  ['stand-by', 'standby'],
  ['spare', 'spare'],
]);

/**
 * Parses `.cluster` output in the tabular format: one line per node, `ID|ADDRESS|ROLE`, where ID
 * is lowercase hexadecimal without "0x" and without leading zeros (e.g. "961388141acd12d"; node
 * 1 of a go-dqlite app is always "2dc171858c3155be") and ROLE is "voter", "stand-by" or "spare"
 * (returned as 'voter', 'standby', 'spare').
 */
export function parseGoShellCluster(output: string): GoShellClusterNode[] {
  const lines = output.split('\n').filter((line) => line.trim() !== '');
  return lines.map((line) => {
    const fields = line.split('|');
    const [id = '', address = '', roleName = ''] = fields;
    const role = ROLES.get(roleName);
    if (fields.length !== 3 || !/^[0-9a-f]{1,16}$/.test(id) || address === '' || role === undefined)
      throw new Error(`unexpected .cluster line from the go shell: ${JSON.stringify(line)}`);
    return { id: BigInt(`0x${id}`), address, role };
  });
}

/** `.leader` prints the leader's address and a newline (it never prints an empty leader). */
export function parseGoShellLeader(output: string): string {
  const address = output.trim();
  if (address === '' || address.includes('\n'))
    throw new Error(`unexpected .leader output from the go shell: ${JSON.stringify(output)}`);
  return address;
}
