/**
 * Child process: one gateway (createGateway) on 127.0.0.1, an ephemeral port, history in a temp dir.
 * Env: BENCH_SIM_URL, BENCH_TOKEN, BENCH_SOURCE: one Aiven source on project acme-prod (the default);
 *      BENCH_GATEWAY_SOURCES: a JSON array of source configs instead (secrets resolved);
 *      BENCH_GATEWAY_LIMITS: `default` for the shipped limits, or a JSON `limits` object (the default
 *      here: 1,000 subscriptions per connection, as the benchmark multiplexes up to 500 on one socket);
 *      BENCH_GATEWAY_BUILD: `dist` to run the compiled dist/ (with the `node` runtime, see ipc.ts);
 *      BENCH_GATEWAY_RELEASE=0: no idle memory release (release-memory.ts), which the CLI starts.
 * Calls: `memory` → process.memoryUsage() after a full GC (node runs with --expose-gc); `cpu`, `rss`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayConfig } from '../src/config.js';
import type * as Logger from '../src/logger.js';
import type * as ReleaseMemory from '../src/release-memory.js';
import type * as Server from '../src/server.js';
import { serveParent } from './ipc.js';

const build = process.env['BENCH_GATEWAY_BUILD'] === 'dist' ? '../dist' : '../src';
const { silentLogger } = (await import(`${build}/logger.js`)) as typeof Logger;
const { createGateway } = (await import(`${build}/server.js`)) as typeof Server;
const { releaseMemoryWhenIdle } = (await import(`${build}/release-memory.js`)) as typeof ReleaseMemory;

const dir = await mkdtemp(join(tmpdir(), 'backupgraph-bench-'));
const sourcesJson = process.env['BENCH_GATEWAY_SOURCES'];
const limitsEnv = process.env['BENCH_GATEWAY_LIMITS'];
const config: GatewayConfig = {
  listen: { host: '127.0.0.1', port: 0 },
  dataDir: dir,
  sources: sourcesJson
    ? (JSON.parse(sourcesJson) as GatewayConfig['sources'])
    : [
        {
          name: process.env['BENCH_SOURCE'] ?? 'aiven-bench',
          kind: 'aiven',
          baseUrl: process.env['BENCH_SIM_URL'] ?? '',
          token: process.env['BENCH_TOKEN'] ?? '',
          projects: ['acme-prod'],
          poll: { activeMs: 1_000, idleMs: 5_000 },
        },
      ],
  history: { path: join(dir, 'history.db'), retentionDays: 30 },
  // Tests and benchmarks drive mutations: anonymous callers are operators here, on purpose.
  auth: { keys: [], anonymousRole: 'operator' },
  ...(limitsEnv === 'default' ? {} : { limits: limitsEnv ? JSON.parse(limitsEnv) : { subscriptionsPerConnection: 1_000 } }),
};
const gateway = await createGateway(config, { logger: silentLogger() });
// As the CLI does: give memory back once the process is idle after a burst (BENCH_GATEWAY_RELEASE=0: not).
const stopReleasing = process.env['BENCH_GATEWAY_RELEASE'] === '0' ? () => undefined : releaseMemoryWhenIdle({ logger: silentLogger() });

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

serveParent(
  {
    memory: () => {
      collect();
      return { memory: process.memoryUsage() };
    },
  },
  async () => {
    stopReleasing();
    await gateway.close();
    await rm(dir, { recursive: true, force: true });
  },
);
process.send?.({ type: 'ready', url: gateway.url, pid: process.pid });
