import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startWorld, TOKEN, type World } from './support/harness.js';

const LIST = `query ($source: String!) { aiven(source: $source) { services(project: "test-project") { edges { node { name state vendorState nodes { name state vendorState phases { phase vendorPhase unit } restore { status vendorStatus } } } } } } }`;

/** A loopback port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('errors from upstreams and from callers', () => {
  let world: World;
  const BAD_TOKEN = 'wrong-token-9d8c7b6a5f4e';

  beforeEach(async () => {
    const port = await deadPort();
    world = await startWorld({
      extraSources: (simUrl) => [
        { name: 'aiven-down', kind: 'aiven', baseUrl: `http://127.0.0.1:${port}`, token: TOKEN, projects: ['test-project'], poll: { activeMs: 100, idleMs: 200 }, timeouts: { connectMs: 500 } },
        { name: 'aiven-badtoken', kind: 'aiven', baseUrl: simUrl, token: BAD_TOKEN, projects: ['test-project'], poll: { activeMs: 100, idleMs: 200 } },
      ],
    });
  });
  afterEach(async () => {
    await world.close();
  });

  it('reports a rejected token without the token, and marks the source down', async () => {
    const response = await fetch(world.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `query ($source: String!) { aiven(source: $source) { services { edges { cursor } } } sources { name health { status lastError } } }`, variables: { source: 'aiven-badtoken' } }),
    });
    const text = await response.text();
    expect(text).not.toContain(BAD_TOKEN);
    const result = JSON.parse(text);
    expect(result.errors[0]).toMatchObject({ path: ['aiven', 'services'], extensions: { code: 'UPSTREAM_UNAUTHORIZED', source: 'aiven-badtoken', upstreamStatus: 403 } });
    expect(result.errors[0].message).toBe('Aiven API refused the request (403): Invalid token');
    const health = result.data.sources.find((s: any) => s.name === 'aiven-badtoken').health;
    expect(health).toMatchObject({ status: 'DOWN', lastError: expect.stringMatching(/403/) });
  });

  it('keeps the other fields when one upstream is down (partial data)', async () => {
    const result = await world.gql(`{
      up: aiven(source: "aiven-test") { services(project: "test-project") { edges { node { name } } } }
      down: aiven(source: "aiven-down") { services(project: "test-project") { edges { node { name } } } }
      sources { name health { status lastError } }
    }`);
    expect(result.data.up.services.edges).toHaveLength(5);
    expect(result.data.down).toEqual({ services: null });
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0]).toMatchObject({ path: ['down', 'services'], extensions: { code: 'UPSTREAM_UNAVAILABLE', source: 'aiven-down' } });
    expect(result.errors![0]!.message).toMatch(/unreachable/);
    expect(result.errors![0]!.message).not.toContain('127.0.0.1');
    const health = Object.fromEntries(result.data.sources.map((s: any) => [s.name, s.health]));
    expect(health['aiven-test'].status).toBe('UP');
    expect(health['aiven-down']).toMatchObject({ status: 'DOWN', lastError: expect.stringMatching(/unreachable/) });
  });

  it('turns a hanging upstream into UPSTREAM_TIMEOUT', async () => {
    world.sim.fail({ kind: 'hang', ms: 5_000 }, { count: 3 });
    const result = await world.gql(LIST, { source: 'aiven-test' });
    expect(result.data).toEqual({ aiven: { services: null } });
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'UPSTREAM_TIMEOUT', source: 'aiven-test' });
  });

  it('retries an idempotent read once the upstream answers 502, then succeeds', async () => {
    world.sim.resetRequests();
    world.sim.fail({ kind: 'status', status: 502 }, { count: 1 });
    const result = await world.gql(LIST, { source: 'aiven-test' });
    expect(result.errors).toBeUndefined();
    expect(result.data.aiven.services.edges).toHaveLength(5);
    expect(world.sim.countRequests('GET', '/v1/project/test-project/service')).toBe(2);
  });

  it('waits for a short Retry-After on 429 and then succeeds', async () => {
    world.sim.resetRequests();
    world.sim.fail({ kind: 'status', status: 429, retryAfterSeconds: 1 }, { count: 1 });
    const started = Date.now();
    const result = await world.gql(LIST, { source: 'aiven-test' });
    expect(result.errors).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900); // it waited as asked, rather than hammering
    expect(world.sim.countRequests('GET', '/v1/project/test-project/service')).toBe(2);
  });

  it('gives up after bounded retries on a persistent 503 and never shows the body', async () => {
    world.sim.resetRequests();
    world.sim.fail({ kind: 'status', status: 503, body: { message: 'Traceback (most recent call last): internal secret detail' } }, { count: 10 });
    const result = await world.gql(LIST, { source: 'aiven-test' });
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: 503 });
    expect(JSON.stringify(result)).not.toContain('Traceback');
    expect(world.sim.countRequests('GET', '/v1/project/test-project/service')).toBe(3);
  });

  it('does not retry a non-idempotent create on 503', async () => {
    world.sim.resetRequests();
    world.sim.fail({ kind: 'status', status: 503 }, { count: 5 });
    const result = await world.gql(`mutation { createAivenService(input: { source: "aiven-test", project: "test-project", name: "pg-x", type: "pg", plan: "business-4" }) { name } }`);
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(world.sim.countRequests('POST', '/v1/')).toBe(1);
  });

  it('reports malformed JSON as UPSTREAM_BAD_RESPONSE', async () => {
    world.sim.fail({ kind: 'malformed-json' });
    const result = await world.gql(LIST, { source: 'aiven-test' });
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE', source: 'aiven-test' });
    expect(result.errors![0]!.message).toBe('Aiven API returned malformed JSON');
  });

  it('survives a dropped socket', async () => {
    world.sim.fail({ kind: 'drop' }, { count: 3 });
    const result = await world.gql(LIST, { source: 'aiven-test' });
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    const again = await world.gql(LIST, { source: 'aiven-test' });
    expect(again.errors).toBeUndefined();
  });

  it('maps unknown vendor enum values to UNKNOWN and keeps the raw string', async () => {
    const body = {
      services: [
        {
          service_name: 'pg-future', service_type: 'pg', state: 'MIGRATING', plan: 'business-4', cloud_name: 'google-europe-west3',
          create_time: '2026-01-01T00:00:00Z', update_time: '2026-01-01T00:00:00Z', service_uri: null, termination_protection: false,
          user_config: {}, service_integrations: [], group_list: ['default'], project_vpc_id: null,
          node_states: [{ name: 'pg-future-1', state: 'hibernating', progress_updates: [{ phase: 'verify_checksums', completed: false, current: 5, min: 0, max: 10, unit: 'pages' }] }],
        },
      ],
    };
    world.sim.fail({ kind: 'status', status: 200, body });
    const result = await world.gql(LIST, { source: 'aiven-test' });
    expect(result.errors).toBeUndefined();
    expect(result.data.aiven.services.edges[0].node).toEqual({
      name: 'pg-future', state: 'UNKNOWN', vendorState: 'MIGRATING',
      nodes: [{ name: 'pg-future-1', state: 'UNKNOWN', vendorState: 'hibernating', phases: [{ phase: 'UNKNOWN', vendorPhase: 'verify_checksums', unit: 'pages' }], restore: { status: 'UNKNOWN', vendorStatus: 'hibernating' } }],
    });
  });

  it('redacts secrets that an upstream echoes in an error message', async () => {
    world.sim.fail({ kind: 'status', status: 400, body: { message: `token aivenv1 ${TOKEN} rejected for postgres://avnadmin:s3cr3tpw@db.example:5432/x` } });
    const result = await world.gql(`mutation { updateAivenService(input: { source: "aiven-test", project: "test-project", name: "pg-off", plan: "business-8" }) { name } }`);
    const text = JSON.stringify(result);
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'UPSTREAM_REJECTED', upstreamStatus: 400 });
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('s3cr3tpw');
    expect(result.errors![0]!.message).toContain('[redacted]');
  });

  it('rejects invalid arguments before calling the upstream', async () => {
    world.sim.resetRequests();
    const cases = await Promise.all([
      world.gql(`{ aiven(source: "nope") { services { edges { cursor } } } }`),
      world.gql(`{ operations(filter: { sources: ["nope"] }) { edges { cursor } } }`),
      world.gql(`mutation { createAivenService(input: { source: "aiven-test", project: "test-project", name: "Bad_Name", type: "pg", plan: "x" }) { name } }`),
      world.gql(`mutation { updateAivenService(input: { source: "aiven-test", project: "test-project", name: "pg-off" }) { name } }`),
      world.gql(`mutation { updateAivenService(input: { source: "aiven-test", project: "test-project", name: "pg-off", maintenance: { dow: "someday", time: "25:00" } }) { name } }`),
      world.gql(`{ node(id: "not-an-id") { id } }`),
      world.gql(`{ aiven(source: "aiven-test") { services(first: 5000) { edges { cursor } } } }`),
      world.gql(`{ aiven(source: "aiven-test") { services(project: "test-project", after: "bm9wZQ") { edges { cursor } } } }`),
    ]);
    for (const result of cases) {
      expect(result.errors?.[0]?.extensions?.code, JSON.stringify(result)).toBe('BAD_USER_INPUT');
    }
    expect(cases[0]!.errors![0]!.message).toBe('Unknown source "nope" (configured: aiven-test, aiven-down, aiven-badtoken)');
    expect(world.sim.countRequests('*', '/v1/project/test-project/service/')).toBe(0);
    expect(world.sim.countRequests('POST', '/v1/')).toBe(0);
  });

  it('answers invalid GraphQL with a 400 and a located error, and stays up', async () => {
    const syntax = await fetch(world.gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' }, body: JSON.stringify({ query: '{ services(' }) });
    expect(syntax.status).toBe(400);
    const body = (await syntax.json()) as any;
    expect(body.errors[0]).toMatchObject({ message: expect.stringMatching(/Syntax Error/), locations: [{ line: 1, column: 12 }] });
    const unknownField = await world.gql(`{ sources { name password } }`);
    expect(unknownField.errors![0]!.message).toMatch(/Cannot query field "password"/);
    const badEnum = await world.gql(`{ operations(filter: { statuses: [EXPLODED] }) { edges { cursor } } }`);
    expect(badEnum.errors![0]!.message).toMatch(/EXPLODED/);
    const ok = await world.gql(`{ sources { name } }`);
    expect(ok.data.sources).toHaveLength(3);
  });
});
