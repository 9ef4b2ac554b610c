// The list-append checker, after Elle (Kingsbury & Alvaro, 2020). Transactions append unique
// values to lists and read lists. Because lists only grow and every value is unique, the reads
// reveal each key's version order, and from it who depended on whom:
//   ww  T1 appended the value just before the one T2 appended (on some key);
//   wr  T2 read a list whose last value T1 appended;
//   rw  T1 read a list whose next value (in the version order) T2 appended: T2 overwrote
//       what T1 saw, so T1 must come first.
// A serializable history has no cycle among those edges. Cycles are named as Adya names them:
// G0 (ww only), G1c (ww and wr), G-single (exactly one rw), G2 (more rw). Also checked: every read
// of a key is a prefix of the longest (else the order itself is broken), no read sees a value of a
// failed transaction (G1a) or a transaction's state between two of its appends (G1b), and every
// acknowledged append is in the final read (lost updates).

export type MicroOp =
  | { readonly type: 'append'; readonly key: number; readonly value: number }
  | { readonly type: 'read'; readonly key: number; readonly value: readonly number[] | undefined };

export interface Transaction {
  readonly id: number;
  readonly outcome: 'ok' | 'fail' | 'unknown';
  /** For an ok transaction, reads carry what they saw; otherwise their values are unknown. */
  readonly ops: readonly MicroOp[];
}

export type AnomalyName =
  'incompatible-order' | 'G1a' | 'G1b' | 'G0' | 'G1c' | 'G-single' | 'G2' | 'lost-append';

export interface Anomaly {
  readonly name: AnomalyName;
  readonly description: string;
}

export interface ListAppendVerdict {
  readonly valid: boolean;
  readonly anomalies: readonly Anomaly[];
  readonly transactions: number;
}

type Edge = 'ww' | 'wr' | 'rw';

/**
 * Checks a history. `finalRead` (the lists after every fault healed, read in one transaction)
 * also serves as the longest known order of each key.
 */
export function checkListAppend(
  transactions: readonly Transaction[],
  finalRead?: ReadonlyMap<number, readonly number[]>,
): ListAppendVerdict {
  const anomalies: Anomaly[] = [];
  const writer = new Map<string, Transaction>(); // "key:value" -> appender
  const appends = new Map<number, Map<number, number[]>>(); // txn -> key -> its values, in order
  for (const txn of transactions) {
    for (const op of txn.ops) {
      if (op.type !== 'append') continue;
      writer.set(`${op.key}:${op.value}`, txn);
      let byKey = appends.get(txn.id);
      if (byKey === undefined) appends.set(txn.id, (byKey = new Map()));
      const values = byKey.get(op.key) ?? [];
      values.push(op.value);
      byKey.set(op.key, values);
    }
  }
  const ok = transactions.filter((txn) => txn.outcome === 'ok');
  // The version order per key: the longest read, which every other read must be a prefix of.
  const orders = new Map<number, readonly number[]>();
  const consider = (key: number, list: readonly number[], who: string) => {
    const known = orders.get(key) ?? [];
    const [short, long] = list.length <= known.length ? [list, known] : [known, list];
    if (!short.every((value, i) => long[i] === value)) {
      anomalies.push({
        name: 'incompatible-order',
        description: `key ${key}: ${who} read [${list.join(',')}], not a prefix of [${known.join(',')}] or the reverse`,
      });
      return;
    }
    orders.set(key, long);
  };
  for (const [key, list] of finalRead ?? []) consider(key, list, 'the final read');
  for (const txn of ok) {
    for (const op of txn.ops) {
      if (op.type === 'read' && op.value !== undefined) consider(op.key, op.value, `T${txn.id}`);
    }
  }
  // G1a and G1b: what reads saw must come from committed, whole transactions.
  for (const txn of ok) {
    for (const op of txn.ops) {
      if (op.type !== 'read' || op.value === undefined || op.value.length === 0) continue;
      for (const value of op.value) {
        const appender = writer.get(`${op.key}:${value}`);
        if (appender?.outcome === 'fail') {
          anomalies.push({
            name: 'G1a',
            description: `T${txn.id} read ${value} on key ${op.key}, appended by failed T${appender.id}`,
          });
        }
      }
      const last = op.value[op.value.length - 1] as number;
      const appender = writer.get(`${op.key}:${last}`);
      if (appender === undefined || appender.id === txn.id) continue;
      const mine = appends.get(appender.id)?.get(op.key) ?? [];
      if (mine.at(-1) !== last) {
        anomalies.push({
          name: 'G1b',
          description: `T${txn.id} read key ${op.key} ending at ${last}, between two appends of T${appender.id}`,
        });
      }
    }
  }
  // Lost appends: acknowledged, yet missing from the final read.
  if (finalRead !== undefined) {
    for (const txn of ok) {
      for (const op of txn.ops) {
        if (op.type !== 'append') continue;
        if (!(finalRead.get(op.key) ?? []).includes(op.value)) {
          anomalies.push({
            name: 'lost-append',
            description: `T${txn.id}'s acknowledged append of ${op.value} to key ${op.key} is not in the final read`,
          });
        }
      }
    }
  }
  const graph = dependencyGraph(ok, orders, writer);
  anomalies.push(...cycleAnomalies(graph));
  return { valid: anomalies.length === 0, anomalies, transactions: transactions.length };
}

type Graph = Map<number, Map<number, Set<Edge>>>;

function addEdge(graph: Graph, from: number, to: number, edge: Edge): void {
  if (from === to) return;
  let targets = graph.get(from);
  if (targets === undefined) graph.set(from, (targets = new Map()));
  let kinds = targets.get(to);
  if (kinds === undefined) targets.set(to, (kinds = new Set()));
  kinds.add(edge);
}

