#!/usr/bin/env node
// The dqlite-ts command line: run a node, a local demo cluster, an SQL shell, the benchmark
// against C dqlite, a backup or restore, a stopped node's disaster recovery, or one client
// command against any Dqlite cluster (dqlite-ts or the C server).

import { BACKUP_USAGE, runBackup, runRestore } from './commands/backup.js';
import { BENCH_USAGE, runBench } from './commands/bench.js';
import { CHECK_USAGE, runCheck } from './commands/check.js';
import { CLIENT_USAGE, clientCommands, runClientCommand } from './commands/client.js';
import { DEMO_USAGE, runDemo } from './commands/demo.js';
import { NODE_USAGE, runNode } from './commands/node.js';
import { RECOVER_USAGE, runRecover } from './commands/recover.js';
import { SHELL_USAGE, runShell } from './commands/shell.js';
import { UsageError } from './commands/usage-error.js';

const USAGE = `usage: dqlite-ts <command> [options]

${NODE_USAGE}

${SHELL_USAGE}

${DEMO_USAGE}

${BENCH_USAGE}

${CHECK_USAGE}

${RECOVER_USAGE}

${CLIENT_USAGE}

${BACKUP_USAGE}

dqlite-ts help   print this text`;

/** Each command's own usage, for `dqlite-ts <command> --help`. */
const commandUsage: Record<string, string> = {
  node: NODE_USAGE,
  shell: SHELL_USAGE,
  demo: DEMO_USAGE,
  check: CHECK_USAGE,
  backup: BACKUP_USAGE,
  restore: BACKUP_USAGE,
  recover: RECOVER_USAGE,
  ...Object.fromEntries(Object.keys(clientCommands).map((name) => [name, CLIENT_USAGE])),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  // `bench` has a longer help of its own; every other command prints its usage.
  const usage = name === undefined ? undefined : commandUsage[name];
  if (usage !== undefined && args.some((arg) => arg === '--help' || arg === '-h')) {
    console.log(usage);
    return 0;
  }
  switch (name) {
    case 'node':
      return runNode(args);
    case 'shell':
      return runShell(args);
    case 'demo':
      return runDemo(args);
    case 'bench':
      return runBench(args);
    case 'check':
      return runCheck(args);
    case 'backup':
      return runBackup(args);
    case 'restore':
      return runRestore(args);
    case 'recover':
      return runRecover(args);
    case undefined:
    case 'help':
    case '--help':
      console.log(USAGE);
      return 0;
    default:
      if (name in clientCommands) return runClientCommand(name, args);
      console.log(USAGE);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(error instanceof UsageError ? `${error.message}\n\n${USAGE}` : String(error));
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
