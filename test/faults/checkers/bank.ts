// The bank checker: transfers move money between accounts inside transactions; every read of all
// balances, at any time, must sum to the same total, and (as the workload only transfers what an
// account holds) show no negative balance. A read that breaks either saw a transaction's effects
// partly, or lost or doubled one.

export interface BankRead {
  readonly client: number;
  readonly time: number;
  /** Balance per account, as one snapshot read inside one transaction. */
  readonly balances: Readonly<Record<string, number>>;
}

export interface BankVerdict {
  readonly valid: boolean;
  readonly reads: number;
  /** The reads whose total or balances were wrong, with what was wrong. */
  readonly anomalies: readonly { readonly read: BankRead; readonly problem: string }[];
}

export function checkBank(
  reads: readonly BankRead[],
  total: number,
  accounts: number,
): BankVerdict {
  const anomalies: { read: BankRead; problem: string }[] = [];
  for (const read of reads) {
    const values = Object.values(read.balances);
    const sum = values.reduce((a, b) => a + b, 0);
    if (values.length !== accounts) {
      anomalies.push({ read, problem: `${values.length} accounts instead of ${accounts}` });
    } else if (sum !== total) {
      anomalies.push({ read, problem: `total ${sum} instead of ${total}` });
    } else if (values.some((value) => value < 0)) {
      anomalies.push({ read, problem: 'a negative balance' });
    }
  }
  return { valid: anomalies.length === 0, reads: reads.length, anomalies };
}
