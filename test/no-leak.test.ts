import { readFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { KINDS } from '../src/sources/kinds.js';
import type { KindDefinition } from '../src/sources/kind.js';
import { collect } from './support/harness.js';
import { startKindWorld } from './support/world.js';

/**
 * The canary sweep: every kind's source runs through its error paths (upstream down, a status
 * nobody knows, bad arguments, an operation to its end) with its secrets (tokens, proxy headers)
 * known; none of them may appear in a response, a log line at trace level, /metrics or the history
 * file.
 */

/** Every string value the source config took from the environment (tokens, headers). */
function secretsOf(source: Record<string, unknown>): string[] {
  const out: string[] = [];
  const visit = (value: unknown, key: string) => {
    if (typeof value === 'string' && /token|key|secret|password|authorization|headers/i.test(key) && value.length >= 8) out.push(value);
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) visit(v, key === 'headers' ? 'headers' : k);
  };
  visit(source, '');
  return out;
}

describe.each(KINDS.map((kind) => [kind.kind, kind] as const))('no secret leaks: %s', (_name, kind: KindDefinition) => {
  it('keeps the source\'s secrets out of responses, logs, metrics and history through its error paths', { timeout: 60_000 }, async () => {
    let logs = '';
    const logger = pino({ level: 'trace' }, new Writable({ write: (chunk, _enc, done) => ((logs += String(chunk)), done()) }));
    const world = await startKindWorld(kind, { logger });
    const secrets = secretsOf(world.config.sources[0] as unknown as Record<string, unknown>);
    expect(secrets.length).toBeGreaterThan(0);
    // The vendor's own hiding places: a 5xx body, an error's stack, a cluster password.
    const canaries = world.sim.contract.canaries?.();
    if (canaries) secrets.push(...canaries.secrets);
    const responses: string[] = [];
    const ask = async (query: string, variables?: Record<string, unknown>) => responses.push(JSON.stringify(await world.gql(query, variables)));
    try {
      const stream = collect(world.ws(), `subscription { operationsChanged { change operation { id status message vendorStatus } } }`);
      await world.sim.contract.startOperation();
      for (let i = 0; i < 10; i++) {
        world.sim.advance(500);
        await new Promise((r) => setTimeout(r, 60));
      }
      world.sim.contract.reportUnknownStatus();
      world.sim.advance(500);
      await new Promise((r) => setTimeout(r, 300));
      world.sim.contract.breakUpstream();
      await new Promise((r) => setTimeout(r, 500));
      await ask(`{ sources { name health { status lastError } } operations(first: 50) { edges { node { id status message vendorStatus } } sourceErrors { message } } }`);
      await ask(`{ source(name: "nope") { name } node(id: "bm90LWFuLWlk") { id } }`);
      if (canaries) for (let i = 0; i < 2; i++) await ask(canaries.query);
      world.sim.contract.heal();
      for (let i = 0; i < 20; i++) {
        world.sim.advance(world.sim.contract.operationMs / 10);
        await new Promise((r) => setTimeout(r, 60));
      }
      await ask(`{ operations(first: 50) { edges { node { id status message vendorStatus transitions { message } } } } }`);
      stream.stop();
      responses.push(JSON.stringify(stream.events));
      const metrics = await (await fetch(world.gateway.url.replace(/graphql$/, 'metrics'))).text();
      const ready = await (await fetch(world.gateway.url.replace(/graphql$/, 'ready'))).text();
      await world.gateway.close();
      const history = (await readFile(world.config.history.path)).toString('latin1');
      const places = { responses: responses.join('\n'), logs, metrics, ready, history };
      expect(logs.length).toBeGreaterThan(0);
      for (const secret of secrets) {
        for (const [place, text] of Object.entries(places)) expect(text.includes(secret), `a secret appeared in ${place}`).toBe(false);
      }
    } finally {
      await world.close();
    }
  });
});
