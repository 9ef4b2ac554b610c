import { checkDifference, type ContentCheck } from '../fsm/content-check.js';
import type { NodeId, Server } from '../raft/index.js';
import type { NodeTls } from '../transport/index.js';
import type { Response } from '../wire/index.js';
import { requestOnce } from './cluster-client.js';
import type { NodeLogger } from './node-logger.js';
import type { ContentCheckOutcome } from './local-content-checks.js';

/** Longest the leader waits for one node's answer to a content check. */
const answerWaitMs = 15_000;

/** One node's answer to a content check. */
export interface NodeContentCheck {
  readonly id: NodeId;
  readonly address: string;
  /** What it found; undefined when it did not answer (`error` says why). */
  readonly check?: ContentCheck;
  readonly error?: string;
  /** How it differs from the majority, when it does. */
  readonly difference?: string;
}

/** The outcome of one content check across the cluster. */
export interface ContentCheckReport {
  readonly index: number;
  readonly nodes: readonly NodeContentCheck[];
  /** The nodes that answered and differ from the majority (each was told, and never leads). */
  readonly diverged: readonly NodeContentCheck[];
  /** Answers differ, but no strict majority of them agrees: nobody could be blamed. */
  readonly undecided: boolean;
}

/** How a content check this monitor ran ended. */
export type ContentCheckVerdict = 'agreed' | 'diverged' | 'undecided' | 'failed';

/** The last content check this monitor ran, for monitoring. */
export interface ContentCheckSummary {
  readonly verdict: ContentCheckVerdict;
  /** When it ended, in milliseconds since the epoch. */
  readonly atMs: number;
  /** The Raft index it checked; undefined when it failed before choosing one. */
  readonly index?: number;
  /** The diverged nodes' reasons, or why the check failed. */
  readonly details: readonly string[];
}

/** What the monitor needs of the node (ReplicatedEngine). */
export interface ContentCheckHost {
  readonly id: NodeId;
  isServing(): boolean;
  startContentCheck(): Promise<ContentCheckOutcome>;
  configuration(): { readonly servers: readonly Server[] };
  markDiverged(reason: string): Promise<void>;
}

/**
 * The leader's side of divergence detection: runs a content check (on demand, and every
 * `intervalMs` while this node leads), gathers every node's answer, and compares them. A node in
 * a strict majority's minority is told (DIVERGED) and never leads again, whoever it is; every
 * difference is reported loudly.
 */
