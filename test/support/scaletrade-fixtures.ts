import { ScaleTradeClient } from '../../src/sources/scaletrade/client.js';
import type { ScaleTradeConnectionOptions, ScaleTradePush } from '../../src/sources/scaletrade/connection.js';
import { startScaleTradeSimulator, type ScaleTradeSimulator, type ScaleTradeSimulatorOptions } from '../../src/sources/scaletrade/simulator.js';
import { testScenario } from '../../src/sources/scaletrade/scenarios.js';

export const START_AT = Date.UTC(2026, 6, 1, 14, 15, 0);
export const TRANSPORTS = ['tcp', 'ws'] as const;
export type TransportName = (typeof TRANSPORTS)[number];

export function startTestSimulator(overrides: Partial<ScaleTradeSimulatorOptions> = {}): Promise<ScaleTradeSimulator> {
  return startScaleTradeSimulator({ scenario: testScenario(), clock: 'manual', startAt: START_AT, ...overrides });
}

export function urlOf(sim: ScaleTradeSimulator, transport: TransportName): string {
  return transport === 'tcp' ? sim.tcpUrl : sim.wsUrl;
}

/** A client with its pushed events collected. */
export async function connectClient(
  sim: ScaleTradeSimulator,
  transport: TransportName,
  options: Partial<ScaleTradeConnectionOptions> = {},
): Promise<{ client: ScaleTradeClient; events: ScaleTradePush[] }> {
  const events: ScaleTradePush[] = [];
  const client = await ScaleTradeClient.connect({
    url: urlOf(sim, transport),
    token: sim.tokens.admin,
    source: 'trading',
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { client, events };
}

/** Polls `predicate` every 5 ms; fails after `timeoutMs` (a bound, not a timing assertion). */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Settles a promise into a value or its error, for assertions on rejections. */
export async function outcome<T>(promise: Promise<T>): Promise<{ value?: T; error?: any }> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
  }
}
