/**
 * ABS benchmark (issue 7): upstream calls per poll interval with 1,000 graphql-ws subscribers to
 * `operationUpdated`, spread over 10 routines' running backups and 10 restore jobs. Figures only,
 * no thresholds. One process: the ABS simulator (realtime clock), one gateway (createGateway on
 * 127.0.0.1) and the subscribers, all over loopback.
 *
 *   npx tsx bench/aerospike.ts            (or `runAerospikeBench()` from bench/run.ts)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { GatewayConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { createGateway } from '../src/server.js';
import type { AbsScenario } from '../src/sources/aerospike/scenarios.js';
import { startAerospikeSimulator } from '../src/sources/aerospike/simulator.js';

const ROUTINES = 10;
const RESTORES = 10;
const SUBSCRIBERS = 1_000;
const SOCKETS = 10;
const POLL_MS = 1_000;
const WINDOW_MS = 10_000;

export interface AerospikeBenchResult {
  subscribers: number;
  operations: number;
  intervals: number;
  currentBackupPerRoutine: number;
  statusPerJob: number;
  jobsListings: number;
  totalPerInterval: number;
  eventsDelivered: number;
  errors: number;
}

/** 10 routines whose fulls run for hours, each with one completed full to restore from. */
function scenario(): AbsScenario {
  const routines: AbsScenario['routines'] = {};
  for (let i = 1; i <= ROUTINES; i++) {
    routines[`bench-${String(i).padStart(2, '0')}`] = {
      config: { 'backup-policy': 'defaultPolicy', 'source-cluster': 'absDefaultCluster', storage: 'local', 'interval-cron': '@yearly', namespaces: [`ns${i}`] },
      records: 50_000_000,
      recordsPerSecond: 2_000,
      initialFulls: 1,
    };
  }
  return {
    version: { version: '3.7.0', buildTime: '2026-06-01T00:00:00Z', commit: 'bench' },
    clusters: { absDefaultCluster: { 'seed-nodes': [{ 'host-name': 'localhost', port: 3000 }], credentials: { user: 'bench', password: 'bench-secret' } } },
    storage: { local: { 'local-storage': { path: './localStorage' } } },
    routines,
    restoreRecordsPerSecond: 1_000,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runAerospikeBench(log: (line?: string) => void = console.log): Promise<AerospikeBenchResult> {
  const sim = await startAerospikeSimulator({ scenario: scenario(), clock: 'realtime' });
  const dir = await mkdtemp(join(tmpdir(), 'backupgraph-bench-abs-'));
  const config: GatewayConfig = {
    listen: { host: '127.0.0.1', port: 0 },
    dataDir: dir,
    sources: [{ name: 'abs-bench', kind: 'aerospike-backup-service', baseUrl: sim.url, poll: { activeMs: POLL_MS, idleMs: 5_000 }, triggerConfirmMs: 10_000 }],
    history: { path: join(dir, 'history.db'), retentionDays: 30 },
    // Tests and benchmarks drive mutations: anonymous callers are operators here, on purpose.
    auth: { keys: [], anonymousRole: 'operator' },
  };
  const gateway = await createGateway(config, { logger: silentLogger() });
  const clients: Client[] = [];
  try {
    // Start the work straight on ABS (as its scheduler and operators would).
    const routines = Object.keys(scenario().routines);
    const keys: string[] = [];
    for (const routine of routines) {
      const list = (await (await fetch(`${sim.url}/v1/backups/full/${routine}`)).json()) as Array<{ key: string }>;
      keys.push(list[0]!.key);
      await fetch(`${sim.url}/v1/backups/full/${routine}`, { method: 'POST' });
    }
    for (const key of keys.slice(0, RESTORES)) {
      await fetch(`${sim.url}/v1/restore/full`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ 'backup-data-path': key, 'destination-name': 'absDefaultCluster', 'source-name': 'local' }),
      });
    }
    await sleep(200);

    const gql = async (query: string) =>
      (await (await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) })).json()) as any;
    let ids: string[] = [];
    for (let attempt = 0; attempt < 50 && ids.length < ROUTINES + RESTORES; attempt++) {
      const page = await gql('{ operations(filter: { active: true }, first: 100) { edges { node { id kind } } } }');
      ids = (page.data?.operations.edges ?? []).map((e: any) => e.node.id);
      if (ids.length < ROUTINES + RESTORES) await sleep(200);
    }
    if (ids.length < ROUTINES + RESTORES) throw new Error(`expected ${ROUTINES + RESTORES} operations in flight, found ${ids.length}`);

    const query = 'subscription ($id: ID!) { operationUpdated(id: $id) { id status progress { percent done } } }';
    let events = 0;
    let errors = 0;
    const firstEvent = new Set<number>();
    for (let s = 0; s < SOCKETS; s++) clients.push(createClient({ url: gateway.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, keepAlive: 0 }));
    for (let i = 0; i < SUBSCRIBERS; i++) {
      clients[i % SOCKETS]!.subscribe(
        { query, variables: { id: ids[i % ids.length] } },
        {
          next: (e) => {
            events++;
            firstEvent.add(i);
            if (e.errors?.length) errors++;
          },
          error: () => errors++,
          complete: () => undefined,
        },
      );
    }
    for (let waited = 0; firstEvent.size < SUBSCRIBERS && waited < 20_000; waited += 100) await sleep(100);

    // Let every shared poller settle on its interval, then count one window.
    await sleep(POLL_MS * 2);
    sim.resetRequests();
    const eventsBefore = events;
    await sleep(WINDOW_MS);
    const intervals = WINDOW_MS / POLL_MS;
    const count = (prefix: string) => sim.countRequests('GET', prefix);
    const result: AerospikeBenchResult = {
      subscribers: SUBSCRIBERS,
      operations: ids.length,
      intervals,
      currentBackupPerRoutine: count('/v1/backups/currentBackup/') / routines.length / intervals,
      statusPerJob: count('/v1/restore/status/') / RESTORES / intervals,
      jobsListings: count('/v1/restore/jobs') / intervals,
      totalPerInterval: sim.requests.length / intervals,
      eventsDelivered: events - eventsBefore,
      errors,
    };

    log(`ABS: ${SUBSCRIBERS} graphql-ws operationUpdated subscribers (${SOCKETS} sockets) over ${ROUTINES} running backups and ${RESTORES} restore jobs; poll ${POLL_MS} ms, window ${WINDOW_MS / 1000} s`);
    log(`  subscribers with a first event: ${firstEvent.size} / ${SUBSCRIBERS}; errors: ${errors}`);
    log(`  GET currentBackup per routine per interval: ${result.currentBackupPerRoutine.toFixed(2)}`);
    log(`  GET restore/status per job per interval:    ${result.statusPerJob.toFixed(2)}`);
    log(`  GET restore/jobs per interval:              ${result.jobsListings.toFixed(2)}`);
    log(`  all upstream calls per interval:            ${result.totalPerInterval.toFixed(2)} (for ${ids.length} operations, ${SUBSCRIBERS} subscribers)`);
    log(`  events delivered in the window:             ${result.eventsDelivered} (${(result.eventsDelivered / intervals / SUBSCRIBERS).toFixed(2)} per subscriber per interval)`);
    return result;
  } finally {
    await Promise.allSettled(clients.map((c) => c.dispose()));
    await gateway.close();
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runAerospikeBench();
}
