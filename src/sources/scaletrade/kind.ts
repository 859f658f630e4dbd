import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { defineKind, secretRef, sourceConfigBase, type Resolved } from '../kind.js';
import type { ScaleTradeTls } from './connection.js';
import { demoScenario, testScenario } from './scenarios.js';
import { startScaleTradeSimulator } from './simulator.js';
import { ScaleTradeSource } from './source.js';

/** TLS for `wss://` URLs: PEM files read at start, and the name the certificate must carry. */
const tlsConfig = z
  .object({
    caFile: z.string().min(1).optional(),
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    servername: z.string().min(1).optional(),
  })
  .strict();

const scaleTradeConfig = sourceConfigBase('scaletrade')
  .extend({
    url: z.string().regex(/^(tcp:\/\/[^/\s]+:\d+\/?|wss?:\/\/\S+)$/, 'tcp://host:port or ws(s)://host:port/path'),
    token: secretRef,
    tls: tlsConfig.optional(),
    timeouts: z
      .object({
        connectMs: z.number().int().positive().optional(),
        /** Every command but StartFullBackup / StartRestoreRun (default 30 s). */
        requestMs: z.number().int().positive().optional(),
        /** StartFullBackup / StartRestoreRun; null (default) waits as long as the run lasts. */
        blockingMs: z.number().int().positive().nullable().optional(),
      })
      .strict()
      .optional(),
    /** While a run is active, a stream silent this long is backed by polling GetBackupProgress. */
    staleMs: z.number().int().min(100).default(10_000),
  })
  .strict();

type ParsedConfig = Resolved<z.output<typeof scaleTradeConfig>>;
export type ScaleTradeSourceConfig = Omit<ParsedConfig, 'tls'> & { tls?: ScaleTradeTls };

/** The PEM files of a `tls` block, read once when the source is created. */
function readTls(tls: ParsedConfig['tls']): ScaleTradeTls | undefined {
  if (!tls) return undefined;
  return {
    ...(tls.caFile ? { ca: readFileSync(tls.caFile, 'utf8') } : {}),
    ...(tls.certFile ? { cert: readFileSync(tls.certFile, 'utf8') } : {}),
    ...(tls.keyFile ? { key: readFileSync(tls.keyFile, 'utf8') } : {}),
    ...(tls.servername ? { servername: tls.servername } : {}),
  };
}

export const scaleTradeKind = defineKind({
  kind: 'scaletrade',
  vendor: 'ScaleTrade',
  schema: () => import('./schema.js'),
  config: scaleTradeConfig,
  create: (config, services) => {
    const { tls, ...rest } = config;
    const resolvedTls = readTls(tls);
    return new ScaleTradeSource({ ...rest, ...(resolvedTls ? { tls: resolvedTls } : {}) }, services);
  },
  async simulate({ scenario, clock }) {
    const sim = await startScaleTradeSimulator({
      scenario: scenario === 'demo' ? demoScenario() : testScenario(),
      clock,
      ...(clock === 'manual' ? { startAt: Date.parse('2026-07-01T12:00:00Z') } : {}),
    });
    const fast = clock === 'manual' || scenario === 'test';
    // The contract's failure: the server goes away (refused connections) until heal() brings it back.
    let outage: Promise<void> = Promise.resolve();
    return {
      source: (name) => ({
        name,
        kind: 'scaletrade' as const,
        url: sim.tcpUrl,
        token: sim.tokens.admin,
        poll: fast ? { activeMs: 200, idleMs: 500 } : { activeMs: 2_000, idleMs: 10_000 },
        staleMs: fast ? 1_000 : 5_000,
        ...(fast ? { timeouts: { connectMs: 1_000, requestMs: 3_000 } } : {}),
      }),
      describe: () => `ScaleTrade simulator: ${sim.tcpUrl} and ${sim.wsUrl}`,
      advance: (ms) => {
        if (clock === 'manual') sim.advance(ms);
      },
      contract: {
        async startOperation() {
          sim.startRun({ trigger: 'manual' });
        },
        operationMs: 40_000,
        breakUpstream: () => {
          outage = outage.then(() => sim.stop());
        },
        heal: () => {
          outage = outage.then(() => sim.restart());
        },
        reportUnknownStatus: () => sim.overrideStatus('suspended_by_operator'),
      },
      close: async () => {
        await outage.catch(() => undefined);
        await sim.close();
      },
    };
  },
});
