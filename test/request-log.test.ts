import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorld, type World } from './support/harness.js';

describe('the request log', () => {
  let world: World;
  let lines: Array<Record<string, unknown>> = [];
  beforeAll(async () => {
    const logger = pino({ level: 'debug' }, new Writable({ write: (chunk, _e, done) => (lines.push(...String(chunk).trim().split('\n').map((l) => JSON.parse(l))), done()) }));
    world = await startWorld({ gateway: { logger } });
  });
  afterAll(async () => {
    await world.close();
  });

  it('writes one line per request with its id, operation, status and duration — no variables', async () => {
    lines = [];
    const response = await fetch(world.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-abc-123' },
      body: JSON.stringify({ query: 'query Who($s: String!) { source(name: $s) { name } }', operationName: 'Who', variables: { s: 'aiven-test-secretish-value' } }),
    });
    expect(response.headers.get('x-request-id')).toBe('req-abc-123');
    await response.json();
    const logged = lines.filter((l) => l['msg'] === 'request');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ requestId: 'req-abc-123', method: 'POST', path: '/graphql', operationName: 'Who', status: 200 });
    expect(typeof logged[0]!['ms']).toBe('number');
    expect(JSON.stringify(lines)).not.toContain('aiven-test-secretish-value');
  });
});
