import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeGlobalId } from '../src/model/ids.js';
import { collect, eventually, restoreIdOf, startWorld, type World } from './support/harness.js';

const OPERATION_UPDATED = `subscription ($id: ID!) { operationUpdated(id: $id) { id status vendorStatus message progress { percent done total unit ratePerSecond estimatedEndAt estimated } startedAt finishedAt ... on NodeRestore { phases { phase completed } } } }`;
const SERVICE_LIST = '/v1/project/test-project/service';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('live subscriptions over graphql-ws and SSE', () => {
  let world: World;
  /** pg-restore-2's restore run (ids are per run: discovered once the gateway has seen it). */
  let RESTORE_ID: string;
  beforeEach(async () => {
    world = await startWorld();
    RESTORE_ID = await restoreIdOf(world, 'pg-restore', 'pg-restore-2');
    const { typename, parts } = decodeGlobalId(RESTORE_ID);
    expect(typename).toBe('NodeRestore');
    expect(parts.slice(0, 4)).toEqual(['aiven-test', 'test-project', 'pg-restore', 'pg-restore-2']);
    expect(new Date(parts[4] as string).toISOString()).toBe(parts[4]);
  });
  afterEach(async () => {
    await world.close();
  });

  it('shares one upstream call per interval among 35 subscribers of three kinds, and stops after the last leaves', async () => {
    const client = world.ws();
    const restores = Array.from({ length: 25 }, () => collect(client, OPERATION_UPDATED, { id: RESTORE_ID }));
    const services = Array.from({ length: 5 }, () => collect(client, `subscription { serviceUpdated(source: "aiven-test", project: "test-project", name: "pg-restore") { state } }`));
    const fleets = Array.from({ length: 5 }, () => collect(client, `subscription { operationsChanged { change } }`));
    const subs = [...restores, ...services, ...fleets];
    await Promise.all(restores.map((s) => s.next((e) => e.data?.operationUpdated?.status === 'PENDING')));
    await Promise.all([...services, ...fleets].map((s) => s.next((e) => Boolean(e.data))));
    // Identical state subscriptions share one execution (one lease); operationsChanged streams do not.
    expect(world.gateway.services.poller.activeKeys()).toEqual([{ key: 'aiven:aiven-test:project:test-project', watchers: 1 + 1 + 5 }]);

    world.sim.resetRequests();
    const started = Date.now();
    await sleep(1_000);
    const calls = world.sim.countRequests('GET', SERVICE_LIST);
    const intervals = (Date.now() - started) / 100; // activeMs = 100 in the harness
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(calls).toBeLessThanOrEqual(Math.ceil(intervals / 0.9) + 1); // ±10 % jitter, never one per subscriber
    expect(world.sim.requests.every((r) => r.path === SERVICE_LIST)).toBe(true);

    for (const s of subs) s.stop();
    await eventually(() => world.gateway.services.poller.activeKeys().length === 0, 5_000, 'poller to stop');
    await sleep(150);
    world.sim.resetRequests();
    await sleep(500);
    expect(world.sim.countRequests('*', '/')).toBe(0);
  });

  it('gives a late subscriber the current state at once, then only changes', async () => {
    const client = world.ws();
    const early = collect(client, OPERATION_UPDATED, { id: RESTORE_ID });
    await early.next((e) => e.data?.operationUpdated?.status === 'PENDING');
    world.sim.advance(1_500);
    const running = await early.next((e) => e.data?.operationUpdated?.status === 'RUNNING');

    const late = collect(client, OPERATION_UPDATED, { id: RESTORE_ID });
    const first = await late.next(() => true, 2_000);
    expect(first.data!.operationUpdated).toMatchObject({ status: 'RUNNING', progress: { percent: running.data!.operationUpdated.progress.percent } });

    await sleep(400); // several polls of an unchanged upstream: no new events
    expect(late.events.filter((e) => e.data).length).toBe(1);
    world.sim.advance(1_000);
    const next = await late.next((e) => e.data?.operationUpdated?.progress.percent > running.data!.operationUpdated.progress.percent);
    expect(next.data!.operationUpdated.phases.map((p: any) => p.phase)).toEqual(['PREPARE', 'BASEBACKUP']);
  });

  it('sends an error event and turns the source DEGRADED when the upstream fails, then resumes', async () => {
    const client = world.ws();
    const sub = collect(client, OPERATION_UPDATED, { id: RESTORE_ID });
    await sub.next((e) => e.data?.operationUpdated?.status === 'PENDING');
    world.sim.fail({ kind: 'status', status: 500 }, { count: 6, pathPrefix: SERVICE_LIST });
    const failure = await sub.next((e) => Boolean(e.errors));
    expect(failure.errors![0]).toMatchObject({ extensions: { code: 'UPSTREAM_UNAVAILABLE', source: 'aiven-test', upstreamStatus: 500 } });
    const health = await world.gql(`{ sources { name health { status lastError } } }`);
    expect(['DEGRADED', 'DOWN']).toContain(health.data.sources[0].health.status);
    expect(health.data.sources[0].health.lastError).toMatch(/unavailable \(500\)/);

    world.sim.advance(1_500);
    const resumed = await sub.next((e) => e.data?.operationUpdated?.status === 'RUNNING', 15_000);
    expect(resumed.data!.operationUpdated.vendorStatus).toBe('syncing_data');
    const healthy = await world.gql(`{ sources { health { status } } }`);
    expect(healthy.data.sources[0].health.status).toBe('UP');
  });

  it('delivers the finished restore once as SUCCEEDED at 100 %, completes, and remembers it after the vendor forgets and a restart', async () => {
    const client = world.ws();
    const sub = collect(client, OPERATION_UPDATED, { id: RESTORE_ID });
    await sub.next((e) => e.data?.operationUpdated?.status === 'PENDING');
    for (let t = 0; t < 10; t++) {
      world.sim.advance(1_000);
      await sleep(150);
    }
    await sub.done;
    const finals = sub.events.filter((e) => e.data?.operationUpdated?.status === 'SUCCEEDED');
    expect(finals).toHaveLength(1);
    expect(finals[0]!.data!.operationUpdated).toMatchObject({ status: 'SUCCEEDED', vendorStatus: 'running', progress: { percent: 100, estimatedEndAt: null }, finishedAt: expect.any(String) });
    expect(sub.events.at(-1)).toBe(finals[0]);
    const statuses = sub.events.map((e) => e.data?.operationUpdated?.status);
    expect(statuses.indexOf('PENDING')).toBeLessThan(statuses.indexOf('RUNNING'));

    world.sim.forgetService('test-project', 'pg-restore');
    const query = `{ operations(filter: { active: false }) { edges { node { id status progress { percent } transitions { status percent } } } } }`;
    const afterForget = await world.gql(query);
    const remembered = afterForget.data.operations.edges.map((e: any) => e.node).find((n: any) => n.id === RESTORE_ID);
    expect(remembered).toMatchObject({ status: 'SUCCEEDED', progress: { percent: 100 } });
    expect(remembered.transitions.map((t: any) => t.status)).toEqual(expect.arrayContaining(['PENDING', 'RUNNING', 'SUCCEEDED']));

    await world.restartGateway();
    const afterRestart = await world.gql(`{ operation(id: "${RESTORE_ID}") { status progress { percent } transitions(last: 1) { status percent } } }`);
    expect(afterRestart.data.operation).toEqual({ status: 'SUCCEEDED', progress: { percent: 100 }, transitions: [{ status: 'SUCCEEDED', percent: 100 }] });
    // operationUpdated on a finished operation: its final state at once, then complete.
    const replay = collect(world.ws(), OPERATION_UPDATED, { id: RESTORE_ID });
    await replay.done;
    expect(replay.events.map((e) => e.data?.operationUpdated?.status)).toEqual(['SUCCEEDED']);
  });

  it('keeps shared subscribers independent: one leaving does not end the others, and all get the final state', async () => {
    const client = world.ws();
    const [a, b, c] = [0, 1, 2].map(() => collect(client, OPERATION_UPDATED, { id: RESTORE_ID }));
    await Promise.all([a, b, c].map((s) => s!.next((e) => e.data?.operationUpdated?.status === 'PENDING')));
    a!.stop();
    world.sim.advance(1_500);
    await Promise.all([b, c].map((s) => s!.next((e) => e.data?.operationUpdated?.status === 'RUNNING')));
    expect(a!.events.some((e) => e.data?.operationUpdated?.status === 'RUNNING')).toBe(false);
    for (let t = 0; t < 9; t++) {
      world.sim.advance(1_000);
      await sleep(150);
    }
    await Promise.all([b!.done, c!.done]);
    for (const s of [b!, c!]) expect(s.events.at(-1)!.data!.operationUpdated.status).toBe('SUCCEEDED');
    expect(b!.events.map((e) => e.data?.operationUpdated?.status)).toEqual(c!.events.map((e) => e.data?.operationUpdated?.status));
    await eventually(() => world.gateway.services.poller.activeKeys().length === 0, 5_000, 'the lease to be released');
  });

  it('streams STARTED, PROGRESSED and FINISHED events for the whole fleet with operationsChanged', async () => {
    const sub = collect(world.ws(), `subscription { operationsChanged(filter: { active: true, kinds: [RESTORE] }) { change operation { id status progress { percent } } } }`);
    const startedIds = new Set<string>();
    await eventually(() => {
      for (const e of sub.events) if (e.data?.operationsChanged.change === 'STARTED') startedIds.add(e.data.operationsChanged.operation.id);
      return startedIds.size >= 3;
    }, 5_000, 'STARTED events');
    expect(startedIds).toContain(RESTORE_ID);
    for (let t = 0; t < 10; t++) {
      world.sim.advance(1_000);
      await sleep(150);
    }
    const mine = await sub.next((e) => e.data?.operationsChanged.change === 'FINISHED' && e.data.operationsChanged.operation.id === RESTORE_ID);
    expect(mine.data!.operationsChanged.operation).toMatchObject({ status: 'SUCCEEDED', progress: { percent: 100 } });
    const progressed = sub.events.filter((e) => e.data?.operationsChanged.change === 'PROGRESSED' && e.data.operationsChanged.operation.id === RESTORE_ID);
    expect(progressed.length).toBeGreaterThanOrEqual(3);
  });

  it('streams a service with serviceUpdated, and an error for an unknown one', async () => {
    const client = world.ws();
    const sub = collect(client, `subscription { serviceUpdated(source: "aiven-test", project: "test-project", name: "pg-restore") { name state nodes { name state } } }`);
    const first = await sub.next(() => true);
    expect(first.data!.serviceUpdated).toMatchObject({ name: 'pg-restore', state: 'REBUILDING' });
    world.sim.advance(10_000);
    const running = await sub.next((e) => e.data?.serviceUpdated?.state === 'RUNNING');
    expect(running.data!.serviceUpdated.nodes.map((n: any) => n.state)).toEqual(['RUNNING', 'RUNNING']);

    const missing = collect(client, `subscription { serviceUpdated(source: "aiven-test", project: "test-project", name: "ghost") { name } }`);
    const error = await missing.next((e) => Boolean(e.errors));
    expect(error.errors![0]).toMatchObject({ extensions: { code: 'NOT_FOUND', source: 'aiven-test' } });
  });

  it('refuses a subscription with an invalid id over graphql-ws, without closing the socket', async () => {
    const client = world.ws();
    const bad = collect(client, OPERATION_UPDATED, { id: 'garbage' });
    const error = await bad.next((e) => Boolean(e.errors));
    expect(error.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    const good = collect(client, OPERATION_UPDATED, { id: RESTORE_ID });
    await good.next((e) => e.data?.operationUpdated?.status === 'PENDING');
  });

  it('computes rate and ETA from successive samples when Aiven gives none', async () => {
    const sub = collect(world.ws(), OPERATION_UPDATED, { id: RESTORE_ID });
    world.sim.advance(2_000); // basebackup starts
    await sub.next((e) => e.data?.operationUpdated?.progress.unit === 'bytes_uncompressed');
    for (let t = 0; t < 4; t++) {
      await sleep(250);
      world.sim.advance(500); // +500 bytes per step
    }
    const estimated = await sub.next((e) => e.data?.operationUpdated?.progress.estimated === true && e.data.operationUpdated.progress.ratePerSecond > 0);
    const progress = estimated.data!.operationUpdated.progress;
    expect(Date.parse(progress.estimatedEndAt)).toBeGreaterThan(Date.now() - 1_000);
    expect(progress.ratePerSecond).toBeGreaterThan(0);
  });

  it('serves the same subscription over SSE', async () => {
    const controller = new AbortController();
    const response = await fetch(world.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: OPERATION_UPDATED, variables: { id: RESTORE_ID } }),
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const events: any[] = [];
    const readUntil = async (predicate: () => boolean) => {
      const deadline = Date.now() + 10_000;
      while (!predicate() && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        let split;
        while ((split = text.indexOf('\n\n')) >= 0) {
          const block = text.slice(0, split);
          text = text.slice(split + 2);
          const data = block.split('\n').find((l) => l.startsWith('data:'));
          // An event may start with its id line (events with an event id): any field order is SSE.
          if (block.split('\n').includes('event: next') && data) events.push(JSON.parse(data.slice(5)));
        }
      }
    };
    await readUntil(() => events.length >= 1);
    expect(events[0].data.operationUpdated).toMatchObject({ id: RESTORE_ID, status: 'PENDING' });
    world.sim.advance(1_500);
    await readUntil(() => events.some((e) => e.data.operationUpdated.status === 'RUNNING'));
    expect(events.at(-1).data.operationUpdated.status).toBe('RUNNING');
    controller.abort();
    await eventually(() => world.gateway.services.poller.activeKeys().length === 0, 5_000, 'SSE disconnect to release the poller');
  });
});
