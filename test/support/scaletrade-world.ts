import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createClient, type Client } from 'graphql-ws';
import { pino } from 'pino';
import WebSocket from 'ws';
import type { GatewayConfig } from '../../src/config.js';
import { createGateway, type Gateway } from '../../src/server.js';
import type { ScaleTradeSimulator } from '../../src/sources/scaletrade/simulator.js';
import { eventually, type GraphQLResponse } from './harness.js';
import { startTestSimulator, urlOf, type TransportName } from './scaletrade-fixtures.js';

/**
 * A disposable gateway over the ScaleTrade simulator (manual clock) on one transport, with every
 * log line kept (to check that no secret is ever logged).
 */
export interface ScaleTradeWorld {
  sim: ScaleTradeSimulator;
  gateway: Gateway;
  logs: string[];
  gql<T = any>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  ws(): Client;
  /** Moves the simulator's clock in steps with real pauses, so the live session can follow. */
  run(totalMs: number, stepMs?: number): Promise<void>;
  close(): Promise<void>;
}

export const SOURCE = 'trading';

export async function startScaleTradeWorld(options: { transport?: TransportName; token?: 'admin' | 'viewer'; staleMs?: number } = {}): Promise<ScaleTradeWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'backupgraph-scaletrade-'));
  const sim = await startTestSimulator();
  const logs: string[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  );
  const config: GatewayConfig = {
    listen: { host: '127.0.0.1', port: 0 },
    dataDir: dir,
    sources: [
      {
        name: SOURCE,
        kind: 'scaletrade',
        url: urlOf(sim, options.transport ?? 'tcp'),
        token: options.token === 'viewer' ? sim.tokens.viewer : sim.tokens.admin,
        poll: { activeMs: 100, idleMs: 300 },
        staleMs: options.staleMs ?? 60_000,
        timeouts: { connectMs: 1_000, requestMs: 2_000 },
      } as GatewayConfig['sources'][number],
    ],
    history: { path: join(dir, 'history.db'), retentionDays: 30 },
    // Tests and benchmarks drive mutations: anonymous callers are operators here, on purpose.
    auth: { keys: [], anonymousRole: 'operator' },
  };
  const gateway = await createGateway(config, { logger });
  await eventually(async () => (await fetch(gateway.url.replace(/graphql$/, 'ready'))).status === 200, 10_000, '/ready');
  const clients: Client[] = [];
  return {
    sim,
    gateway,
    logs,
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
    async run(totalMs, stepMs = 1_000) {
      for (let elapsed = 0; elapsed < totalMs; elapsed += stepMs) {
        sim.advance(stepMs);
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.dispose()));
      await gateway.close();
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
