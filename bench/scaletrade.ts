/**
 * ScaleTrade benchmark (standalone: `npx tsx bench/scaletrade.ts`): figures, no thresholds.
 * In one process: the ScaleTrade simulator (manual clock, test scenario: a 37 s run), a gateway on
 * 127.0.0.1 and 1,000 graphql-ws subscribers to ONE operationUpdated(id). The clock moves 1 s per
 * step; each step makes the simulator push one backup.progress event on the managed session.
 * Measured: events delivered to subscribers per second, delay from the push (advance) to each
 * subscriber's receipt (p50/p99), and upstream commands per run (all connections).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { GatewayConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { createGateway } from '../src/server.js';
import { testScenario } from '../src/sources/scaletrade/scenarios.js';
import { startScaleTradeSimulator } from '../src/sources/scaletrade/simulator.js';
import { fmt, percentile, sleep } from './stats.js';

const SUBSCRIBERS = Number(process.env['SUBSCRIBERS'] ?? 1_000);
const STEP_MS = 1_000;
const PAUSE_MS = 100;

const dir = await mkdtemp(join(tmpdir(), 'backupgraph-bench-scaletrade-'));
const sim = await startScaleTradeSimulator({ scenario: testScenario(), clock: 'manual', startAt: Date.parse('2026-07-01T12:00:00Z') });
const config: GatewayConfig = {
  listen: { host: '127.0.0.1', port: 0 },
  dataDir: dir,
  sources: [
    {
      name: 'trading',
      kind: 'scaletrade',
      url: sim.tcpUrl,
      token: sim.tokens.admin,
      poll: { activeMs: 1_000, idleMs: 10_000 },
      staleMs: 60_000,
    } as GatewayConfig['sources'][number],
  ],
  history: { path: join(dir, 'history.db'), retentionDays: 30 },
  // Tests and benchmarks drive mutations: anonymous callers are operators here, on purpose.
  auth: { keys: [], anonymousRole: 'operator' },
};
const gateway = await createGateway(config, { logger: silentLogger() });
for (let i = 0; i < 100 && (await fetch(gateway.url.replace(/graphql$/, 'ready'))).status !== 200; i++) await sleep(50);

async function gql(query: string): Promise<any> {
  const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return response.json();
}

sim.resetRequests();
const started = await gql(`mutation { startScaleTradeBackup(source: "trading") { id runId } }`);
const id: string = started.data.startScaleTradeBackup.id;

/** Push time of the step that produced each percent value (the key of an event). */
const pushedAt = new Map<string, number>();
const receipts = new Map<string, number[]>();
let events = 0;
let finished = 0;
const clients: Client[] = [];
let subscribed = 0;
await Promise.all(
  Array.from({ length: SUBSCRIBERS }, async () => {
    const client = createClient({ url: gateway.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    clients.push(client);
    await new Promise<void>((ready) => {
      let first = true;
      client.subscribe(
        { query: `subscription ($id: ID!) { operationUpdated(id: $id) { status progress { percent } } }`, variables: { id } },
        {
          next: (event: any) => {
            if (first) {
              first = false;
              subscribed += 1;
              ready();
              return;
            }
            events += 1;
            const op = event.data?.operationUpdated;
            const key = `${op?.status}:${op?.progress?.percent}`;
            const list = receipts.get(key) ?? [];
            list.push(performance.now());
            receipts.set(key, list);
          },
          error: () => ready(),
          complete: () => {
            finished += 1;
            ready();
          },
        },
      );
    });
  }),
);

const memory = process.memoryUsage().rss;
const t0 = performance.now();
let last = '';
for (let step = 0; step < 60 && finished < SUBSCRIBERS; step++) {
  const at = performance.now();
  sim.advance(STEP_MS);
  await sleep(PAUSE_MS);
  const op = (await gql(`query { node(id: "${id}") { ... on Operation { status progress { percent } } } }`)).data?.node;
  const key = `${op?.status}:${op?.progress?.percent}`;
  if (key !== last && !pushedAt.has(key)) pushedAt.set(key, at);
  last = key;
}
const elapsed = (performance.now() - t0) / 1000;
// Each state is keyed to the step that produced it (the first step after which the gateway showed it).
const delays = [...receipts].flatMap(([key, times]) => {
  const at = pushedAt.get(key);
  return at === undefined ? [] : times.map((t) => t - at);
});
const commands = sim.requests.reduce<Record<string, number>>((acc, r) => ((acc[r.command] = (acc[r.command] ?? 0) + 1), acc), {});
const total = Object.values(commands).reduce((a, b) => a + b, 0);

console.log(`ScaleTrade: ${subscribed}/${SUBSCRIBERS} graphql-ws subscribers to one operationUpdated over ${fmt(elapsed)} s (${PAUSE_MS} ms real per 1 s simulated step)`);
console.log(`  events delivered: ${events} (${fmt(events / elapsed)} events/s to subscribers), ${finished} streams completed at the end of the run`);
console.log(`  delay push → receipt: p50 ${fmt(percentile(delays, 50))} ms, p99 ${fmt(percentile(delays, 99))} ms (${delays.length} samples)`);
console.log(`  upstream commands for the run: ${total} ${JSON.stringify(commands)}`);
console.log(`  gateway process RSS with subscribers: ${fmt(memory / 1024 / 1024)} MiB`);

await Promise.allSettled(clients.map((c) => c.dispose()));
await gateway.close();
await sim.close();
await rm(dir, { recursive: true, force: true });
process.exit(0);