export class ContentCheckMonitor {
  readonly #host: ContentCheckHost;
  readonly #tls: NodeTls | undefined;
  readonly #log: NodeLogger;
  readonly #timer: NodeJS.Timeout | undefined;
  #running: Promise<ContentCheckReport> | undefined;
  #last: ContentCheckSummary | undefined;
  /** Checks run by this monitor, by verdict. Invariant: each only grows. */
  readonly #verdicts: Record<ContentCheckVerdict, number> = {
    agreed: 0,
    diverged: 0,
    undecided: 0,
    failed: 0,
  };

  constructor(options: {
    readonly host: ContentCheckHost;
    /** 0: no periodic check (`run` still works). */
    readonly intervalMs: number;
    readonly tls?: NodeTls;
    readonly logger: NodeLogger;
  }) {
    this.#host = options.host;
    this.#tls = options.tls;
    this.#log = options.logger;
    if (options.intervalMs > 0) {
      this.#timer = setInterval(() => this.#periodic(), options.intervalMs);
      this.#timer.unref();
    }
  }

  /** Runs a content check now (one at a time: a call during a run gets that run's report). */
  run(): Promise<ContentCheckReport> {
    this.#running ??= this.#check()
      .then(
        (report) => {
          this.#record(verdictOf(report), report.index, report.diverged.map(describeNode));
          return report;
        },
        (error: Error) => {
          this.#record('failed', undefined, [error.message]);
          throw error;
        },
      )
      .finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** The last check this monitor ran (this node led it), or undefined. */
  get last(): ContentCheckSummary | undefined {
    return this.#last;
  }

  /** How many checks this monitor ran, by verdict. */
  get verdicts(): Readonly<Record<ContentCheckVerdict, number>> {
    return this.#verdicts;
  }

  #record(verdict: ContentCheckVerdict, index: number | undefined, details: string[]): void {
    this.#verdicts[verdict] += 1;
    this.#last = { verdict, atMs: Date.now(), details, ...(index === undefined ? {} : { index }) };
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #periodic(): void {
    if (!this.#host.isServing()) return;
    this.run().catch((error: Error) => {
      this.#log.warn({ problem: error.message }, 'content check failed');
    });
  }

  async #check(): Promise<ContentCheckReport> {
    const own = await this.#host.startContentCheck();
    if (!own.ok) throw new Error(own.message);
    const index = own.check.index;
    const answers = await Promise.all(
      this.#host
        .configuration()
        .servers.map((server) =>
          server.id === this.#host.id
            ? { id: server.id, address: server.address, check: own.check }
            : this.#ask(server, index),
        ),
    );
    const majority = majorityOf(answers);
    const nodes = answers.map((answer): NodeContentCheck => {
      if (majority === undefined || answer.check === undefined) return answer;
      const difference = checkDifference(majority, answer.check);
      return difference === undefined ? answer : { ...answer, difference };
    });
    const diverged = nodes.filter((node) => node.difference !== undefined);
    const distinct = new Set(answers.flatMap((a) => (a.check ? [keyOf(a.check)] : [])));
    const undecided = majority === undefined && distinct.size > 1;
    if (undecided) {
      this.#log.error({ index }, 'content check: the nodes differ and no majority agrees');
    }
    for (const node of diverged) {
      const reason = `node ${node.id.toString(16)} (${node.address}): ${node.difference}`;
      // This node's own divergence is logged once, where it is recorded (markDiverged).
      if (node.id !== this.#host.id) {
        this.#log.error({ index, reason }, `divergence found: DIVERGED ${reason}`);
      }
      await this.#tell(node, index, reason);
    }
    return { index, nodes, diverged, undecided };
  }

  /** Asks `server` what it found at `index`. */
  async #ask(server: Server, index: number): Promise<NodeContentCheck> {
    const base = { id: server.id, address: server.address };
    try {
      const answer = await requestOnce(
        server.address,
        { type: 'CHECK', index: BigInt(index) },
        answerWaitMs,
        this.#tls,
      );
      return { ...base, ...checkOf(answer, index) };
    } catch (error) {
      return { ...base, error: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Tells a diverged node so (itself included); a node that cannot be told is reported. */
  async #tell(node: NodeContentCheck, index: number, reason: string): Promise<void> {
    if (node.id === this.#host.id) {
      await this.#host.markDiverged(`content check at index ${index}: ${reason}`);
      return;
    }
    try {
      await requestOnce(
        node.address,
        { type: 'DIVERGED', index: BigInt(index), reason },
        answerWaitMs,
        this.#tls,
      );
    } catch (error) {
      const problem = (error as Error).message;
      this.#log.warn({ problem }, `could not tell ${node.address} it diverged`);
    }
  }
}

function verdictOf(report: ContentCheckReport): ContentCheckVerdict {
  if (report.diverged.length > 0) return 'diverged';
  return report.undecided ? 'undecided' : 'agreed';
}

function describeNode(node: NodeContentCheck): string {
  return `node ${node.id.toString(16)} (${node.address}): ${node.difference ?? 'differs'}`;
}

function checkOf(answer: Response, index: number): { check: ContentCheck } | { error: string } {
  if (answer.type === 'FAILURE') return { error: answer.message };
  if (answer.type !== 'CHECKSUMS') return { error: `unexpected ${answer.type} answer` };
  const databases = answer.databases.map((digest) => ({
    name: digest.name,
    pages: Number(digest.pages),
    hash: digest.hash,
  }));
  return { check: { index, databases } };
}

/** The check a strict majority of the answering nodes agree on, or undefined. */
function majorityOf(answers: readonly NodeContentCheck[]): ContentCheck | undefined {
  const groups = new Map<string, { check: ContentCheck; count: number }>();
  let answered = 0;
  for (const answer of answers) {
    if (answer.check === undefined) continue;
    answered += 1;
    const key = keyOf(answer.check);
    const group = groups.get(key) ?? { check: answer.check, count: 0 };
    group.count += 1;
    groups.set(key, group);
  }
  for (const group of groups.values()) if (group.count * 2 > answered) return group.check;
  return undefined;
}

function keyOf(check: ContentCheck): string {
  return check.databases.map((digest) => `${digest.name}:${digest.pages}:${digest.hash}`).join();
}
