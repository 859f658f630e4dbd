import { Agent, request } from 'undici';
import { percentile } from './stats.js';

/**
 * A closed-loop load generator: `concurrency` workers, each sends a request, reads the whole body,
 * and sends the next at once, over keep-alive connections (one per worker). Latencies of the warm-up
 * are dropped.
 */
export interface LoadSpec {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** Checks a response body (counted as an error when it returns false). Called on a sample only. */
  check?: (status: number, body: string) => boolean;
  /** Called when the warm-up ends (e.g. to read CPU counters). */
  onMeasureStart?: () => void;
}

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Wall-clock window of the measured part. */
  from: number;
  to: number;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const agent = new Agent({ connections: spec.concurrency, pipelining: 1, keepAliveTimeout: 30_000 });
  const latencies: number[] = [];
  let errors = 0;
  const start = Date.now();
  const measureFrom = start + spec.warmupMs;
  const end = measureFrom + spec.durationMs;
  let checked = 0;
  const startTimer = setTimeout(() => spec.onMeasureStart?.(), spec.warmupMs);
  const worker = async () => {
    while (Date.now() < end) {
      const t0 = performance.now();
      const sentAt = Date.now();
      let ok = true;
      try {
        const response = await request(spec.url, { dispatcher: agent, method: spec.method, headers: spec.headers, body: spec.body ?? null });
        const text = await response.body.text();
        if (response.statusCode !== 200) ok = false;
        else if (spec.check && checked++ % 50 === 0) ok = spec.check(response.statusCode, text);
      } catch {
        ok = false;
      }
      const elapsed = performance.now() - t0;
      if (sentAt >= measureFrom && Date.now() <= end) {
        latencies.push(elapsed);
        if (!ok) errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  clearTimeout(startTimer);
  await agent.close();
  const seconds = spec.durationMs / 1000;
  return {
    requests: latencies.length,
    errors,
    seconds,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: percentile(latencies, 100),
    from: measureFrom,
    to: end,
  };
}
