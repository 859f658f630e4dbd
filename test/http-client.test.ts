import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient, parseRetryAfter } from '../src/sources/http.js';
import { HealthTracker } from '../src/sources/health.js';
import { redact } from '../src/sources/redact.js';

describe('the upstream HTTP client', () => {
  let server: Server;
  let url: string;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      if (req.url === '/big') res.end(JSON.stringify({ blob: 'x'.repeat(100_000) }));
      else if (req.url === '/slow-body') {
        res.write('{"a":');
        setTimeout(() => res.end('1}'), 2_000).unref();
      } else if (req.url === '/echo-auth') res.end(JSON.stringify({ auth: req.headers.authorization }));
      else res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('caps the response size with a typed error', async () => {
    const client = new HttpClient({ source: 's', upstream: 'Test API', baseUrl: url, maxResponseBytes: 10_000 });
    await expect(client.json({ method: 'GET', path: '/big', idempotent: false })).rejects.toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE', message: 'Test API response exceeded the size limit' });
    await client.close();
  });

  it('times out a body that stops arriving', async () => {
    const health = new HealthTracker();
    const client = new HttpClient({ source: 's', upstream: 'Test API', baseUrl: url, timeouts: { bodyMs: 300 }, retry: { attempts: 1 }, health });
    await expect(client.json({ method: 'GET', path: '/slow-body' })).rejects.toMatchObject({ code: 'UPSTREAM_TIMEOUT' });
    expect(health.snapshot()).toMatchObject({ status: 'DOWN', lastError: 'Test API did not answer in time', checked: true });
    await client.close();
  });

  it('sends its headers and keeps a base path', async () => {
    const client = new HttpClient({ source: 's', upstream: 'Test API', baseUrl: `${url}/`, headers: { authorization: 'aivenv1 abc123456' } });
    expect(await client.json({ method: 'GET', path: '/echo-auth' })).toEqual({ auth: 'aivenv1 abc123456' });
    await client.close();
  });

  it('reads Retry-After as seconds or as a date', () => {
    expect(parseRetryAfter('3')).toBe(3_000);
    expect(parseRetryAfter(new Date(Date.now() + 10_000).toUTCString(), Date.now())).toBeGreaterThan(8_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  it('redacts secrets, URL passwords and authorization values', () => {
    // Vendor auth schemes (aivenv1 …) are not guessed: the client redacts its configured header values exactly.
    expect(redact('postgres://avnadmin:pw123@h:5/db and Bearer sk-abcdef123 and aivenv1 zzzzzzzz', ['pw123', 'zzzzzzzz'])).toBe(
      'postgres://avnadmin:[redacted]@h:5/db and Bearer [redacted] and aivenv1 [redacted]',
    );
  });
});
