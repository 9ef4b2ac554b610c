// A strict reader of Prometheus' text exposition format (version 0.0.4), for the metrics tests:
// every line is a HELP, a TYPE or a sample of a family declared before it, and every sample value
// is a number. It returns the samples by family so a test can check values.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly samples: Sample[];
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/y;
const suffixes: Readonly<Record<string, readonly string[]>> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count', ''],
  counter: ['', '_total'],
  gauge: [''],
  untyped: [''],
};

/** Parses `text`; throws an Error naming the line that breaks the format. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const helps = new Map<string, string>();
  const lines = text.split('\n');
  lines.forEach((line, number) => {
    const fail = (why: string) => {
      throw new Error(`line ${number + 1} "${line}": ${why}`);
    };
    if (line === '') return;
    if (line.startsWith('# HELP ')) {
      const [name, ...help] = line.slice(7).split(' ');
      if (!metricName.test(name ?? '')) fail('bad metric name');
      helps.set(name as string, help.join(' '));
      return;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      if (!metricName.test(name ?? '')) fail('bad metric name');
      if (type === undefined || !(type in suffixes)) fail(`unknown type ${type}`);
      if (families.has(name as string)) fail('family declared twice');
      families.set(name as string, {
        name: name as string,
        type: type as string,
        help: helps.get(name as string) ?? '',
        samples: [],
      });
      return;
    }
    if (line.startsWith('#')) return;
    const match = sampleLine.exec(line);
    if (match === null) return fail('not a sample');
    const name = match[1] as string;
    const family = [...families.values()].find((candidate) =>
      (suffixes[candidate.type] ?? []).some((suffix) => candidate.name + suffix === name),
    );
    if (family === undefined) return fail('sample of no declared family');
    const value = sampleValue(match[4] as string);
    if (value === undefined) return fail('value is not a number');
    const labels: Record<string, string> = {};
    const body = match[3] ?? '';
    labelPair.lastIndex = 0;
    while (labelPair.lastIndex < body.length) {
      const pair = labelPair.exec(body);
      if (pair === null) return fail('bad labels');
      labels[pair[1] as string] = pair[2] as string;
    }
    family.samples.push({ name, labels, value });
  });
  return families;
}

/**
 * A sample value as Prometheus reads it (Go's strconv.ParseFloat): a decimal or exponent number,
 * or NaN and ±Inf in any letter case (prom-client writes "Nan" for an empty event loop histogram).
 */
function sampleValue(text: string): number | undefined {
  const lower = text.toLowerCase();
  if (lower === 'nan') return NaN;
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}
