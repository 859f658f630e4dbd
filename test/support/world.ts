import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { AuthConfig } from '../../src/auth.js';
import type { GatewayConfig } from '../../src/config.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import { createGateway, type Gateway } from '../../src/server.js';
import type { KindDefinition, SimulatedUpstream } from '../../src/sources/kind.js';
import { eventually, type GraphQLResponse } from './harness.js';

/**
 * A disposable gateway over one simulated upstream of any registered kind (the contract test's
 * world): the kind's own simulator on a loopback port, manual clock, a fresh history file.
 */
export interface KindWorld {
  sim: SimulatedUpstream<unknown>;
  config: GatewayConfig;
  gateway: Gateway;
  source: string;
  gql<T = any>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  ws(): Client;
  close(): Promise<void>;
}

export async function startKindWorld(kind: KindDefinition, options: { scenario?: 'test' | 'demo'; logger?: Logger; auth?: AuthConfig } = {}): Promise<KindWorld> {
  const dir = await mkdtemp(join(tmpdir(), `backupgraph-${kind.kind}-`));
  const sim = (await kind.simulate({ scenario: options.scenario ?? 'test', clock: 'manual' })) as SimulatedUpstream<unknown>;
  const source = `${kind.kind}-contract`;
  const config: GatewayConfig = {
    listen: { host: '127.0.0.1', port: 0 },
    dataDir: dir,
    sources: [sim.source(source) as GatewayConfig['sources'][number]],
    history: { path: join(dir, 'history.db'), retentionDays: 30 },
    // Tests and benchmarks drive mutations: anonymous callers are operators here, on purpose.
    auth: options.auth ?? { keys: [], anonymousRole: 'operator' },
  };
  const gateway = await createGateway(config, { logger: options.logger ?? silentLogger() });
  await eventually(async () => (await fetch(gateway.url.replace(/graphql$/, 'ready'))).status === 200, 10_000, '/ready');
  const clients: Client[] = [];
  return {
    sim,
    config,
    gateway,
    source,
    async gql(query, variables) {
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as GraphQLResponse<any>;
    },
    ws() {
      const client = createClient({ url: gateway.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.dispose()));
      await gateway.close();
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
