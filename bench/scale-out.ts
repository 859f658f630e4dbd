/**
 * `npm run bench` (part): several gateway instances on Redis and PostgreSQL (issue "outgrow one
 * machine"). One Aiven simulator (child, realtime demo scenario), 1, 2 and 4 gateway processes
 * started through the CLI, 4,000 graphql-ws subscriptions to one restore spread evenly over them.
 * Per setup: upstream listing calls per poll interval across all instances, and the delay from the
 * poll that observed a change (its updatedAt) to a client's receipt, p50/p99. "1 instance,
 * in-process" has no Redis: the difference to "1 instance, Redis" is what Redis adds.
 * Needs Redis at 127.0.0.1:6379 and PostgreSQL at 127.0.0.1:5432 (BENCH_REDIS_URL, TEST_DATABASE_URL).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createTestSchema } from '../test/support/postgres.js';
import { gatewayInstances } from '../test/support/instances.js';
import { startChild } from './ipc.js';
import { advanceToRestoreOffset } from './scenario.js';
import { fmt, percentile, sleep } from './stats.js';
import { subscribeWs } from './subscriptions.js';

const TOKEN = randomBytes(18).toString('base64url');
const REDIS_URL = process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const PROJECT = 'acme-prod';
const LISTING = `/v1/project/${PROJECT}/service`;
const POLL_MS = 1_000;
const SUBSCRIBERS = 4_000;
const WINDOW_MS = 10_000;

/** pg-orders-2's restore is in basebackup (a change every poll) from 16 s to 52 s of its run: each setup starts 17 s in, on a fresh simulator. */
const ADVANCE_MS = advanceToRestoreOffset(PROJECT, 'pg-orders', 'pg-orders-2', 17_000);

interface Row {
  setup: string;
  callsPerInterval: number;
  p50: number;
  p99: number;
  delivered: number;
  started: number;
}

async function measure(instances: number, redis: boolean): Promise<Row> {
  const sim = await startChild('./sim-process.ts', { BENCH_TOKEN: TOKEN, BENCH_SIM_ADVANCE_MS: String(ADVANCE_MS) }, 'simulator');
  const simUrl = String((sim.ready as { url: string }).url);
  const schema = redis ? await createTestSchema('bench') : undefined;
  const prefix = `bg-bench-${randomUUID().slice(0, 8)}:`;
  const set = await gatewayInstances(
    {
      sources: [{ name: 'aiven-bench', kind: 'aiven', baseUrl: simUrl, token: { env: 'AIVEN_TOKEN' }, projects: [PROJECT], poll: { activeMs: POLL_MS, idleMs: 5_000 } }],
      ...(redis ? { history: { postgres: { env: 'DATABASE_URL' }, schema: schema!.schema }, pubsub: { redis: { env: 'REDIS_URL' }, keyPrefix: prefix } } : {}),
    },
    { AIVEN_TOKEN: TOKEN, ...(schema ? { DATABASE_URL: schema.url, REDIS_URL } : {}) },
  );
  try {
    const gateways = [];
    for (let i = 0; i < instances; i++) gateways.push(await set.start());
    const id = await restoreId(gateways[0]!.url);
    const per = Math.ceil(SUBSCRIBERS / instances);
    const groups = gateways.map((g) => subscribeWs(g.url, id, per, Math.ceil(per / 100)));
    const deadline = Date.now() + 60_000;
    while (groups.some((g) => g.received.started < per) && Date.now() < deadline) await sleep(200);
    await sleep(2 * POLL_MS);
    const from = Date.now();
    for (const g of groups) for (const key of ['at', 'key', 'updated'] as const) g.received[key].length = 0;
    await sleep(WINDOW_MS);
    const to = Date.now();
    const calls = ((await sim.call('requests', { method: 'GET', prefix: LISTING, from, to })) as { at: number[] }).at.length;
    const delays: number[] = [];
    for (const g of groups) {
      g.received.at.forEach((at, i) => {
        const updated = g.received.updated[i]!;
        if (Number.isFinite(updated) && at <= to) delays.push(at - updated);
      });
    }
    await Promise.all(groups.map((g) => g.close()));
    return {
      setup: `${instances} instance${instances > 1 ? 's' : ''}, ${redis ? 'Redis + PostgreSQL' : 'in-process'}`,
      callsPerInterval: calls / (WINDOW_MS / POLL_MS),
      p50: percentile(delays, 50),
      p99: percentile(delays, 99),
      delivered: delays.length,
      started: groups.reduce((n, g) => n + g.received.started, 0),
    };
  } finally {
    await set.close();
    await sim.stop();
    await schema?.drop();
    if (redis) await dropKeys(prefix);
  }
}

async function restoreId(url: string): Promise<string> {
  const query = `query { aiven { service(project: "${PROJECT}", name: "pg-orders") { nodes { name restore { id } } } } }`; // pg-orders-2 is the node restoring
  for (let attempt = 0; attempt < 100; attempt++) {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    const body = (await response.json()) as { data?: { aiven?: { service?: { nodes?: Array<{ restore: { id: string } | null }> } } } };
    const found = body.data?.aiven?.service?.nodes?.find((n) => n.restore)?.restore?.id;
    if (found) return found;
    await sleep(500);
  }
  throw new Error('no restore in flight on pg-orders');
}

async function dropKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}

const rows: Row[] = [];
for (const [instances, redis] of [[1, false], [1, true], [2, true], [4, true]] as const) {
  rows.push(await measure(instances, redis));
  console.log(`scale-out: ${JSON.stringify(rows.at(-1))}`);
}
console.log(`\nSeveral instances: ${SUBSCRIBERS} graphql-ws subscribers to one restore, spread evenly; poll interval ${POLL_MS} ms; ${WINDOW_MS / 1000} s window`);
console.log('| setup | upstream calls / interval | delay p50 | delay p99 | events received | subscribers started |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.setup} | ${fmt(r.callsPerInterval, 2)} | ${fmt(r.p50, 0)} ms | ${fmt(r.p99, 0)} ms | ${r.delivered} | ${r.started} |`);
const local = rows[0]!;
const shared = rows[1]!;
console.log(`\nRedis adds ${fmt(shared.p50 - local.p50, 0)} ms at p50 and ${fmt(shared.p99 - local.p99, 0)} ms at p99 over in-process delivery (1 instance).`);
