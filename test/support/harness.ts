import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { AuthConfig } from '../../src/auth.js';
import type { GatewayConfig, QueryLimitsConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import type { AivenSourceConfig } from '../../src/sources/aiven/kind.js';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/server.js';
import { testScenario, type AivenScenario } from '../../src/sources/aiven/scenarios.js';
import { startAivenSimulator, type AivenSimulator } from '../../src/sources/aiven/simulator.js';

/**
 * A disposable world for one test: an Aiven simulator and a gateway on ephemeral loopback ports,
 * a history file in a fresh temp directory. Everything stops with close().
 */
export interface World {
  sim: AivenSimulator;
  gateway: Gateway;
  token: string;
  dir: string;
  /** POST a GraphQL request, return the parsed body. */
  gql<T = any>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  /** A graphql-ws client on the gateway (closed by close()). */
  ws(): Client;
  /** Restart only the gateway, keeping the simulator and the history file. */
  restartGateway(): Promise<void>;
  close(): Promise<void>;
}

export interface GraphQLResponse<T> {
  data?: T | null;
  errors?: Array<{ message: string; path?: (string | number)[]; extensions?: Record<string, any> }>;
}

export const TOKEN = 'test-token-5f1c0e2a9b7d';

export interface WorldOptions {
  scenario?: AivenScenario;
  clock?: 'manual' | 'realtime';
  source?: Partial<Omit<AivenSourceConfig, 'token'>>;
  /** Extra sources (e.g. one pointing at a dead port, or at the simulator with a wrong token). */
  extraSources?: (simUrl: string) => AivenSourceConfig[];
  gateway?: GatewayOptions;
  /** Keys and roles (default: no keys, anonymous callers are operators). */
  auth?: AuthConfig;
  limits?: QueryLimitsConfig;
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'backupgraph-test-'));
  const sim = await startAivenSimulator({ token: TOKEN, scenario: options.scenario ?? testScenario(), clock: options.clock ?? 'manual', startAt: Date.parse('2026-07-01T12:00:00Z') });
  const config: GatewayConfig = {
    listen: { host: '127.0.0.1', port: 0 },
    dataDir: dir,
    sources: [
      {
        name: 'aiven-test',
        kind: 'aiven',
        baseUrl: sim.url,
        token: TOKEN,
        projects: ['test-project'],
        poll: { activeMs: 100, idleMs: 200 },
        timeouts: { connectMs: 1_000, headersMs: 1_000, bodyMs: 1_000 },
        ...options.source,
      },
      ...(options.extraSources?.(sim.url) ?? []),
    ],
    history: { path: join(dir, 'history.db'), retentionDays: 30 },
    // Tests and benchmarks drive mutations: anonymous callers are operators here, on purpose.
    auth: options.auth ?? { keys: [], anonymousRole: 'operator' },
    ...(options.limits ? { limits: options.limits } : {}),
  };
  const quiet = silentLogger();
  let gateway = await ready(await createGateway(config, { logger: quiet, ...options.gateway }));
  const clients: Client[] = [];

  const world: World = {
    sim,
    token: TOKEN,
    dir,
    get gateway() {
      return gateway;
    },
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
    async restartGateway() {
      await gateway.close();
      gateway = await ready(await createGateway(config, { logger: quiet, ...options.gateway }));
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.dispose()));
      await gateway.close();
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  } as World;
  return world;
}

/** Resolves once the start-up probes are done (so they do not land in a test's request counts). */
async function ready(gateway: Gateway): Promise<Gateway> {
  await eventually(async () => (await fetch(gateway.url.replace(/graphql$/, 'ready'))).status === 200, 10_000, '/ready');
  return gateway;
}

/** Collects events of a graphql-ws subscription until `until` holds or the bound is reached. */
export function collect<T = any>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
): { events: GraphQLResponse<T>[]; done: Promise<void>; next(predicate: (e: GraphQLResponse<T>) => boolean, timeoutMs?: number): Promise<GraphQLResponse<T>>; stop(): void } {
  const events: GraphQLResponse<T>[] = [];
  const waiters: Array<{ predicate: (e: GraphQLResponse<T>) => boolean; resolve: (e: GraphQLResponse<T>) => void }> = [];
  let resolveDone!: () => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  done.catch(() => undefined);
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (event) => {
        const e = event as GraphQLResponse<T>;
        events.push(e);
        for (const w of [...waiters]) if (w.predicate(e)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
      },
      error: (error) => rejectDone(error),
      complete: () => resolveDone(),
    },
  );
  return {
    events,
    done,
    stop: unsubscribe,
    next(predicate, timeoutMs = 10_000) {
      const seen = events.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(events).slice(0, 2000)}`)), timeoutMs);
        waiters.push({ predicate, resolve: (e) => { clearTimeout(timer); resolve(e); } });
      });
    },
  };
}

/** Waits until check() returns a truthy value, polling every 20 ms, at most timeoutMs. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/**
 * The id of the restore run on a node, once the gateway has seen it. NodeRestore ids are per run
 * (`[source, project, service, node, startedAt]`, startedAt = when the gateway first saw the run),
 * so tests discover them instead of building them.
 */
export async function restoreIdOf(world: Pick<World, 'gql'>, service: string, node: string, options: { source?: string; project?: string; timeoutMs?: number } = {}): Promise<string> {
  const query = `query ($source: String, $project: String!, $service: String!) { aiven(source: $source) { service(project: $project, name: $service) { nodes { name restore { id } } } } }`;
  return eventually(
    async () => {
      const result = await world.gql(query, { source: options.source ?? 'aiven-test', project: options.project ?? 'test-project', service });
      const nodes = (result.data?.aiven?.service?.nodes ?? []) as Array<{ name: string; restore: { id: string } | null }>;
      return nodes.find((n) => n.name === node)?.restore?.id;
    },
    options.timeoutMs ?? 5_000,
    `the restore id of ${service}/${node}`,
  );
}
