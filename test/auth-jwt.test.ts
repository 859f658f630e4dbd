import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startWorld, type World } from './support/harness.js';

/** JWTs from an issuer's JWKS (a local server here), the role in a claim, on HTTP and graphql-ws. */
const ISSUER = 'https://issuer.test';
const MUTATION = `mutation { updateAivenService(input: { project: "test-project", name: "pg-off", terminationProtection: true }) { name } }`;

describe('JWT authentication', () => {
  let jwks: Server;
  let world: World;
  let sign: (claims: Record<string, unknown>, options?: { issuer?: string; expiresIn?: string }) => Promise<string>;
  let foreign: (claims: Record<string, unknown>) => Promise<string>;

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const other = await generateKeyPair('ES256');
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    jwks = createServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks.json`;
    sign = (claims, options = {}) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(options.issuer ?? ISSUER).setSubject('alice').setIssuedAt().setExpirationTime(options.expiresIn ?? '5m').sign(privateKey);
    foreign = (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(ISSUER).setExpirationTime('5m').sign(other.privateKey);
    world = await startWorld({ auth: { keys: [], anonymousRole: 'none', jwt: { jwksUrl, issuer: ISSUER, roleClaim: 'backupgraph_role' } } });
  });
  afterAll(async () => {
    await world.close();
    await new Promise((resolve) => jwks.close(resolve));
  });

  const post = async (query: string, token?: string) => {
    const response = await fetch(world.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query }),
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  it('takes the role from the claim: a viewer token reads, an operator token writes', async () => {
    const viewer = await sign({ backupgraph_role: 'viewer' });
    expect((await post(`{ sources { name } }`, viewer)).body.data.sources).toHaveLength(1);
    expect((await post(MUTATION, viewer)).body.errors[0].extensions.code).toBe('FORBIDDEN');
    const operator = await sign({ backupgraph_role: 'operator' });
    expect((await post(MUTATION, operator)).body.errors).toBeUndefined();
  });

  it('refuses an expired token, another issuer, a foreign signature and a missing role with 401', async () => {
    const cases = [
      await sign({ backupgraph_role: 'operator' }, { expiresIn: '-1m' }),
      await sign({ backupgraph_role: 'operator' }, { issuer: 'https://evil.test' }),
      await foreign({ backupgraph_role: 'operator' }),
      await sign({}),
    ];
    for (const token of cases) {
      const refused = await post(`{ sources { name } }`, token);
      expect(refused.status).toBe(401);
      expect(JSON.stringify(refused.body)).not.toContain(token);
    }
  });

  it('accepts the token in the graphql-ws connection_init payload', async () => {
    const viewer = await sign({ backupgraph_role: 'viewer' });
    const { createClient } = await import('graphql-ws');
    const WebSocket = (await import('ws')).default;
    const client = createClient({ url: world.gateway.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams: { authorization: `Bearer ${viewer}` } });
    const events = collect(client, 'subscription { operationsChanged { change } }');
    await events.next((e) => Boolean(e.data?.operationsChanged), 10_000);
    events.stop();
    await client.dispose();
  });
});
