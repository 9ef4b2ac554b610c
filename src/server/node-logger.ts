// The part of a logger a node calls: pino's call shape (fields, then the message) and `child`,
// so an application passes its own pino logger, or anything shaped like one. Kept as a contract
// of its own (docs/contributing.md, "Contracts apart from implementations"): the node depends on
// these few methods, not on pino's typings; `createNode` builds the default pino logger.

/** One log call: structured fields first, then a short message, as pino takes them. */
export type LogCall = (fields: Readonly<Record<string, unknown>>, message: string) => void;

/** A pino-compatible logger: six levels and `child`, whose bindings appear on every line. */
export interface NodeLogger {
  readonly trace: LogCall;
  readonly debug: LogCall;
  readonly info: LogCall;
  readonly warn: LogCall;
  readonly error: LogCall;
  readonly fatal: LogCall;
  child(bindings: Readonly<Record<string, unknown>>): NodeLogger;
}

const ignore: LogCall = () => {};

/** Logs nothing: for engines started without a logger (tests, the simulator). */
export const silentLogger: NodeLogger = {
  trace: ignore,
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
  fatal: ignore,
  child: () => silentLogger,
};

/** The fields every line of one node carries: its id as the CLI prints it, and its address. */
export function nodeBindings(id: number, address: string): Record<string, string> {
  return { node: id.toString(16), address };
}
