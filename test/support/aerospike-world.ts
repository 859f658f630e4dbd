import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { pino } from 'pino';
import WebSocket from 'ws';
import type { GatewayConfig } from '../../src/config.js';
import { createGateway, type Gateway } from '../../src/server.js';
import type { AerospikeSourceConfig } from '../../src/sources/aerospike/kind.js';
import { testScenario } from '../../src/sources/aerospike/scenarios.js';
import { startAerospikeSimulator, type AbsSimulator, type AbsSimulatorOptions } from '../../src/sources/aerospike/simulator.js';
import { eventually, type GraphQLResponse } from './harness.js';

/**
 * A disposable world for one ABS test: the ABS simulator (manual clock by default) and a gateway
 * on ephemeral loopback ports, a fresh history file, and every log line the gateway wrote (at
 * trace level) so that tests can check no secret reaches the logs.
 */
export interface AbsWorld {
  sim: AbsSimulator;
  gateway: Gateway;
  source: string;
  logs: string[];
  gql<T = any>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  ws(): Client;
  /** Moves the simulator clock and lets the gateway's pollers look again. */
  advance(ms: number): Promise<void>;
  close(): Promise<void>;
}

export const SOURCE = 'abs-test';
export const START = Date.parse('2026-07-01T12:00:00Z');

export interface AbsWorldOptions {
  sim?: Partial<AbsSimulatorOptions>;
  source?: Partial<AerospikeSourceConfig>;
}

export async function startAbsWorld(options: AbsWorldOptions = {}): Promise<AbsWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'backupgraph-abs-'));
  const sim = await startAerospikeSimulator({ scenario: testScenario(), clock: 'manual', startAt: START, ...options.sim });
  const config: GatewayConfig = {
    listen: { host: '127.0.0.1', port: 0 },
    dataDir: dir,
    sources: [
      {
        name: SOURCE,
        kind: 'aerospike-backup-service',
        baseUrl: sim.url,
        poll: { activeMs: 100, idleMs: 200 },
        triggerConfirmMs: 1_500,
        timeouts: { connectMs: 1_000, headersMs: 1_000, bodyMs: 1_000 },
        ...options.source,
      } as AerospikeSourceConfig,
    ],
    history: { path: join(dir, 'history.db'), retentionDays: 30 },
    // Tests and benchmarks drive mutations: anonymous callers are operators here, on purpose.
    auth: { keys: [], anonymousRole: 'operator' },
  };
  const logs: string[] = [];
  const logger = pino({ level: 'trace' }, { write: (line: string) => void logs.push(line) });
  const gateway = await createGateway(config, { logger });
  await eventually(async () => (await fetch(gateway.url.replace(/graphql$/, 'ready'))).status === 200, 10_000, '/ready');
  const clients: Client[] = [];
  return {
    sim,
    gateway,
    source: SOURCE,
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
    async advance(ms) {
      sim.advance(ms);
      await new Promise((resolve) => setTimeout(resolve, 250)); // a little over one active poll
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.dispose()));
      await gateway.close();
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The data of a response that must have no errors. */
export function ok<T>(response: GraphQLResponse<T>): T {
  if (response.errors?.length) throw new Error(`unexpected errors: ${JSON.stringify(response.errors)}`);
  return response.data as T;
}