/** ww, wr and rw edges between committed transactions (unknown ones that were seen count too). */
function dependencyGraph(
  ok: readonly Transaction[],
  orders: ReadonlyMap<number, readonly number[]>,
  writer: ReadonlyMap<string, Transaction>,
): Graph {
  const graph: Graph = new Map();
  for (const [key, order] of orders) {
    for (let i = 1; i < order.length; i++) {
      const before = writer.get(`${key}:${order[i - 1]}`);
      const after = writer.get(`${key}:${order[i]}`);
      if (before !== undefined && after !== undefined) addEdge(graph, before.id, after.id, 'ww');
    }
  }
  for (const txn of ok) {
    for (const op of txn.ops) {
      if (op.type !== 'read' || op.value === undefined) continue;
      const order = orders.get(op.key) ?? [];
      const last = op.value.at(-1);
      if (last !== undefined) {
        const appender = writer.get(`${op.key}:${last}`);
        if (appender !== undefined) addEdge(graph, appender.id, txn.id, 'wr');
      }
      const next = order[op.value.length];
      if (next !== undefined) {
        const overwriter = writer.get(`${op.key}:${next}`);
        if (overwriter !== undefined) addEdge(graph, txn.id, overwriter.id, 'rw');
      }
    }
  }
  return graph;
}

/** Cycles, named by the weakest set of edge kinds that closes one. */
function cycleAnomalies(graph: Graph): Anomaly[] {
  const anomalies: Anomaly[] = [];
  const only = (kinds: readonly Edge[]) => (edges: ReadonlySet<Edge>) =>
    kinds.some((kind) => edges.has(kind));
  const g0 = stronglyConnected(graph, only(['ww']));
  for (const component of g0)
    anomalies.push({ name: 'G0', description: `write cycle among ${names(component)}` });
  const g1c = stronglyConnected(graph, only(['ww', 'wr'])).filter(
    (c) => !g0.some((d) => sameSet(c, d)),
  );
  for (const component of g1c)
    anomalies.push({
      name: 'G1c',
      description: `circular information flow among ${names(component)}`,
    });
  const explained = [...g0, ...g1c];
  for (const component of stronglyConnected(graph, () => true)) {
    if (explained.some((known) => sameSet(known, component))) continue;
    anomalies.push(
      singleAntiDependency(graph, component)
        ? {
            name: 'G-single',
            description: `a cycle with one anti-dependency among ${names(component)}`,
          }
        : { name: 'G2', description: `a cycle of anti-dependencies among ${names(component)}` },
    );
  }
  return anomalies;
}

/** Whether some rw edge a→b inside the component closes a cycle back to a over ww/wr edges. */
function singleAntiDependency(graph: Graph, component: ReadonlySet<number>): boolean {
  for (const from of component) {
    for (const [to, kinds] of graph.get(from) ?? []) {
      if (!kinds.has('rw') || !component.has(to)) continue;
      // Breadth-first from `to` back to `from` over ww and wr edges.
      const seen = new Set([to]);
      const queue = [to];
      while (queue.length > 0) {
        const node = queue.shift() as number;
        if (node === from) return true;
        for (const [next, edges] of graph.get(node) ?? []) {
          if (!component.has(next) || seen.has(next)) continue;
          if (!edges.has('ww') && !edges.has('wr')) continue;
          seen.add(next);
          queue.push(next);
        }
      }
    }
  }
  return false;
}

/** Tarjan's strongly connected components of more than one node, over edges `keep` accepts. */
function stronglyConnected(
  graph: Graph,
  keep: (edges: ReadonlySet<Edge>) => boolean,
): Set<number>[] {
  const index = new Map<number, number>();
  const low = new Map<number, number>();
  const onStack = new Set<number>();
  const stack: number[] = [];
  const components: Set<number>[] = [];
  let counter = 0;
  const nodes = new Set<number>(graph.keys());
  for (const targets of graph.values()) for (const to of targets.keys()) nodes.add(to);
  // Iterative, so a long chain of transactions cannot overflow the call stack.
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: { node: number; edges: Iterator<[number, Set<Edge>]> }[] = [];
    const enter = (node: number) => {
      index.set(node, counter);
      low.set(node, counter);
      counter++;
      stack.push(node);
      onStack.add(node);
      work.push({ node, edges: (graph.get(node) ?? new Map<number, Set<Edge>>()).entries() });
    };
    enter(root);
    while (work.length > 0) {
      const frame = work[work.length - 1] as (typeof work)[number];
      const step = frame.edges.next();
      if (step.done !== true) {
        const [to, kinds] = step.value;
        if (!keep(kinds)) continue;
        if (!index.has(to)) enter(to);
        else if (onStack.has(to))
          low.set(frame.node, Math.min(low.get(frame.node) as number, index.get(to) as number));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined)
        low.set(
          parent.node,
          Math.min(low.get(parent.node) as number, low.get(frame.node) as number),
        );
      if (low.get(frame.node) === index.get(frame.node)) {
        const component = new Set<number>();
        for (;;) {
          const node = stack.pop() as number;
          onStack.delete(node);
          component.add(node);
          if (node === frame.node) break;
        }
        if (component.size > 1) components.push(component);
      }
    }
  }
  return components;
}

function sameSet(a: ReadonlySet<number>, b: ReadonlySet<number>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

function names(component: ReadonlySet<number>): string {
  return [...component]
    .sort((a, b) => a - b)
    .map((id) => `T${id}`)
    .join(', ');
}
