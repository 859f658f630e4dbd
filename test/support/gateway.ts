import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { AuthConfig } from '../../src/auth.js';
import type { GatewayConfig, QueryLimitsConfig } from '../../src/config.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/server.js';
import { eventually, type GraphQLResponse } from './streams.js';

/**
 * The part every test world shares: a gateway on an ephemeral loopback port over the given
 * sources, a fresh temp directory with the history file, a GraphQL-over-HTTP helper, graphql-ws
 * clients, and one close() that stops everything (clients, gateway, the upstream, the directory).
 */
export interface TestGateway {
  /** The running gateway (a new one after restart()). */
  readonly gateway: Gateway;
  config: GatewayConfig;
  dir: string;
  /** POST a GraphQL request, return the parsed body. */
  gql<T = any>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  /** A graphql-ws client on the gateway (closed by close()). */
  ws(): Client;
  /** Restarts only the gateway, keeping the upstream and the history file. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** What every world hands its tests from its gateway: requests, subscriptions, one close(). */
export type GatewayClients = Pick<TestGateway, 'gql' | 'ws' | 'close'>;

export interface StartGatewayOptions {
  sources: GatewayConfig['sources'];
  /** Keys and roles (default: no keys, anonymous callers are operators). */
  auth?: AuthConfig;
  limits?: QueryLimitsConfig;
  /** Any further configuration (persisted operations, HTTP options, …). */
  config?: Partial<Pick<GatewayConfig, 'http' | 'persistedOperations' | 'shutdown' | 'tracing'>>;
  /** Default: silent. */
  logger?: Logger;
  gatewayOptions?: GatewayOptions;
  /** Prefix of the temp directory's name. */
  prefix?: string;
  /** The simulated upstream (or anything else) to stop on close(), after the gateway. */
  upstream?: { close(): Promise<void> };
}

export async function startGateway(options: StartGatewayOptions): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), options.prefix ?? 'backupgraph-test-'));
  const config: GatewayConfig = {
    listen: { host: '127.0.0.1', port: 0 },
    dataDir: dir,
    sources: options.sources,
    history: { path: join(dir, 'history.db'), retentionDays: 30 },
    // Tests and benchmarks drive mutations: anonymous callers are operators here, on purpose.
    auth: options.auth ?? { keys: [], anonymousRole: 'operator' },
    ...(options.limits ? { limits: options.limits } : {}),
    ...options.config,
  };
  const gatewayOptions: GatewayOptions = { logger: options.logger ?? silentLogger(), ...options.gatewayOptions };
  const start = async () => ready(await createGateway(config, gatewayOptions));
  let gateway: Gateway;
  try {
    gateway = await start();
  } catch (error) {
    await options.upstream?.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const clients: Client[] = [];
  return {
    get gateway() {
      return gateway;
    },
    config,
    dir,
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
    async restart() {
      await gateway.close();
      gateway = await start();
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.dispose()));
      await gateway.close();
      await options.upstream?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once the start-up probes are done (so they do not land in a test's request counts). */
async function ready(gateway: Gateway): Promise<Gateway> {
  await eventually(async () => (await fetch(gateway.url.replace(/graphql$/, 'ready'))).status === 200, 10_000, '/ready');
  return gateway;
}
