import type { AuthConfig } from '../../src/auth.js';
import type { GatewayConfig } from '../../src/config.js';
import type { Logger } from '../../src/logger.js';
import type { Gateway } from '../../src/server.js';
import type { KindDefinition, SimulateOptions, SimulatedUpstream } from '../../src/sources/kind.js';
import { startGateway, type GatewayClients } from './gateway.js';

/**
 * A disposable gateway over one simulated upstream of any registered kind (the contract test's
 * world): the kind's own simulator on a loopback port, manual clock, a fresh history file.
 */
export interface KindWorld extends GatewayClients {
  sim: SimulatedUpstream<unknown>;
  config: GatewayConfig;
  gateway: Gateway;
  source: string;
}

export interface KindWorldOptions {
  scenario?: SimulateOptions['scenario'];
  /** Default: manual. */
  clock?: SimulateOptions['clock'];
  logger?: Logger;
  auth?: AuthConfig;
}

export async function startKindWorld(kind: KindDefinition, options: KindWorldOptions = {}): Promise<KindWorld> {
  const sim = (await kind.simulate({ scenario: options.scenario ?? 'test', clock: options.clock ?? 'manual' })) as SimulatedUpstream<unknown>;
  const source = `${kind.kind}-contract`;
  const g = await startGateway({
    sources: [sim.source(source) as GatewayConfig['sources'][number]],
    auth: options.auth,
    logger: options.logger,
    prefix: `backupgraph-${kind.kind}-`,
    upstream: sim,
  });
  return {
    sim,
    config: g.config,
    gateway: g.gateway,
    source,
    gql: g.gql,
    ws: g.ws,
    close: g.close,
  };
}
