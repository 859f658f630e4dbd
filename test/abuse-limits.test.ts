import { request } from 'node:http';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, eventually, startWorld, type World } from './support/harness.js';

/**
 * Abusive requests are refused before they cost anything: depth, aliases, tokens and body size on
 * every transport; cross-site "simple" requests (forms, multipart) and foreign origins.
 */

function deep(levels: number): string {
  return `{ ${'aiven { '.repeat(1)}${'services { edges { node { nodes { '.repeat(1)}name ${'} } } } '.repeat(1)}} }`.replace(
    'name',
    `${'restore { service { nodes { '.repeat(levels)}name${' } } }'.repeat(levels)}`,
  );
}

/** A single-field subscription nested far deeper than the depth limit (14). */
const DEEP_SUBSCRIPTION = `subscription { operationsChanged { operation { ... on NodeRestore { ${'service { nodes { restore { '.repeat(6)}id${' } } }'.repeat(6)} } } } }`;

describe('query limits', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    await world.close();
  });

  it('refuses a query nested too deep, before any upstream call', async () => {
    world.sim.resetRequests();
    const result = await world.gql(deep(60));
    expect(result.data ?? null).toBeNull();
    expect(result.errors?.[0]?.message).toMatch(/depth/i);
    expect(result.errors?.[0]?.extensions?.['code']).toBeTruthy();
    expect(world.sim.requests).toHaveLength(0);
  });

  it('refuses thousands of aliases, so they cannot become thousands of upstream calls', async () => {
    world.sim.resetRequests();
    const aliases = Array.from({ length: 500 }, (_, i) => `a${i}: serviceTypes { name }`).join(' ');
    const result = await world.gql(`{ aiven { ${aliases} } }`);
    expect(result.errors?.[0]?.message).toMatch(/alias/i);
    expect(world.sim.requests).toHaveLength(0);
  });

  it('refuses a document with too many tokens', async () => {
    const fields = Array.from({ length: 6_000 }, () => '__typename').join(' ');
    const result = await world.gql(`{ ${fields} }`);
    expect(result.errors?.[0]?.message).toMatch(/token/i);
  });

  it('refuses a body over the limit with 413', async () => {
    const response = await fetch(world.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(2_000_000) } }),
    });
    expect(response.status).toBe(413);
  });

  it('refuses a chunked body (no Content-Length) once it passes the limit, and reads a small one', async () => {
    const chunked = (text: string, repeat: number) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          const bytes = new TextEncoder().encode(text);
          for (let i = 0; i < repeat; i++) controller.enqueue(bytes);
          controller.close();
        },
      });
    const send = (body: ReadableStream<Uint8Array>) =>
      fetch(world.gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);
    const padding = 'x'.repeat(100_000);
    const big = await send(chunked(`{"query":"{ __typename }","variables":{"pad":"${padding}`, 1).pipeThrough(new TransformStream({ flush: (c) => { for (let i = 0; i < 20; i++) c.enqueue(new TextEncoder().encode(padding)); c.enqueue(new TextEncoder().encode('"}}')); } })));
    expect(big.status).toBe(413);
    expect(big.headers.get('connection')).toBe('close'); // the rest of the body was not read
    const small = await send(chunked('{"query":"{ __typename }"}', 1));
    expect(small.status).toBe(200);
    expect(await small.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('never echoes a large input back in an error', async () => {
    const huge = 'A'.repeat(500_000);
    const result = await world.gql(`query ($id: ID!, $s: String!) { node(id: $id) { id } aiven(source: $s) { projects } }`, { id: huge, s: huge });
    expect(result.errors?.length).toBeGreaterThan(0);
    for (const error of result.errors!) {
      expect(error.extensions?.['code']).toBeTruthy();
      expect(JSON.stringify(error).length).toBeLessThan(1_000);
    }
  });

  it('answers a limit breach over graphql-ws with an error message and keeps the socket', async () => {
    const client = world.ws();
    const rejected = collect(client, DEEP_SUBSCRIPTION);
    const error = await rejected.done.then(() => null, (e: unknown) => e);
    expect(JSON.stringify(error)).toMatch(/depth/i);
    const ok = collect(client, `subscription { operationsChanged { change } }`);
    await ok.next((e) => Boolean(e.data?.operationsChanged), 10_000);
    ok.stop();
  });

  it('refuses a limit breach over SSE with an error event before any upstream call', async () => {
    // Let the live loop an earlier test started wind down first.
    await eventually(() => world.gateway.services.poller.activeKeys().length === 0, 5_000, 'no live loop');
    world.sim.resetRequests();
    const response = await fetch(world.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: DEEP_SUBSCRIPTION }),
    });
    const text = await response.text();
    expect(text).toMatch(/depth/i);
    expect(text).toContain('event: complete');
    expect(world.sim.requests).toHaveLength(0);
  });

  it('closes a WebSocket whose message is over the limit', async () => {
    const socket = new WebSocket(world.gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(2_000_000) } }));
    expect(await closed).toBe(1009);
    await eventually(async () => (await world.gql('{ __typename }')).data?.__typename === 'Query', 5_000, 'still serving');
  });
});

