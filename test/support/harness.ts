import type { AuthConfig } from '../../src/auth.js';
import type { QueryLimitsConfig } from '../../src/config.js';
import type { AivenSourceConfig } from '../../src/sources/aiven/kind.js';
import type { Gateway, GatewayOptions } from '../../src/server.js';
import { testScenario, type AivenScenario } from '../../src/sources/aiven/scenarios.js';
import { startAivenSimulator, type AivenSimulator } from '../../src/sources/aiven/simulator.js';
import { startGateway, type GatewayClients, type StartGatewayOptions } from './gateway.js';
import { eventually, type GraphQLResponse } from './streams.js';

export { collect, eventually, type GraphQLResponse } from './streams.js';

/**
 * A disposable world for one test: an Aiven simulator and a gateway on ephemeral loopback ports,
 * a history file in a fresh temp directory. Everything stops with close().
 */
export interface World extends GatewayClients {
  sim: AivenSimulator;
  gateway: Gateway;
  token: string;
  dir: string;
  /** Restart only the gateway, keeping the simulator and the history file. */
  restartGateway(): Promise<void>;
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
  config?: StartGatewayOptions['config'];
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const sim = await startAivenSimulator({ token: TOKEN, scenario: options.scenario ?? testScenario(), clock: options.clock ?? 'manual', startAt: Date.parse('2026-07-01T12:00:00Z') });
  const g = await startGateway({
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
    auth: options.auth,
    limits: options.limits,
    config: options.config,
    gatewayOptions: options.gateway,
    upstream: sim,
  });
  return {
    sim,
    token: TOKEN,
    dir: g.dir,
    get gateway() {
      return g.gateway;
    },
    gql: g.gql,
    ws: g.ws,
    restartGateway: g.restart,
    close: g.close,
  };
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
