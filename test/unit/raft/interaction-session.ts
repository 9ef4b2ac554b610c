import { AssertionError } from '../../../src/raft/assert.js';
import { CommandArguments, ScriptError } from './datadriven.js';
import {
  add,
  assign,
  campaign,
  cut,
  deliver,
  deliverAll,
  drop,
  heal,
  isolate,
  propose,
  proposeAll,
  read,
  remove,
  startCluster,
  tick,
  transfer,
} from './interaction-commands.js';
import type { InteractionCluster } from './interaction-cluster.js';
import {
  crash,
  logOf,
  queue,
  recover,
  restart,
  snapshotNow,
  status,
  sync,
} from './interaction-node-commands.js';

type Handler = (session: InteractionSession, args: CommandArguments, out: string[]) => void;

const handlers: Record<string, Handler | undefined> = {
  cluster: startCluster,
  tick,
  campaign,
  deliver,
  'deliver-all': deliverAll,
  drop,
  cut,
  isolate,
  heal,
  propose,
  'propose-all': proposeAll,
  add,
  assign,
  remove,
  transfer,
  read,
  crash,
  restart,
  'snapshot-now': snapshotNow,
  sync,
  recover,
  status,
  log: logOf,
  queue,
};

/**
 * Runs the commands of one interaction script against one `InteractionCluster` and returns each
 * command's output lines. Script mistakes throw `ScriptError`; anything the Raft code throws is
 * printed as `error: ...`, so it shows up as a difference from the expected output.
 */
export class InteractionSession {
  #cluster: InteractionCluster | undefined;

  run(line: string, lineNumber: number): string[] {
    const args: CommandArguments = new CommandArguments(line, lineNumber);
    const handler = handlers[args.name];
    if (handler === undefined) args.fail('unknown command');
    const out: string[] = [];
    try {
      handler(this, args, out);
      args.finish();
    } catch (error) {
      if (error instanceof ScriptError) throw error;
      const name = error instanceof AssertionError ? 'AssertionError' : (error as Error).name;
      out.push(`error: ${name}: ${(error as Error).message}`);
      if (this.#cluster !== undefined) out.push(...this.#cluster.render());
    }
    return out.length > 0 ? out : ['(nothing)'];
  }

  get cluster(): InteractionCluster {
    if (this.#cluster === undefined) throw new Error('no cluster yet: start with "cluster"');
    return this.#cluster;
  }

  set cluster(cluster: InteractionCluster) {
    this.#cluster = cluster;
  }
}
