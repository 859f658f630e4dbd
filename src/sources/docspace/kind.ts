import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { defineKind, secretRef, sourceConfigBase, type Resolved } from '../kind.js';
import { demoScenario, testScenario } from './scenarios.js';
import { startDocSpaceSimulator } from './simulator.js';
import { DocSpaceSource } from './source.js';

const docSpaceConfig = sourceConfigBase('docspace')
  .extend({
    /** The portal address, e.g. https://example.onlyoffice.io */
    baseUrl: z.url(),
    token: secretRef,
    /** bearer: API keys and JWTs (`Authorization: Bearer …`); raw: a portal token from POST /api/2.0/authentication. */
    tokenScheme: z.enum(['bearer', 'raw']).default('bearer'),
  })
  .strict();

export type DocSpaceSourceConfig = Resolved<z.output<typeof docSpaceConfig>>;

export const docSpaceKind = defineKind({
  kind: 'docspace',
  vendor: 'ONLYOFFICE DocSpace',
  schema: () => import('./schema.js'),
  config: docSpaceConfig,
  create: (config, services) => new DocSpaceSource(config, services),
  async simulate({ scenario, clock }) {
    // A fresh random API key per run: the simulator checks it like a portal would.
    const token = `sk-${randomBytes(18).toString('base64url')}`;
    const base = scenario === 'demo' ? demoScenario() : testScenario();
    const sim = await startDocSpaceSimulator({
      scenario: { ...base, apiKeys: [token] },
      clock,
      ...(clock === 'manual' ? { startAt: Date.parse('2026-07-01T12:00:00Z') } : {}),
    });
    const fast = clock === 'manual' || scenario === 'test';
    return {
      source: (name) => ({
        name,
        kind: 'docspace' as const,
        baseUrl: sim.url,
        token,
        tokenScheme: 'bearer' as const,
        poll: fast ? { activeMs: 100, idleMs: 200 } : { activeMs: 1_000, idleMs: 5_000 },
        ...(fast ? { timeouts: { connectMs: 1_000, headersMs: 1_000, bodyMs: 1_000 } } : {}),
      }),
      describe: () => `ONLYOFFICE DocSpace simulator: ${sim.url}/api/2.0/backup (tenant ${sim.tenantId()})`,
      advance: (ms) => {
        if (clock === 'manual') sim.advance(ms);
      },
      contract: {
        async startOperation() {
          const response = await fetch(`${sim.url}/api/2.0/backup/startbackup`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ storageType: 0, storageParams: [], dump: false }),
          });
          if (!response.ok) throw new Error(`backup start refused: ${response.status}`);
        },
        operationMs: base.durations.backupMs,
        breakUpstream: () => sim.fail({ kind: 'status', status: 503 }, { count: Number.MAX_SAFE_INTEGER }),
        heal: () => sim.clearFaults(),
        // A task status value from a newer portal (DistributedTaskStatus ends at 4 today).
        canaries: () => {
          const secret = `DOCSPACE-STACK-CANARY-${randomBytes(6).toString('hex')}`;
          const envelope = { status: 1, statusCode: 400, error: { message: 'The schedule could not be read', type: 'System.ArgumentException', stack: `   at ASC.Backup ${secret}`, hresult: -2147024809 } };
          sim.fail({ kind: 'status', status: 400, body: envelope }, { count: 10, pathPrefix: '/api/2.0/backup/getbackupschedule' });
          return { secrets: [secret], query: '{ docSpace { backupSchedule { storageType } } }' };
        },
        reportUnknownStatus: () => sim.tamperProgress((wire) => (wire['isCompleted'] === true ? wire : { ...wire, status: 7 })),
      },
      close: () => sim.close(),
    };
  },
});
