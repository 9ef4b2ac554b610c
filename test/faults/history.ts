// What a fault run records: every operation a client invoked and how it ended, and every fault
// the nemesis injected, with times on one monotonic clock. Kept as a JSON file per run, so a
// failed verdict can be read and replayed into the checker.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type Outcome = 'ok' | 'fail' | 'unknown';

export interface HistoryOperation<Input, Output> {
  readonly client: number;
  readonly key: number;
  readonly input: Input;
  /** undefined while running, and for a failed or unknown one. */
  output: Output | undefined;
  outcome: Outcome | undefined;
  /** The error's class and message, for a failed or unknown one. */
  error: string | undefined;
  /** performance.now() at the call and at the answer (undefined for unknown: it may never end). */
  readonly call: number;
  return: number | undefined;
}

export interface NemesisEvent {
  readonly time: number;
  readonly fault: string;
  readonly node: string;
}

export class History<Input, Output> {
  readonly operations: HistoryOperation<Input, Output>[] = [];
  readonly nemesis: NemesisEvent[] = [];

  invoke(client: number, key: number, input: Input): HistoryOperation<Input, Output> {
    const operation: HistoryOperation<Input, Output> = {
      client,
      key,
      input,
      output: undefined,
      outcome: undefined,
      error: undefined,
      call: performance.now(),
      return: undefined,
    };
    this.operations.push(operation);
    return operation;
  }

  complete(operation: HistoryOperation<Input, Output>, output: Output): void {
    operation.output = output;
    operation.outcome = 'ok';
    operation.return = performance.now();
  }

  /** `definite`: the operation certainly had no effect (else its outcome is unknown). */
  failed(operation: HistoryOperation<Input, Output>, error: unknown, definite: boolean): void {
    operation.outcome = definite ? 'fail' : 'unknown';
    operation.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    operation.return = definite ? performance.now() : undefined;
  }

  fault(fault: string, node: string): void {
    this.nemesis.push({ time: performance.now(), fault, node });
  }

  count(outcome: Outcome): number {
    return this.operations.filter((operation) => operation.outcome === outcome).length;
  }

  /** Writes the run to a file under the system's temporary directory and returns its path. */
  save(name: string, verdict: unknown): string {
    return saveRun(name, { verdict, nemesis: this.nemesis, operations: this.operations });
  }
}

/** Writes a run's record to `$TMPDIR/dqlite-ts-faults/<name>-<time>.json`; returns the path. */
export function saveRun(name: string, record: object): string {
  const directory = path.join(os.tmpdir(), 'dqlite-ts-faults');
  fs.mkdirSync(directory, { recursive: true });
  const file = path.join(
    directory,
    `${name}-${new Date().toISOString().replaceAll(':', '-')}.json`,
  );
  fs.writeFileSync(file, `${JSON.stringify({ name, ...record }, null, 1)}\n`);
  return file;
}
