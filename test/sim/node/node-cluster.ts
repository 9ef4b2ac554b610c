import fs from 'node:fs';
import path from 'node:path';
import { bootstrapState } from '../../../src/raft/raft-bootstrap.js';
import { Role, type Configuration, type NodeId } from '../../../src/raft/types.js';
import type { ReplicatedEngine } from '../../../src/server/replicated-engine.js';
import { InvariantViolation } from '../invariant-violation.js';
import { Prng } from '../prng.js';
import { Scheduler } from '../scheduler.js';
import { SimNetwork } from '../sim-network.js';
import { Trace } from '../trace.js';
import { SimMachine } from './sim-machine.js';

export interface NodeClusterOptions {
  readonly seed: number;
  readonly voters: number;
  /** Machines started empty, outside the configuration, for membership changes to add. */
  readonly spares: number;
  /** A fresh directory; each machine's data directory is made inside it. */
  readonly directory: string;
  readonly snapshotThresholdEntries: number;
  readonly transactionEntryBytes: number;
  readonly clockDrift: number;
  readonly latencyMaxMilliseconds: number;
  readonly spikeMaxMilliseconds: number;
  readonly fsyncMaxMilliseconds: number;
  readonly tornPersistProbability: number;
  readonly engineDelayMaxMs: number;
  readonly traceCapacity: number;
  readonly echo?: (line: string) => void;
}

export const tickMilliseconds = 50;
export const electionTimeoutTicks = 6;

/** Awaits every promise continuation the last event set off (no real I/O runs in a run). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Several machines running the real node (SimMachine), one scheduler, one network. `step` runs
 * one event, lets the promise continuations it caused run, and checks the step invariants.
 */
export class NodeCluster {
  readonly scheduler = new Scheduler();
  readonly prng: Prng;
  readonly network: SimNetwork;
  readonly trace: Trace;
  readonly machines: readonly SimMachine[];
  readonly options: NodeClusterOptions;
  /** Errors that stopped a node by itself (onFatal): always a failure here, where no disk fails. */
  readonly fatal: { readonly id: NodeId; readonly error: Error }[] = [];
  /** The leader of each term seen (election safety). */
  readonly #leaders = new Map<number, NodeId>();
  steps = 0;

  constructor(options: NodeClusterOptions) {
    this.options = options;
    this.prng = new Prng(options.seed);
    this.trace = new Trace({
      capacity: options.traceCapacity,
      ...(options.echo ? { echo: options.echo } : {}),
    });
    this.network = new SimNetwork({
      scheduler: this.scheduler,
      prng: this.prng.fork('network'),
      latencyMinMilliseconds: 0,
      latencyMaxMilliseconds: options.latencyMaxMilliseconds,
      spikeMaxMilliseconds: options.spikeMaxMilliseconds,
      deliver: (message) => this.machine(message.to)?.deliver(message),
    });
    const clocks = this.prng.fork('clocks');
    const machines: SimMachine[] = [];
    for (let id = 1; id <= options.voters + options.spares; id++) {
      machines.push(
        new SimMachine({
          id,
          address: addressOf(id),
          scheduler: this.scheduler,
          prng: this.prng.fork(`machine-${id}`),
          network: this.network,
          clockRate: 1 - options.clockDrift + 2 * options.clockDrift * clocks.next(),
          dataDir: path.join(options.directory, `node-${id}`),
          raft: { tickMilliseconds, electionTimeoutTicks },
          snapshotThresholdEntries: options.snapshotThresholdEntries,
          transactionEntryBytes: options.transactionEntryBytes,
          fsyncMaxMilliseconds: options.fsyncMaxMilliseconds,
          tornPersistProbability: options.tornPersistProbability,
          engineDelayMaxMs: options.engineDelayMaxMs,
          trace: (text) => this.note(`node ${id}: ${text}`),
          onFatal: (machine, error) => {
            this.note(`node ${machine.id} stopped itself: ${error.message}`);
            this.fatal.push({ id: machine.id, error });
          },
        }),
      );
    }
    this.machines = machines;
    const voters = machines.slice(0, options.voters);
    const configuration: Configuration = {
      servers: voters.map((machine) => ({
        id: machine.id,
        address: addressOf(machine.id),
        role: Role.voter,
      })),
    };
    for (const machine of voters) machine.bootstrap(bootstrapState(configuration));
  }

  note(text: string): void {
    this.trace.add(this.scheduler.now, text);
  }

  async start(): Promise<void> {
    for (const machine of this.machines) await machine.start();
  }

  machine(id: NodeId): SimMachine | undefined {
    return this.machines[id - 1];
  }

  /** The running node that serves SQL as leader with the highest term, if any. */
  servingLeader(): ReplicatedEngine | undefined {
    let best: ReplicatedEngine | undefined;
    let bestTerm = -1;
    for (const machine of this.machines) {
      const engine = machine.running ? machine.engine : undefined;
      if (engine?.isServing() !== true) continue;
      const term = engine.status().term;
      if (term > bestTerm) {
        best = engine;
        bestTerm = term;
      }
    }
    return best;
  }

  /** The machine of `servingLeader`. */
  servingLeaderMachine(): SimMachine | undefined {
    const leader = this.servingLeader();
    return leader === undefined ? undefined : this.machine(leader.id);
  }

  /** Runs one event and what it set off; false when nothing is left to run. */
  async step(): Promise<boolean> {
    const event = this.scheduler.step();
    if (event === undefined) return false;
    await settle();
    this.steps++;
    this.#checkStep();
    return true;
  }

  /** Runs events until virtual time `until` (or `stepsMax` events). */
  async runUntil(until: number, stepsMax: number): Promise<void> {
    for (let steps = 0; steps < stepsMax; steps++) {
      const next = this.scheduler.peekTime();
      if (next === undefined || next > until) return;
      await this.step();
    }
  }

  /** Resolves after `ms` of virtual time (a client's own timer, outside every node). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.scheduler.schedule(ms, 'client timer', resolve));
  }

  /** Removes every machine's files. */
  dispose(): void {
    for (const machine of this.machines) machine.crash();
    fs.rmSync(this.options.directory, { recursive: true, force: true });
  }

  #checkStep(): void {
    const first = this.fatal[0];
    if (first !== undefined) {
      throw new InvariantViolation(
        'node stopped itself',
        `node ${first.id}: ${first.error.message}`,
      );
    }
    for (const machine of this.machines) {
      const engine = machine.running ? machine.engine : undefined;
      if (engine === undefined) continue;
      const status = engine.status();
      if (status.role !== 'leader') {
        if (engine.isServing()) {
          throw new InvariantViolation(
            'serving follower',
            `node ${machine.id} serves SQL as leader while Raft has it ${status.role} in term ${status.term}`,
          );
        }
        continue;
      }
      const known = this.#leaders.get(status.term);
      if (known !== undefined && known !== machine.id) {
        throw new InvariantViolation(
          'election safety',
          `nodes ${known} and ${machine.id} both lead term ${status.term}`,
        );
      }
      this.#leaders.set(status.term, machine.id);
    }
  }
}

export function addressOf(id: NodeId): string {
  return `127.0.0.1:${9000 + id}`;
}
