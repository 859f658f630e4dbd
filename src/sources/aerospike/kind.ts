import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { defineKind, secretRef, sourceConfigBase, type Resolved } from '../kind.js';
import { demoScenario, testScenario } from './scenarios.js';
import { startAerospikeSimulator } from './simulator.js';
import { AerospikeSource } from './source.js';

/**
 * Aerospike Backup Service (docs/upstreams/aerospike-backup-service.md). ABS has no auth of its
 * own: static headers are for a fronting proxy, TLS files for its HTTPS listener (mTLS).
 */
const aerospikeConfig = sourceConfigBase('aerospike-backup-service')
  .extend({
    baseUrl: z.url(),
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/, 'an HTTP header name'), secretRef).optional(),
    tls: z
      .object({ caFile: z.string().min(1).optional(), certFile: z.string().min(1).optional(), keyFile: z.string().min(1).optional() })
      .strict()
      .refine((tls) => (tls.certFile === undefined) === (tls.keyFile === undefined), 'certFile and keyFile go together (mTLS)')
      .optional(),
    /** How long a triggered backup may take to show up, on top of its delay. */
    triggerConfirmMs: z.number().int().min(0).max(600_000).default(10_000),
  })
  .strict();

export type AerospikeSourceConfig = Resolved<z.output<typeof aerospikeConfig>>;

const TEST_START = Date.parse('2026-07-01T12:00:00Z');

export const aerospikeKind = defineKind({
  kind: 'aerospike-backup-service',
  vendor: 'Aerospike Backup Service',
  schema: () => import('./schema.js'),
  config: aerospikeConfig,
  create: (config, services) => new AerospikeSource(config, services),
  async simulate({ scenario, clock }) {
    // The simulated ABS sits behind a "proxy" that wants a random key, as a fronting proxy would.
    const proxyKey = randomBytes(18).toString('base64url');
    const sim = await startAerospikeSimulator({
      scenario: scenario === 'demo' ? demoScenario() : testScenario(),
      clock,
      requiredHeaders: { 'x-proxy-auth': proxyKey },
      ...(clock === 'manual' ? { startAt: TEST_START } : {}),
    });
    const fast = clock === 'manual' || scenario === 'test';
    const post = async (path: string, body?: unknown): Promise<string> => {
      const response = await fetch(`${sim.url}${path}`, {
        method: 'POST',
        headers: { 'x-proxy-auth': proxyKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`ABS simulator refused ${path}: ${response.status} ${text.trim()}`);
      return text;
    };
    return {
      source: (name) => ({
        name,
        kind: 'aerospike-backup-service' as const,
        baseUrl: sim.url,
        headers: { 'X-Proxy-Auth': proxyKey },
        poll: fast ? { activeMs: 100, idleMs: 200 } : { activeMs: 1_000, idleMs: 5_000 },
        triggerConfirmMs: fast ? 2_000 : 10_000,
        ...(fast ? { timeouts: { connectMs: 1_000, headersMs: 1_000, bodyMs: 1_000 } } : {}),
      }),
      describe: () => `Aerospike Backup Service simulator: ${sim.url}/v1 (${scenario} scenario)`,
      advance: (ms) => {
        if (clock === 'manual') sim.advance(ms);
      },
      contract: {
        // A restore of routine1's completed full: 10,000 records at 1,000 records/s.
        async startOperation() {
          const list = JSON.parse(await (await fetch(`${sim.url}/v1/backups/full/routine1`, { headers: { 'x-proxy-auth': proxyKey } })).text()) as Array<{ key: string }>;
          const key = list.at(-1)?.key;
          if (!key) throw new Error('routine1 has no full backup to restore');
          await post('/v1/restore/full', { 'backup-data-path': key, 'destination-name': 'drCluster', 'source-name': 'minio' });
        },
        operationMs: 15_000,
        breakUpstream: () => sim.fail({ kind: 'status', status: 503 }, { count: Number.MAX_SAFE_INTEGER }),
        heal: () => {
          sim.clearFaults();
          sim.overrideRunningStatus(null);
        },
        // The test scenario's clusters carry these passwords (scenarios.ts): never returned, to anyone.
        canaries: () => ({
          secrets: ['psw-cluster-secret', 'dr-cluster-secret'],
          query: '{ aerospike { clusters { name credentials { user password passwordPath } config } } }',
        }),
        reportUnknownStatus: () => sim.overrideRunningStatus('Throttled'),
      },
      close: () => sim.close(),
    };
  },
});
