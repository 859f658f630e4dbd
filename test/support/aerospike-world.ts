import { pino } from 'pino';
import type { Gateway } from '../../src/server.js';
import type { AerospikeSourceConfig } from '../../src/sources/aerospike/kind.js';
import { testScenario } from '../../src/sources/aerospike/scenarios.js';
import { startAerospikeSimulator, type AbsSimulator, type AbsSimulatorOptions } from '../../src/sources/aerospike/simulator.js';
import { startGateway, type GatewayClients } from './gateway.js';
import type { GraphQLResponse } from './streams.js';

/**
 * A disposable world for one ABS test: the ABS simulator (manual clock by default) and a gateway
 * on ephemeral loopback ports, a fresh history file, and every log line the gateway wrote (at
 * trace level) so that tests can check no secret reaches the logs.
 */
export interface AbsWorld extends GatewayClients {
  sim: AbsSimulator;
  gateway: Gateway;
  source: string;
  logs: string[];
  /** Moves the simulator clock and lets the gateway's pollers look again. */
  advance(ms: number): Promise<void>;
}

export const SOURCE = 'abs-test';
export const START = Date.parse('2026-07-01T12:00:00Z');

export interface AbsWorldOptions {
  sim?: Partial<AbsSimulatorOptions>;
  source?: Partial<AerospikeSourceConfig>;
}

export async function startAbsWorld(options: AbsWorldOptions = {}): Promise<AbsWorld> {
  const sim = await startAerospikeSimulator({ scenario: testScenario(), clock: 'manual', startAt: START, ...options.sim });
  const logs: string[] = [];
  const logger = pino({ level: 'trace' }, { write: (line: string) => void logs.push(line) });
  const g = await startGateway({
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
    logger,
    prefix: 'backupgraph-abs-',
    upstream: sim,
  });
  return {
    sim,
    gateway: g.gateway,
    source: SOURCE,
    logs,
    gql: g.gql,
    ws: g.ws,
    async advance(ms) {
      sim.advance(ms);
      await new Promise((resolve) => setTimeout(resolve, 250)); // a little over one active poll
    },
    close: g.close,
  };
}

/** The data of a response that must have no errors. */
export function ok<T>(response: GraphQLResponse<T>): T {
  if (response.errors?.length) throw new Error(`unexpected errors: ${JSON.stringify(response.errors)}`);
  return response.data as T;
}
