import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { defineKind, secretRef, sourceConfigBase, type Resolved } from '../kind.js';
import { demoScenario, testScenario } from './scenarios.js';
import { startAivenSimulator } from './simulator.js';
import { AivenSource } from './source.js';

const aivenConfig = sourceConfigBase('aiven')
  .extend({
    baseUrl: z.url().default('https://api.aiven.io'),
    token: secretRef,
    projects: z.array(z.string().min(1)).optional(),
  })
  .strict();

export type AivenSourceConfig = Resolved<z.output<typeof aivenConfig>>;

export const aivenKind = defineKind({
  kind: 'aiven',
  vendor: 'Aiven',
  schema: () => import('./schema.js'),
  config: aivenConfig,
  create: (config, services) => new AivenSource(config, services),
  async simulate({ scenario, clock }) {
    // A fresh random token per run: the simulator checks it like Aiven would.
    const token = randomBytes(18).toString('base64url');
    const sim = await startAivenSimulator({
      token,
      scenario: scenario === 'demo' ? demoScenario() : testScenario(),
      clock,
      bringUpMs: 1_000,
      ...(clock === 'manual' ? { startAt: Date.parse('2026-07-01T12:00:00Z') } : {}),
    });
    const projects = scenario === 'demo' ? ['acme-prod', 'acme-staging'] : ['test-project'];
    const fast = clock === 'manual' || scenario === 'test';
    return {
      source: (name) => ({
        name,
        kind: 'aiven' as const,
        baseUrl: sim.url,
        token,
        projects,
        poll: fast ? { activeMs: 100, idleMs: 200 } : { activeMs: 1_000, idleMs: 5_000 },
        ...(fast ? { timeouts: { connectMs: 1_000, headersMs: 1_000, bodyMs: 1_000 } } : {}),
      }),
      describe: () => `Aiven simulator: ${sim.url}/v1 (projects ${projects.join(', ')})`,
      advance: (ms) => {
        if (clock === 'manual') sim.advance(ms);
      },
      contract: {
        // A plan change replaces the nodes of a running service: they restore from backup.
        async startOperation() {
          const response = await fetch(`${sim.url}/v1/project/test-project/service/kafka-idle`, {
            method: 'PUT',
            headers: { authorization: `aivenv1 ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ plan: 'business-8' }),
          });
          if (!response.ok) throw new Error(`plan change refused: ${response.status}`);
        },
        operationMs: 30_000,
        breakUpstream: () => sim.fail({ kind: 'status', status: 503 }, { count: Number.MAX_SAFE_INTEGER }),
        heal: () => {
          sim.clearFaults();
          sim.tamper(null);
        },
        canaries: () => {
          const secret = `AIVEN-5XX-CANARY-${randomBytes(6).toString('hex')}`;
          sim.fail({ kind: 'status', status: 500, body: { message: `internal failure ${secret}`, errors: [secret] } }, { count: 10, pathPrefix: '/v1/service_types' });
          return { secrets: [secret], query: '{ aiven { serviceTypes { name } } }' };
        },
        reportUnknownStatus: () =>
          sim.tamper((_project, service) => ({
            ...service,
            node_states: (service['node_states'] as Array<Record<string, unknown>>).map((node) =>
              node['state'] === 'running' ? node : { ...node, state: 'hibernating_quantum' },
            ),
          })),
      },
      close: () => sim.close(),
    };
  },
});
