import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { GatewayConfig } from '../../src/config.js';
import type { Gateway } from '../../src/server.js';
import type { ScaleTradeSimulator } from '../../src/sources/scaletrade/simulator.js';
import { startGateway, type GatewayClients } from './gateway.js';
import { startTestSimulator, urlOf, type TransportName } from './scaletrade-fixtures.js';

/**
 * A disposable gateway over the ScaleTrade simulator (manual clock) on one transport, with every
 * log line kept (to check that no secret is ever logged).
 */
export interface ScaleTradeWorld extends GatewayClients {
  sim: ScaleTradeSimulator;
  gateway: Gateway;
  logs: string[];
  /** Moves the simulator's clock in steps with real pauses, so the live session can follow. */
  run(totalMs: number, stepMs?: number): Promise<void>;
}

export const SOURCE = 'trading';

export async function startScaleTradeWorld(options: { transport?: TransportName; token?: 'admin' | 'viewer'; staleMs?: number } = {}): Promise<ScaleTradeWorld> {
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
  const g = await startGateway({
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
    logger,
    prefix: 'backupgraph-scaletrade-',
    upstream: sim,
  });
  return {
    sim,
    gateway: g.gateway,
    logs,
    gql: g.gql,
    ws: g.ws,
    async run(totalMs, stepMs = 1_000) {
      for (let elapsed = 0; elapsed < totalMs; elapsed += stepMs) {
        sim.advance(stepMs);
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    },
    close: g.close,
  };
}