describe('cross-site requests', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    await world.close();
  });

  it('refuses a form POST (no preflight) before it reaches a resolver or the upstream', async () => {
    world.sim.resetRequests();
    const response = await fetch(world.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: new URLSearchParams({ query: 'mutation { deleteAivenService(project: "test-project", name: "pg-off") }' }).toString(),
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(world.sim.requests).toHaveLength(0);
  });

  it('refuses a multipart POST', async () => {
    world.sim.resetRequests();
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: 'mutation { deleteAivenService(project: "test-project", name: "pg-off") }' }));
    form.set('map', '{}');
    const response = await fetch(world.gateway.url, { method: 'POST', body: form, headers: { origin: 'https://evil.example' } });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(world.sim.requests).toHaveLength(0);
  });

  it('answers a CORS preflight from a foreign origin without allowing it', async () => {
    const response = await fetch(world.gateway.url, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
  });
});

describe('caps and switches', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ limits: { subscriptionsPerConnection: 2, introspection: false, mutationsPerRequest: 2, mutationsPerMinute: 3, nodeIds: 3, upstreamCalls: 4, aliases: 1_000 } });
  });
  afterAll(async () => {
    await world.close();
  });

  it('refuses a subscription over the per-connection cap with an error, keeping the others', async () => {
    const client = world.ws();
    const query = 'subscription { operationsChanged { change } }';
    const first = collect(client, query);
    const second = collect(client, query);
    await first.next((e) => Boolean(e.data), 10_000);
    await second.next((e) => Boolean(e.data), 10_000);
    const third = collect(client, query);
    const refused = await third.next((e) => Boolean(e.errors?.length), 10_000);
    expect(refused.errors![0]).toMatchObject({ message: 'Subscription refused: at most 2 subscriptions per connection', extensions: { code: 'LIMIT_EXCEEDED' } });
    first.stop();
    const fourth = collect(client, query);
    await fourth.next((e) => Boolean(e.data), 10_000);
    second.stop();
    fourth.stop();
  });

  it('refuses too many mutations in one request, and past a caller\'s budget per minute, before any upstream write', async () => {
    const update = (alias: string) => `${alias}: updateAivenService(input: { project: "test-project", name: "pg-off", terminationProtection: false }) { name }`;
    world.sim.resetRequests();
    const many = await world.gql(`mutation { ${update('a')} ${update('b')} ${update('c')} }`);
    expect(many.errors?.[0]).toMatchObject({ message: 'At most 2 mutations per request (got 3)', extensions: { code: 'LIMIT_EXCEEDED' } });
    expect(world.sim.countRequests('PUT', '/v1')).toBe(0);
    expect((await world.gql(`mutation { ${update('a')} ${update('b')} }`)).errors).toBeUndefined();
    expect((await world.gql(`mutation { ${update('a')} }`)).errors).toBeUndefined();
    const over = await world.gql(`mutation { ${update('a')} }`);
    expect(over.errors?.[0]?.extensions?.['code']).toBe('LIMIT_EXCEEDED');
    expect(over.errors?.[0]?.message).toMatch(/at most 3 per minute/);
    expect(world.sim.countRequests('PUT', '/v1')).toBe(3);
  });

  it('refuses nodes(ids:) with more IDs than the cap, literal or in a variable', async () => {
    const ids = ['a', 'b', 'c', 'd'];
    const byVariable = await world.gql(`query ($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids });
    expect(byVariable.errors?.[0]).toMatchObject({ message: 'nodes(ids:) takes at most 3 IDs per request (got 4)', extensions: { code: 'LIMIT_EXCEEDED' } });
    const literal = await world.gql(`{ nodes(ids: ["a", "b", "c", "d"]) { id } }`);
    expect(literal.errors?.[0]?.extensions?.['code']).toBe('LIMIT_EXCEEDED');
  });

  it('refuses a query that would make more upstream calls than its budget, however it is spelled', async () => {
    world.sim.resetRequests();
    const aliases = Array.from({ length: 500 }, (_, i) => `t${i}: serviceTypes { name }`).join(' ');
    const many = await world.gql(`{ aiven { ${aliases} } }`);
    expect(many.errors?.[0]).toMatchObject({ message: 'This request would make up to 500 upstream calls; the limit is 4', extensions: { code: 'LIMIT_EXCEEDED' } });
    const viaFragments = await world.gql(`{ a: aiven { ...T } b: aiven { ...T } } fragment T on AivenSource { serviceTypes { name } projects servicePlans(project: "test-project", serviceType: "pg") { name } }`);
    expect(viaFragments.errors?.[0]?.message).toBe('This request would make up to 6 upstream calls; the limit is 4');
    expect(world.sim.requests).toHaveLength(0);
    const within = await world.gql(`{ aiven { serviceTypes { name } projects } sources { name health { status } } }`);
    expect(within.errors).toBeUndefined();
  });

  it('refuses introspection when switched off', async () => {
    const result = await world.gql('{ __schema { types { name } } }');
    expect(result.errors?.[0]?.message).toMatch(/introspection/i);
  });

  it('answers only to its own names (DNS rebinding), over HTTP and WebSocket', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(world.gateway.url, { method: 'POST', headers: { host: 'attacker.example', 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(JSON.stringify({ query: '{ __typename }' }));
    });
    expect(status).toBe(421);
    const socket = new WebSocket(world.gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws', { headers: { host: 'attacker.example' } });
    const outcome = await new Promise<string>((resolve) => {
      socket.on('unexpected-response', (_req, res) => resolve(`refused ${res.statusCode}`));
      socket.on('open', () => resolve('open'));
      socket.on('error', () => resolve('error'));
    });
    expect(outcome).toMatch(/^refused 40/);
    socket.terminate();
    expect((await world.gql('{ __typename }')).data?.__typename).toBe('Query');
  });
});
