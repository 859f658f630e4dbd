import { afterEach, describe, expect, it } from 'vitest';
import { collect, eventually, startWorld, TOKEN, type World } from './support/harness.js';

/**
 * Hostile upstreams and inputs, handled once for every vendor by the shared parts (the HTTP
 * wrapper's whole-call deadline, the polled-source base's item-by-item decoding, path segment
 * checks, run identities); shown here on the Aiven simulator.
 */

const SERVICES = `query { aiven { services(first: 50) { edges { node { name } } } } }`;

describe('a hostile upstream', () => {
  let world: World;
  afterEach(async () => {
    await world?.close();
  });

  it('cannot stretch a call past its whole budget by dripping the body one byte at a time', async () => {
    world = await startWorld();
    world.sim.fail({ kind: 'drip', intervalMs: 200 }, { count: 5 });
    const result = await world.gql(SERVICES);
    // bodyMs (1 s) never fires: a byte arrives every 200 ms. Only the whole-call budget ends it.
    expect(result.errors?.[0]).toMatchObject({
      message: 'Aiven API did not answer within 3 s',
      extensions: { code: 'UPSTREAM_TIMEOUT', source: 'aiven-test' },
      path: ['aiven', 'services'],
    });
    expect(result.data).toEqual({ aiven: { services: null } });
  });

  it('lets operations answer with the slow source in sourceErrors, and its subscribers get an error event', async () => {
    world = await startWorld();
    const stream = collect(world.ws(), `subscription { operationsChanged { change operation { id } } }`);
    await stream.next((e) => Boolean(e.data?.operationsChanged), 10_000);
    world.sim.fail({ kind: 'drip', intervalMs: 200 }, { count: 50 });
    const page = await world.gql(`{ operations(first: 5) { edges { node { id } } sourceErrors { source code message } } }`);
    expect(page.errors).toBeUndefined();
    expect(page.data.operations.sourceErrors).toEqual([{ source: 'aiven-test', code: 'UPSTREAM_TIMEOUT', message: 'Aiven API did not answer within 3 s' }]);
    const failed = await stream.next((e) => e.errors?.[0]?.extensions?.['code'] === 'UPSTREAM_TIMEOUT', 10_000);
    expect(failed.errors![0]!.message).toBe('Aiven API did not answer within 3 s');
    stream.stop();
  });

  it('bounds retries by the budget: a hanging upstream is not asked three times', async () => {
    world = await startWorld({ source: { timeouts: { connectMs: 1_000, headersMs: 2_000, bodyMs: 1_000 } } });
    world.sim.resetRequests();
    world.sim.fail({ kind: 'hang', ms: 30_000 }, { count: 5 });
    const result = await world.gql(`{ aiven { serviceTypes { name } } }`);
    expect(result.errors?.[0]).toMatchObject({ message: 'Aiven API did not answer within 4 s', extensions: { code: 'UPSTREAM_TIMEOUT' } });
    // Three attempts of 2 s each do not fit in 4 s: the third is never started.
    expect(world.sim.countRequests('GET', '/v1/service_types')).toBeLessThan(3);
  });

  it('leaves one malformed service out of the listing with an error on its edge; the rest resolves', async () => {
    world = await startWorld();
    world.sim.tamper((_project, service) =>
      service['service_name'] === 'pg-off' ? { ...service, node_states: 'nope' } : service['service_name'] === 'kafka-idle' ? { ...service, service_name: 42 } : service,
    );
    const result = await world.gql(`{ aiven { services(first: 50) { edges { cursor node { name } } } } }`);
    const names = result.data.aiven.services.edges.map((e: { node: { name: string } | null }) => e.node?.name ?? null);
    expect(names).toEqual(['mysql-grow', 'pg-legacy', 'pg-restore', null, null]);
    expect(result.errors).toHaveLength(2);
    for (const [i, error] of result.errors!.entries()) {
      expect(error.extensions).toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE', source: 'aiven-test' });
      expect(error.path).toEqual(['aiven', 'services', 'edges', 3 + i, 'node']);
    }
    expect(result.errors!.map((e) => e.message).join('\n')).toMatch(/node_states: .*expected array/);
    expect(result.errors!.map((e) => e.message).join('\n')).toMatch(/service_name: .*expected string/);
    const health = await world.gql(`{ sources { health { status malformedItems lastError } } }`);
    expect(health.data.sources[0].health).toMatchObject({ status: 'DEGRADED' });
    expect(health.data.sources[0].health.malformedItems).toBeGreaterThanOrEqual(2);
    const ready = (await (await fetch(world.gateway.url.replace(/graphql$/, 'ready'))).json()) as { sources: Array<{ status: string }> };
    expect(ready.sources[0]!.status).toBe('DEGRADED');
  });

  it('sends live subscribers an error event for a malformed item and keeps their other updates', async () => {
    world = await startWorld();
    const stream = collect(world.ws(), `subscription { serviceUpdated(project: "test-project", name: "pg-restore") { name state } }`);
    await stream.next((e) => e.data?.serviceUpdated?.name === 'pg-restore', 10_000);
    world.sim.tamper((_project, service) => (service['service_name'] === 'kafka-idle' ? { ...service, node_states: [{ state: 7 }] } : service));
    const failed = await stream.next((e) => e.errors?.[0]?.extensions?.['code'] === 'UPSTREAM_BAD_RESPONSE', 10_000);
    expect(failed.errors![0]!.message).toMatch(/item \d+ of project:test-project could not be read/);
    world.sim.tamper(null);
    await eventually(async () => (await world.gql(`{ sources { health { status } } }`)).data.sources[0].health.status === 'UP', 10_000, 'UP again');
    stream.stop();
  });

  it('counts malformed JSON as a failure for health, not a success', async () => {
    world = await startWorld();
    world.sim.fail({ kind: 'malformed-json' }, { count: 1, pathPrefix: '/v1/service_types' });
    const result = await world.gql(`{ aiven { serviceTypes { name } } }`);
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE' });
    const health = await world.gql(`{ sources { health { status lastError } } }`);
    expect(health.data.sources[0].health).toEqual({ status: 'DEGRADED', lastError: 'Aiven API returned malformed JSON' });
  });
});

