import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docSpaceKind } from '../src/sources/docspace/kind.js';
import { collect, startWorld, type World } from './support/harness.js';
import { startKindWorld } from './support/world.js';

/** Keys and roles on every transport: who may query, subscribe, mutate and see secrets. */

const VIEWER = 'viewer-key-0123456789abcdef';
const OPERATOR = 'operator-key-fedcba9876543210';
const QUERY = `{ aiven { service(project: "test-project", name: "pg-restore") { name serviceUri serviceUriRedacted connectionInfo { host port user password database sslMode } } } }`;
const MUTATION = `mutation { updateAivenService(input: { project: "test-project", name: "pg-off", terminationProtection: true }) { name } }`;

async function post(world: World, query: string, key?: string): Promise<{ status: number; body: any }> {
  const response = await fetch(world.gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, body: await response.json() };
}

function wsClient(world: World, payload: Record<string, unknown> | undefined, closed: (code: number) => void) {
  return createClient({
    url: world.gateway.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    ...(payload ? { connectionParams: payload } : {}),
    on: { closed: (event) => closed((event as { code: number }).code) },
  });
}

describe('API keys and roles', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ auth: { keys: [{ key: VIEWER, role: 'viewer' }, { key: OPERATOR, role: 'operator' }], anonymousRole: 'none' } });
  });
  afterAll(async () => {
    await world.close();
  });

  it('refuses HTTP requests without a key, or with an unknown one, with 401 before anything runs', async () => {
    world.sim.resetRequests();
    const missing = await post(world, QUERY);
    expect(missing.status).toBe(401);
    expect(missing.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const wrong = await post(world, QUERY, 'not-a-key-at-all-000000');
    expect(wrong.status).toBe(401);
    expect(JSON.stringify(wrong.body)).not.toContain('not-a-key-at-all');
    expect(world.sim.requests).toHaveLength(0);
  });

  it('lets a viewer query, but not mutate nor read a connection URI with its password', async () => {
    const read = await post(world, QUERY, VIEWER);
    expect(read.status).toBe(200);
    expect(read.body.data.aiven.service.name).toBe('pg-restore');
    expect(read.body.data.aiven.service.serviceUri).toBeNull();
    expect(read.body.data.aiven.service.serviceUriRedacted).toContain('[redacted]');
    expect(read.body.data.aiven.service.connectionInfo).toBeNull();
    const paths = read.body.errors.map((e: { path: string[]; extensions: { code: string } }) => [e.path.join('.'), e.extensions.code]);
    expect(paths).toEqual(expect.arrayContaining([['aiven.service.serviceUri', 'FORBIDDEN'], ['aiven.service.connectionInfo', 'FORBIDDEN']]));
    expect(JSON.stringify(read.body)).not.toMatch(/AVNS_/); // the simulator's passwords
    world.sim.resetRequests();
    const write = await post(world, MUTATION, VIEWER);
    expect(write.body.errors[0].extensions.code).toBe('FORBIDDEN');
    expect(write.body.data ?? null).toBeNull();
    expect(world.sim.countRequests('PUT', '/v1')).toBe(0);
  });

  it('lets an operator mutate and read the connection URI', async () => {
    const read = await post(world, QUERY, OPERATOR);
    expect(read.body.errors).toBeUndefined();
    expect(read.body.data.aiven.service.serviceUri).toMatch(/^postgres:\/\/[^:]+:[^@[]+@/);
    expect(read.body.data.aiven.service.connectionInfo).toMatchObject({ user: 'avnadmin', password: expect.stringMatching(/^AVNS_/), sslMode: 'require' });
    expect(read.body.data.aiven.service.connectionInfo.port).toBeGreaterThan(0);
    const write = await post(world, MUTATION, OPERATOR);
    expect(write.body.errors).toBeUndefined();
    expect(write.body.data.updateAivenService.name).toBe('pg-off');
  });

  it('applies the same keys over SSE', async () => {
    const refused = await fetch(world.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { operationsChanged { change } }' }),
    });
    expect(refused.status).toBe(401);
    await refused.body?.cancel();
    const accepted = await fetch(world.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${VIEWER}` },
      body: JSON.stringify({ query: 'subscription { operationsChanged { change } }' }),
    });
    expect(accepted.status).toBe(200);
    const reader = accepted.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('operationsChanged');
    await reader.cancel();
  });

  it('closes graphql-ws with 4401 without a key and 4403 with an unknown one', async () => {
    for (const [payload, code] of [[undefined, 4401], [{ authorization: 'Bearer not-a-known-key-1234567' }, 4403]] as const) {
      let closedWith = 0;
      const client = wsClient(world, payload, (c) => (closedWith = c));
      const stream = collect(client, 'subscription { operationsChanged { change } }');
      await expect(stream.done).rejects.toBeTruthy();
      expect(closedWith).toBe(code);
      await client.dispose();
    }
  });

  it('takes the key from the connection_init payload, and keeps mutations to operators there too', async () => {
    const viewer = wsClient(world, { authorization: `Bearer ${VIEWER}` }, () => undefined);
    const events = collect(viewer, 'subscription { operationsChanged { change } }');
    await events.next((e) => Boolean(e.data?.operationsChanged), 10_000);
    events.stop();
    const refused = collect(viewer, MUTATION);
    await refused.next((e) => Boolean(e.errors?.length), 10_000);
    expect(refused.events[0]!.errors![0]!.extensions!['code']).toBe('FORBIDDEN');
    await viewer.dispose();
    const operator = wsClient(world, { apiKey: OPERATOR }, () => undefined);
    const done = collect(operator, MUTATION);
    const result = await done.next(() => true, 10_000);
    expect(result.errors).toBeUndefined();
    await operator.dispose();
  });
});

describe('without keys', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ auth: { keys: [], anonymousRole: 'viewer' } });
  });
  afterAll(async () => {
    await world.close();
  });

  it('serves everyone as a viewer: queries yes, mutations no', async () => {
    const read = await post(world, `{ sources { name } }`);
    expect(read.body.data.sources).toHaveLength(1);
    const write = await post(world, MUTATION);
    expect(write.body.errors[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
  });
});

describe('role-based redaction on other vendors', () => {
  it('shows a DocSpace backup link, which can carry a download token, to operators only', async () => {
    const world = await startKindWorld(docSpaceKind, { auth: { keys: [], anonymousRole: 'viewer' } });
    try {
      await world.sim.contract.startOperation();
      for (let i = 0; i < 30; i++) world.sim.advance(world.sim.contract.operationMs / 20);
      const result = await world.gql(`{ docSpace { backupProgress { status link } } }`);
      expect(result.data.docSpace.backupProgress.status).toBe('SUCCEEDED');
      expect(result.data.docSpace.backupProgress.link).toBeNull();
      expect(result.errors?.[0]).toMatchObject({ path: ['docSpace', 'backupProgress', 'link'], extensions: { code: 'FORBIDDEN' } });
    } finally {
      await world.close();
    }
  });
});
