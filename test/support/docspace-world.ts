import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Gateway } from '../../src/server.js';
import type { DocSpaceSourceConfig } from '../../src/sources/docspace/kind.js';
import { testScenario, type DocSpaceScenario } from '../../src/sources/docspace/scenarios.js';
import { startDocSpaceSimulator, type DocSpaceSimulator } from '../../src/sources/docspace/simulator.js';
import { startGateway, type GatewayClients } from './gateway.js';
import type { GraphQLResponse } from './streams.js';

export { collect, eventually } from './streams.js';

/**
 * A disposable DocSpace world for one test: the portal simulator on a manual clock, a gateway on
 * an ephemeral loopback port with a fresh history file, and every log line the gateway writes
 * (debug level) captured for the no-secret / no-stack assertions.
 */
export interface DocSpaceWorld extends GatewayClients {
  sim: DocSpaceSimulator;
  gateway: Gateway;
  /** The API key the simulator accepts (and the source sends). */
  token: string;
  /** Every log line written so far (JSON text). */
  logs: string[];
  /** Moves the portal's clock in steps, letting the gateway's pollers see each step. */
  advance(ms: number, stepMs?: number): Promise<void>;
  restartGateway(): Promise<void>;
}

export const SOURCE = 'portal';
export const API_KEY = 'sk-docspace-test-4f9a1c7e2b';
export const START = Date.parse('2026-07-01T12:00:00Z');

export interface DocSpaceWorldOptions {
  scenario?: Partial<DocSpaceScenario>;
  source?: Partial<DocSpaceSourceConfig>;
  extraSources?: (simUrl: string) => DocSpaceSourceConfig[];
}

export async function startDocSpaceWorld(options: DocSpaceWorldOptions = {}): Promise<DocSpaceWorld> {
  const sim = await startDocSpaceSimulator({ scenario: { ...testScenario(), apiKeys: [API_KEY], ...options.scenario }, clock: 'manual', startAt: START });
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split('\n').filter((line) => line !== ''));
      done();
    },
  });
  const logger = pino({ level: 'debug' }, stream);
  const g = await startGateway({
    sources: [
      {
        name: SOURCE,
        kind: 'docspace',
        baseUrl: sim.url,
        token: API_KEY,
        tokenScheme: 'bearer',
        poll: { activeMs: 100, idleMs: 150 },
        timeouts: { connectMs: 1_000, headersMs: 1_000, bodyMs: 1_000 },
        ...options.source,
      },
      ...(options.extraSources?.(sim.url) ?? []),
    ],
    logger,
    prefix: 'backupgraph-docspace-',
    upstream: sim,
  });
  return {
    sim,
    token: API_KEY,
    logs,
    get gateway() {
      return g.gateway;
    },
    gql: g.gql,
    ws: g.ws,
    async advance(ms, stepMs = 1_000) {
      for (let moved = 0; moved < ms; moved += stepMs) {
        sim.advance(Math.min(stepMs, ms - moved));
        await new Promise((resolve) => setTimeout(resolve, 120));
      }
    },
    restartGateway: g.restart,
    close: g.close,
  };
}

/**
 * Reads a graphql-sse "distinct connections" stream (fetch with accept: text/event-stream) and
 * hands out its `next` payloads; ends when the server completes the stream.
 */
export async function sse(url: string, query: string, variables: Record<string, unknown>, signal: AbortSignal): Promise<AsyncGenerator<GraphQLResponse<any>>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query, variables }),
    signal,
  });
  if (!response.ok || !response.body) throw new Error(`SSE request failed: ${response.status}`);
  const reader = response.body.getReader();
  return (async function* () {
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: ?(.*)$/m.exec(block)?.[1];
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trimStart())
          .join('\n');
        if (event === 'complete') return;
        if (data !== '') yield JSON.parse(data) as GraphQLResponse<any>;
      }
    }
  })();
}