describe('path segments', () => {
  let world: World;
  afterEach(async () => {
    await world?.close();
  });

  it.each([['..'], ['.'], ['a/b'], ['x\\y']])('refuses %j as a name or project before any request', async (name) => {
    world = await startWorld();
    world.sim.resetRequests();
    const byName = await world.gql(`query ($n: String!) { aiven { service(project: "test-project", name: $n) { name } } }`, { n: name });
    expect(byName.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    const byProject = await world.gql(`query ($p: String!) { aiven { services(project: $p) { edges { node { name } } } } }`, { p: name });
    expect(byProject.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    const deleted = await world.gql(`mutation ($n: String!) { deleteAivenService(project: "test-project", name: $n) }`, { n: name });
    expect(deleted.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(world.sim.requests).toHaveLength(0);
  });
});

describe('run identities', () => {
  let world: World;
  afterEach(async () => {
    await world?.close();
  });

  it('makes a second restore of the same node a new operation; the first keeps its final state', async () => {
    world = await startWorld();
    const restoreOf = async () =>
      (await world.gql(`{ aiven { service(project: "test-project", name: "pg-restore") { nodes { name restore { id status } } } } }`)).data.aiven.service.nodes.find(
        (n: { name: string }) => n.name === 'pg-restore-2',
      ).restore as { id: string; status: string };
    const first = await restoreOf();
    expect(first.status).toMatch(/PENDING|RUNNING/);
    const firstRun = collect(world.ws(), `subscription ($id: ID!) { operationUpdated(id: $id) { id status } }`, { id: first.id });
    for (let i = 0; i < 12 && (await restoreOf()).status !== 'SUCCEEDED'; i++) {
      world.sim.advance(1_000);
      await new Promise((r) => setTimeout(r, 150));
    }
    await firstRun.done;
    expect(firstRun.events.at(-1)!.data!.operationUpdated).toEqual({ id: first.id, status: 'SUCCEEDED' });

    // The same node restores again (a plan change replaces the nodes).
    const changed = await fetch(`${world.sim.url}/v1/project/test-project/service/pg-restore`, {
      method: 'PUT',
      headers: { authorization: `aivenv1 ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ plan: 'business-8' }),
    });
    expect(changed.status).toBe(200);
    world.sim.advance(1_500);
    const second = await eventually(async () => {
      const restore = await restoreOf();
      return restore.id !== first.id ? restore : null;
    }, 10_000, 'a second restore');
    expect(second.status).toMatch(/PENDING|RUNNING/);

    // A new subscriber to the new run sees it in flight, not the first run's SUCCEEDED.
    const secondRun = collect(world.ws(), `subscription ($id: ID!) { operationUpdated(id: $id) { id status } }`, { id: second.id });
    const initial = await secondRun.next((e) => Boolean(e.data?.operationUpdated), 10_000);
    expect(initial.data!.operationUpdated.status).toMatch(/PENDING|RUNNING/);
    secondRun.stop();

    // History keeps the two runs apart.
    const old = await world.gql(`query ($id: ID!) { operation(id: $id) { status transitions { status } } }`, { id: first.id });
    expect(old.data.operation.status).toBe('SUCCEEDED');
    expect(old.data.operation.transitions.at(-1).status).toBe('SUCCEEDED');
    const fresh = await world.gql(`query ($id: ID!) { operation(id: $id) { transitions { status } } }`, { id: second.id });
    expect(fresh.data.operation.transitions.map((t: { status: string }) => t.status)).not.toContain('SUCCEEDED');
  });
});
