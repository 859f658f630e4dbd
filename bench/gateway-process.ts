/**
 * Child process: one gateway (createGateway) on 127.0.0.1, an ephemeral port, history in a temp dir.
 * Env: BENCH_SIM_URL, BENCH_TOKEN, BENCH_SOURCE.
 * Calls: `memory` → process.memoryUsage() after a full GC (node runs with --expose-gc).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { createGateway } from '../src/server.js';
import { serveParent } from './ipc.js';

const dir = await mkdtemp(join(tmpdir(), 'backupgraph-bench-'));
const config: GatewayConfig = {
  listen: { host: '127.0.0.1', port: 0 },
  dataDir: dir,
  sources: [
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
  // The benchmark multiplexes up to 500 subscriptions on one WebSocket.
  limits: { subscriptionsPerConnection: 1_000 },
};
const gateway = await createGateway(config, { logger: silentLogger() });

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
    await gateway.close();
    await rm(dir, { recursive: true, force: true });
  },
);
process.send?.({ type: 'ready', url: gateway.url, pid: process.pid });
