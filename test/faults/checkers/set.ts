// The set checker: clients insert unique elements; a final read (after the faults are healed)
// must hold every insert that was acknowledged, and nothing that was never attempted. An insert
// whose outcome is unknown may be there or not.

export interface SetVerdict {
  readonly valid: boolean;
  readonly acknowledged: number;
  /** Acknowledged inserts missing from the final read: lost writes. */
  readonly lost: readonly number[];
  /** Elements in the final read nobody tried to insert. */
  readonly unexpected: readonly number[];
  /** Unknown-outcome inserts that turned out to have committed, and those that did not. */
  readonly recovered: number;
  readonly unrecovered: number;
}

export function checkSet(
  attempts: ReadonlyMap<number, 'ok' | 'fail' | 'unknown'>,
  finalRead: readonly number[],
): SetVerdict {
  const present = new Set(finalRead);
  const lost: number[] = [];
  let acknowledged = 0;
  let recovered = 0;
  let unrecovered = 0;
  for (const [element, outcome] of attempts) {
    if (outcome === 'ok') {
      acknowledged++;
      if (!present.has(element)) lost.push(element);
    } else if (outcome === 'unknown') {
      if (present.has(element)) recovered++;
      else unrecovered++;
    }
  }
  // A failed insert (certainly not applied) that is present counts as unexpected too.
  const unexpected = finalRead.filter((element) => {
    const outcome = attempts.get(element);
    return outcome === undefined || outcome === 'fail';
  });
  return {
    valid: lost.length === 0 && unexpected.length === 0,
    acknowledged,
    lost: lost.sort((a, b) => a - b),
    unexpected,
    recovered,
    unrecovered,
  };
}
