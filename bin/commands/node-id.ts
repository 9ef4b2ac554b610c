import { UsageError } from './usage-error.js';

/**
 * Node ids as every command prints them: lowercase hexadecimal without a prefix, as canonical's
 * Go shell prints them too.
 */
export function formatNodeId(id: bigint): string {
  return id.toString(16);
}

/**
 * The node a typed id names. Accepted: the hexadecimal that the commands print (with or without
 * `0x`), or the decimal id. An id of digits only reads both ways, so it is matched against the
 * cluster's members; naming two different members, or none, is a UsageError.
 */
export function parseNodeId(text: string, members: readonly bigint[]): bigint {
  const typed = text.trim().toLowerCase();
  const candidates = new Set<bigint>();
  if (/^0x[0-9a-f]+$/.test(typed)) candidates.add(BigInt(typed));
  else if (/^[0-9a-f]+$/.test(typed)) {
    candidates.add(BigInt(`0x${typed}`));
    if (/^[0-9]+$/.test(typed)) candidates.add(BigInt(typed));
  } else {
    throw new UsageError(`"${text}" is not a node id (hexadecimal as printed, or decimal)`);
  }
  const found = [...candidates].filter((id) => members.includes(id));
  if (found.length === 1) return found[0] as bigint;
  const known = members.map(formatNodeId).join(', ');
  if (found.length === 0) throw new UsageError(`no node has id ${text}; members: ${known}`);
  throw new UsageError(`id ${text} names two nodes (as hexadecimal and as decimal); write 0x…`);
}
