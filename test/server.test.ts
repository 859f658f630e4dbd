import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMaskError } from '../src/plugins/mask-errors.js';
import { silentLogger } from '../src/logger.js';
import { GatewayError } from '../src/errors.js';
import { startWorld, TOKEN, type World } from './support/harness.js';

describe('the HTTP surface', () => {
  let world: World;
  beforeAll(async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    world = await startWorld({
      extraSources: () => [{ name: 'aiven-gone', kind: 'aiven', baseUrl: `http://127.0.0.1:${port}`, token: TOKEN, projects: ['p'], poll: { activeMs: 100, idleMs: 200 } }],
    });
  });
  afterAll(async () => {
    await world.close();
  });

  const base = () => world.gateway.url.replace(/\/graphql$/, '');

  it('answers /health while the process is up', async () => {
    const response = await fetch(`${base()}/health`);
    expect(response.status).toBe(200);
  });

  it('is ready once every source was probed, listing the unreachable one as DOWN', async () => {
    const response = await fetch(`${base()}/ready`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      ready: true,
      history: { engine: 'sqlite', status: 'UP' },
      sources: [
        { name: 'aiven-test', kind: 'AIVEN', status: 'UP', lastError: null },
        { name: 'aiven-gone', kind: 'AIVEN', status: 'DOWN', lastError: expect.stringMatching(/unreachable/) },
      ],
    });
  });

  it('serves queries over GET, and refuses mutations over GET', async () => {
    // A GET carries a header a cross-site form cannot set (CSRF prevention), as any non-browser client may.
    const headers = { accept: 'application/json', 'x-graphql-csrf': '1' };
    const get = await fetch(`${world.gateway.url}?query=${encodeURIComponent('{ sources { name } }')}`, { headers });
    expect(await get.json()).toEqual({ data: { sources: [{ name: 'aiven-test' }, { name: 'aiven-gone' }] } });
    const mutation = `mutation { deleteAivenService(source: "aiven-test", project: "test-project", name: "pg-off") }`;
    const refused = await fetch(`${world.gateway.url}?query=${encodeURIComponent(mutation)}`, { headers });
    expect(refused.status).toBe(405);
    expect(world.sim.getService('test-project', 'pg-off')).toBeDefined();
  });

  it('encodes opaque global ids that decode to source and native key', async () => {
    const result = await world.gql(`{ sources { id name } aiven(source: "aiven-test") { services(project: "test-project", first: 1) { edges { node { id } } } } }`);
    const serviceId = result.data.aiven.services.edges[0].node.id as string;
    expect(Buffer.from(serviceId, 'base64url').toString()).toBe('Service:["aiven-test","test-project","kafka-idle"]');
    const again = await world.gql(`query ($id: ID!) { node(id: $id) { ... on Source { name kind } } }`, { id: result.data.sources[0].id });
    expect(again.data.node).toEqual({ name: 'aiven-test', kind: 'AIVEN' });
  });
});

describe('error masking', () => {
  it('masks unexpected errors and keeps typed ones', () => {
    const logged: unknown[] = [];
    const logger = silentLogger();
    logger.error = ((...args: unknown[]) => void logged.push(args)) as typeof logger.error;
    const maskError = createMaskError(logger);
    const masked = maskError(new TypeError('cannot read x of undefined at /srv/secret/path.ts'), 'Unexpected error.');
    expect(masked.message).toBe('Unexpected error.');
    expect((masked as any).extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(logged).toHaveLength(1); // logged on the server, never shown
    const typed = new GatewayError('NOT_FOUND', 'no such service', { source: 'a' });
    expect((maskError(typed, 'Unexpected error.') as any).extensions).toEqual({ code: 'NOT_FOUND', source: 'a' });
  });
});
