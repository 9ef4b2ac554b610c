import { describe, expect, it } from 'vitest';
import { NodeMetrics } from '../../../src/http/node-metrics.js';
import { parsePrometheusText } from './prometheus-text.js';

describe('NodeMetrics', () => {
  it("adds the process's metrics, collected once per process, to every node's scrape", async () => {
    const scrapes = await Promise.all(
      [new NodeMetrics(), new NodeMetrics(), new NodeMetrics()].map((metrics) => metrics.scrape()),
    );
    for (const { text } of scrapes) {
      const families = parsePrometheusText(text); // strict: a family declared twice throws
      const memory = families.get('dqlite_ts_process_resident_memory_bytes')?.samples[0]?.value;
      expect(memory).toBeGreaterThan(0);
      expect(families.has('dqlite_ts_nodejs_eventloop_lag_p99_seconds')).toBe(true);
      expect(families.has('dqlite_ts_request_duration_seconds')).toBe(true);
    }
  });
});
