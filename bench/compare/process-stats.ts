// CPU time and peak memory of processes we started, read from /proc (Linux). A benchmark reads a
// node's counters before and after a workload; the difference is what that workload cost it.

import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime/stime; 100 on every Linux this runs on (USER_HZ). */
const TICKS_PER_SECOND = 100;

/** User plus system CPU seconds the process has used so far; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  return cpuSecondsIn(`/proc/${pid}/stat`);
}

/** The same for one thread of the process (`tid` from /proc/<pid>/task). */
export function threadCpuSeconds(pid: number, tid: number): number | undefined {
  return cpuSecondsIn(`/proc/${pid}/task/${tid}/stat`);
}

/** Times one thread of the process went to sleep of its own accord; undefined once it is gone. */
export function threadVoluntarySwitches(pid: number, tid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const match = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(text);
  return match === null ? undefined : Number(match[1]);
}

function cpuSecondsIn(statPath: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(statPath, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: count fields after its ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name, field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
  const user = Number(fields[11]);
  const system = Number(fields[12]);
  if (!Number.isFinite(user) || !Number.isFinite(system)) return undefined;
  return (user + system) / TICKS_PER_SECOND;
}

/** Peak resident set size in MiB over the process's life so far (VmHWM); undefined once gone. */
export function peakRssMiB(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(text);
  return match === null ? undefined : Number(match[1]) / 1024;
}

/** Total CPU seconds of a set of processes (those still running). */
export function totalCpuSeconds(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (cpuSeconds(pid) ?? 0), 0);
}
