import { createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { testScenario } from '../src/sources/aiven/scenarios.js';
import { startAivenSimulator, type AivenSimulator } from '../src/sources/aiven/simulator.js';
import { testScenario as scaleTradeScenario } from '../src/sources/scaletrade/scenarios.js';
import { startScaleTradeSimulator } from '../src/sources/scaletrade/simulator.js';
import { gatewayInstances, privateRedis, type GatewayProcess, type InstanceSet } from './support/instances.js';
import { createTestSchema } from './support/postgres.js';
import { collect, eventually, type GraphQLResponse } from './support/streams.js';

/**
 * Several gateway processes (the CLI, as deployed) on the machine's Redis and PostgreSQL, against
 * one Aiven simulator on a manual clock: one upstream loop across instances, every change to every
 * subscriber once, takeover after SIGKILL, shared history, resumed streams, and Redis outages.
 * Each test has its own Redis key prefix and its own PostgreSQL schema.
 */

const TOKEN = 'scale-out-token-9d2c41';
const SHARED_REDIS = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const SERVICE_LISTING = '/v1/project/test-project/service';
const POLL = { activeMs: 300, idleMs: 600 };

const EVENTS = `subscription ($after: String) {
  operationsChanged(filter: { sources: ["aiven-test"] }, after: $after) { eventId change operation { id status progress { percent } } }
}`;

interface Event {
  eventId: string | null;
  change: string;
  operation: { id: string; status: string; progress: { percent: number | null } };
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

interface Cluster {
  sim: AivenSimulator;
  set: InstanceSet;
  prefix: string;
  redisUrl: string;
}

async function cluster(options: { redisUrl?: string } = {}): Promise<Cluster> {
  const sim = await startAivenSimulator({ token: TOKEN, scenario: testScenario(), clock: 'manual', startAt: Date.parse('2026-07-01T12:00:00Z') });
  cleanups.push(() => sim.close());
  const schema = await createTestSchema('scaleout');
  cleanups.push(() => schema.drop());
  const prefix = `bg-test-${randomUUID().slice(0, 8)}:`;
  const redisUrl = options.redisUrl ?? SHARED_REDIS;
  cleanups.push(() => dropKeys(redisUrl, prefix));
  const set = await gatewayInstances(
    {
      sources: [{ name: 'aiven-test', kind: 'aiven', baseUrl: sim.url, token: { env: 'AIVEN_TOKEN' }, projects: ['test-project'], poll: POLL }],
      history: { postgres: { env: 'DATABASE_URL' }, schema: schema.schema },
      pubsub: { redis: { env: 'REDIS_URL' }, keyPrefix: prefix, leaseMs: 1_000 },
      auth: { keys: [], anonymousRole: 'operator' },
    },
    { AIVEN_TOKEN: TOKEN, DATABASE_URL: schema.url, REDIS_URL: redisUrl },
  );
  cleanups.push(() => set.close());
  return { sim, set, prefix, redisUrl };
}

async function dropKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null });
  redis.on('error', () => undefined); // a private Redis may be gone already: nothing to clean then
  try {
    await redis.connect();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

function wsClient(instance: GatewayProcess, connectionParams: Record<string, unknown> = {}): Client {
  const client = createClient({ url: instance.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams });
  cleanups.push(() => client.dispose() as Promise<void>);
  return client;
}

async function gql<T = any>(instance: GatewayProcess, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse<T>> {
  const response = await fetch(instance.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return (await response.json()) as GraphQLResponse<T>;
}

async function ready(instance: GatewayProcess): Promise<any> {
  return (await fetch(instance.url.replace(/\/graphql$/, '/ready'))).json();
}

/** Advances the simulator's clock in steps, letting the gateways poll in between (bounded). */
async function play(sim: AivenSimulator, totalMs: number, stepMs = 500, pauseMs = POLL.activeMs + 150): Promise<void> {
  for (let t = 0; t < totalMs; t += stepMs) {
    sim.advance(stepMs);
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

function eventsOf(events: GraphQLResponse<{ operationsChanged: Event }>[]): Event[] {
  return events.flatMap((e) => (e.data?.operationsChanged ? [e.data.operationsChanged] : []));
}

/** The instance holding the lease of the project's loop, by the instance id it shows on /ready. */
async function leaderOf(c: Cluster): Promise<GatewayProcess> {
  const redis = new Redis(c.redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const holder = await eventually(() => redis.get(`${c.prefix}lease:aiven:aiven-test:project:test-project`), 10_000, 'a lease holder');
    const instanceId = holder.split('/')[0];
    for (const instance of c.set.instances) {
      if ((await ready(instance).catch(() => null))?.redis?.instance === instanceId) return instance;
    }
    throw new Error(`no running instance holds the lease (${holder})`);
  } finally {
    redis.disconnect();
  }
}

describe('several gateway instances on Redis and PostgreSQL', () => {
  it('makes one upstream call per interval across three instances with subscribers on each', async () => {
    const c = await cluster();
    const instances = [await c.set.start(), await c.set.start(), await c.set.start()];
    const streams = instances.map((instance) => collect<{ operationsChanged: Event }>(wsClient(instance), EVENTS));
    // Every instance's subscriber has its stream (the operations in flight come first).
    await Promise.all(streams.map((s) => s.next((e) => Boolean(e.data?.operationsChanged), 20_000)));
    const before = c.sim.countRequests('GET', SERVICE_LISTING);
    const windowMs = 4_000;
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const calls = c.sim.countRequests('GET', SERVICE_LISTING) - before;
    const oneInstance = windowMs / POLL.activeMs; // restores are in flight: the active interval
    // Three independent loops would make about three times one instance's calls.
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThanOrEqual(Math.ceil(oneInstance * 1.5));
  }, 90_000);

  it('gives every subscriber on every instance every change exactly once, and the history read anywhere', async () => {
    const c = await cluster();
    const instances = [await c.set.start(), await c.set.start()];
    const streams = instances.map((instance) => collect<{ operationsChanged: Event }>(wsClient(instance), EVENTS));
    await Promise.all(streams.map((s) => s.next((e) => Boolean(e.data?.operationsChanged), 20_000)));
    await play(c.sim, 12_000);
    const finished = (s: (typeof streams)[number]) => eventsOf(s.events).filter((e) => e.change === 'FINISHED' && e.operation.id.length > 0);
    await eventually(() => streams.every((s) => finished(s).length >= 2), 30_000, 'the restores finished on every instance');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const logged = streams.map((s) => eventsOf(s.events).filter((e) => e.eventId !== null));
    // The same events, in the same order, none twice, on both instances.
    expect(logged[0]!.map((e) => e.eventId)).toEqual(logged[1]!.map((e) => e.eventId));
    expect(new Set(logged[0]!.map((e) => e.eventId)).size).toBe(logged[0]!.length);
    for (const s of streams) {
      const finishedIds = finished(s).map((e) => e.operation.id);
      expect(new Set(finishedIds).size).toBe(finishedIds.length);
    }
    // What one instance recorded, another reads.
    const [one, other] = instances as [GatewayProcess, GatewayProcess];
    const id = finished(streams[0]!)[0]!.operation.id;
    const read = await gql(other, 'query ($id: ID!) { operation(id: $id) { id status } }', { id });
    expect(read.data).toEqual({ operation: { id, status: 'SUCCEEDED' } });
    const listed = await gql(one, '{ operations(filter: { active: false, sources: ["aiven-test"] }, first: 50) { edges { node { id } } } }');
    expect(listed.data.operations.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(id);
  }, 120_000);

  it('hands the loop to another instance when the leader is killed mid-restore, losing no final state', async () => {
    const c = await cluster();
    const instances = [await c.set.start(), await c.set.start(), await c.set.start()];
    const streams = new Map(instances.map((instance) => [instance, collect<{ operationsChanged: Event }>(wsClient(instance), EVENTS)]));
    await Promise.all([...streams.values()].map((s) => s.next((e) => Boolean(e.data?.operationsChanged), 20_000)));
    await play(c.sim, 3_000);
    const leader = await leaderOf(c);
    const orphan = streams.get(leader)!;
    const lastSeen = eventsOf(orphan.events).filter((e) => e.eventId !== null).at(-1)?.eventId ?? null;
    await leader.kill('SIGKILL');
    // Its client reconnects to another instance with the last event it saw.
    const survivor = instances.find((i) => i !== leader)!;
    const resumed = collect<{ operationsChanged: Event }>(wsClient(survivor, lastSeen ? { lastEventId: lastSeen } : {}), EVENTS);
    await play(c.sim, 12_000);
    const newLeader = await leaderOf(c);
    expect(newLeader).not.toBe(leader);
    const finishedOf = (s: typeof resumed) => eventsOf(s.events).filter((e) => e.change === 'FINISHED');
    // The reconnected client is one subscriber over two streams: what it saw before, then after.
    const clients = () => [...instances.filter((i) => i !== leader).map((i) => streams.get(i)!), { events: [...orphan.events, ...resumed.events] } as unknown as typeof resumed];
    await eventually(() => clients().every((s) => finishedOf(s).length >= 3), 40_000, 'every subscriber saw the restores finish');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const s of clients()) {
      const ids = finishedOf(s).map((e) => e.operation.id);
      expect(new Set(ids).size).toBe(ids.length); // each final state once
    }
    // The reconnected client got, across both streams, the same logged events as a survivor.
    const survivorIds = eventsOf(streams.get(survivor)!.events).flatMap((e) => (e.eventId ? [e.eventId] : []));
    const clientIds = [...eventsOf(orphan.events), ...eventsOf(resumed.events)].flatMap((e) => (e.eventId ? [e.eventId] : []));
    expect(clientIds.filter((id) => survivorIds.includes(id))).toEqual(survivorIds.filter((id) => Number(id) > 0));
  }, 150_000);

  it('replays what a client missed when it reconnects with its last event id', async () => {
    const c = await cluster();
    const [a, b] = [await c.set.start(), await c.set.start()];
    const first = collect<{ operationsChanged: Event }>(wsClient(a), EVENTS);
    await first.next((e) => Boolean(e.data?.operationsChanged), 20_000);
    await play(c.sim, 2_000);
    const seen = await first.next((e) => Boolean(e.data?.operationsChanged?.eventId), 20_000);
    const lastEventId = seen.data!.operationsChanged.eventId!;
    first.stop();
    await play(c.sim, 3_000); // events the client is not there for
    // Resumed on the other instance, with the argument.
    const resumed = collect<{ operationsChanged: Event }>(wsClient(b), EVENTS, { after: lastEventId });
    const replayed = await resumed.next((e) => Boolean(e.data?.operationsChanged?.eventId), 20_000);
    expect(BigInt(replayed.data!.operationsChanged.eventId!)).toBeGreaterThan(BigInt(lastEventId));
    const missedWhileAway = eventsOf(resumed.events).filter((e) => e.eventId !== null);
    expect(missedWhileAway.length).toBeGreaterThan(0);
    const ids = missedWhileAway.map((e) => BigInt(e.eventId!));
    expect([...ids].sort((x, y) => (x < y ? -1 : 1))).toEqual(ids); // in order
    // Over SSE, with Last-Event-ID.
    const controller = new AbortController();
    cleanups.push(async () => controller.abort());
    const sse = await fetch(b.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'last-event-id': lastEventId },
      body: JSON.stringify({ query: EVENTS }),
      signal: controller.signal,
    });
    const reader = sse.body!.getReader();
    let text = '';
    const deadline = Date.now() + 10_000;
    while (!text.includes('"eventId"') && Date.now() < deadline) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    const firstId = /"eventId":"(\d+)"/.exec(text)?.[1];
    expect(firstId).toBeDefined();
    expect(BigInt(firstId!)).toBeGreaterThan(BigInt(lastEventId));
    // The standard id line, so that a browser's EventSource sends Last-Event-ID by itself.
    expect(text).toContain(`id: ${firstId}\nevent: next\n`);
    controller.abort();
  }, 120_000);

  it('runs local-only while its Redis is down, says so, and rejoins when Redis is back', async () => {
    const port = await freePort();
    const redis = await privateRedis(port);
    cleanups.push(() => redis.stop());
    const c = await cluster({ redisUrl: redis.url });
    const instance = await c.set.start();
    expect((await ready(instance)).redis.status).toBe('UP');
    const stream = collect<{ operationsChanged: Event }>(wsClient(instance), EVENTS);
    await stream.next((e) => Boolean(e.data?.operationsChanged), 20_000);
    await redis.stop();
    await eventually(async () => (await ready(instance)).redis.status === 'DOWN', 10_000, 'readiness shows Redis down');
    expect((await ready(instance)).ready).toBe(true); // still serving
    const metrics = await (await fetch(instance.url.replace(/\/graphql$/, '/metrics'))).text();
    expect(metrics).toMatch(/^backupgraph_redis_up 0$/m);
    expect(instance.logs.some((line) => line.includes('Redis unreachable'))).toBe(true);
    // Local-only: its own loop runs and its subscriber still gets changes.
    const before = eventsOf(stream.events).length;
    await play(c.sim, 3_000);
    await eventually(() => eventsOf(stream.events).length > before, 15_000, 'events while Redis is down');
    await redis.start();
    await eventually(async () => (await ready(instance)).redis.status === 'UP', 20_000, 'readiness shows Redis back');
    const after = eventsOf(stream.events).length;
    await play(c.sim, 3_000);
    await eventually(() => eventsOf(stream.events).length > after, 15_000, 'events through Redis again');
    expect(await (await fetch(instance.url.replace(/\/graphql$/, '/metrics'))).text()).toMatch(/^backupgraph_redis_up 1$/m);
  }, 120_000);
});

describe('several gateway instances on a pushing upstream (ScaleTrade)', () => {
  it('holds one stream session across instances, and another instance opens it when the holder is killed', async () => {
    const sim = await startScaleTradeSimulator({ scenario: scaleTradeScenario(), clock: 'manual', startAt: Date.parse('2026-07-01T12:00:00Z') });
    cleanups.push(() => sim.close());
    const schema = await createTestSchema('scaleout_st');
    cleanups.push(() => schema.drop());
    const prefix = `bg-test-${randomUUID().slice(0, 8)}:`;
    cleanups.push(() => dropKeys(SHARED_REDIS, prefix));
    const set = await gatewayInstances(
      {
        sources: [{ name: 'st', kind: 'scaletrade', url: sim.tcpUrl, token: { env: 'ST_TOKEN' }, poll: { activeMs: 200, idleMs: 500 }, staleMs: 1_000, timeouts: { connectMs: 1_000, requestMs: 3_000 } }],
        history: { postgres: { env: 'DATABASE_URL' }, schema: schema.schema },
        pubsub: { redis: { env: 'REDIS_URL' }, keyPrefix: prefix, leaseMs: 1_000 },
        auth: { keys: [], anonymousRole: 'operator' },
      },
      { ST_TOKEN: sim.tokens.admin, DATABASE_URL: schema.url, REDIS_URL: SHARED_REDIS },
    );
    cleanups.push(() => set.close());
    const instances = [await set.start(), await set.start()];
    const RUNS = `subscription { operationsChanged(filter: { sources: ["st"] }) { eventId change operation { id status progress { percent } } } }`;
    const streams = new Map(instances.map((instance) => [instance, collect<{ operationsChanged: Event }>(wsClient(instance), RUNS)]));
    const sessionState = async (instance: GatewayProcess) => (await gql(instance, '{ scaleTrade { session { state } } }')).data?.scaleTrade?.session?.state;
    // One instance holds the session, the other follows it.
    await eventually(async () => {
      const states = await Promise.all(instances.map(sessionState));
      return states.includes('CONNECTED') && states.includes('FOLLOWING');
    }, 20_000, 'one session holder and one follower');
    expect(sim.countRequests('Subscribe')).toBe(1);

    const advance = async (totalMs: number) => {
      for (let t = 0; t < totalMs; t += 1_000) {
        sim.advance(1_000);
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    };
    const finishedOf = (instance: GatewayProcess) => eventsOf(streams.get(instance)!.events).filter((e) => e.change === 'FINISHED');
    // A run followed to its end on both instances through the one session.
    sim.startRun({ trigger: 'manual' });
    await advance(60_000);
    await eventually(() => instances.every((i) => finishedOf(i).length === 1), 30_000, 'the first run finished on both instances');
    expect(sim.countRequests('Subscribe')).toBe(1);

    // The holder dies mid-run: the other instance opens the session and follows the run to its end.
    sim.startRun({ trigger: 'manual' });
    await advance(5_000);
    const states = await Promise.all(instances.map(sessionState));
    const holder = instances[states.indexOf('CONNECTED')]!;
    const survivor = instances.find((i) => i !== holder)!;
    await holder.kill('SIGKILL');
    await eventually(async () => (await sessionState(survivor)) === 'CONNECTED', 20_000, 'the survivor holds the session');
    expect(sim.countRequests('Subscribe')).toBe(2);
    await advance(60_000);
    await eventually(() => finishedOf(survivor).length === 2, 30_000, 'the second run finished on the survivor');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const finished = finishedOf(survivor).map((e) => e.operation.id);
    expect(new Set(finished).size).toBe(2); // each run's final state once
  }, 180_000);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
