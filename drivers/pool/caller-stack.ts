/**
 * A failure the node reports arrives in a socket callback, so its stack ends in Node's stream
 * internals (`TCP.onStreamRead`) and says nothing of the application call that led to it. The
 * pool's statement methods capture their caller's stack when called (cheap: V8 formats it only if
 * read) and append it to the error they raise, as Kysely's pg, mysql and mssql drivers do.
 */

/** Errors already extended, by the innermost pool method they passed through. */
const extended = new WeakSet<Error>();

/** The stack at the call site, to extend an error with if the call fails. */
export function callerStack(): { readonly stack?: string } {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, callerStack);
  return holder;
}

/** Appends the caller's frames to `error`'s stack (once per error) and returns it. */
export function withCallerStack(error: unknown, caller: { readonly stack?: string }): unknown {
  if (!(error instanceof Error) || extended.has(error)) return error;
  extended.add(error);
  const frames = caller.stack?.slice(caller.stack.indexOf('\n') + 1);
  if (frames && typeof error.stack === 'string') error.stack = `${error.stack}\n${frames}`;
  return error;
}
