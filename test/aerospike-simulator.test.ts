import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../src/errors.js';
import { AerospikeClient, type BackupMode } from '../src/sources/aerospike/client.js';
import {
  backupRunSnapshot,
  closeBackupRun,
  closeRestoreJob,
  decodeBackupDetails,
  decodeCluster,
  decodeRestoreJobStatus,
  decodeRoutine,
  decodeRoutineState,
  decodeStorage,
  decodeVersion,
  listItems,
  mapCluster,
  mapEntries,
  mapRoutine,
  mapStorage,
  mapVersion,
  matchesRestoreStatuses,
  parseBackupEvents,
  backupEventCount,
  restoreJobSnapshot,
  restoreStatusFilterValues,
  runningBackups,
  triggerSkipReason,
} from '../src/sources/aerospike/map.js';
import { demoScenario, testScenario } from '../src/sources/aerospike/scenarios.js';
import { startAerospikeSimulator, type AbsSimulator, type AbsSimulatorOptions } from '../src/sources/aerospike/simulator.js';
import { openApiViolations } from './support/aerospike-openapi.js';

const START = Date.UTC(2026, 0, 15, 12, 0, 0);
const NOW = new Date(START).toISOString();
const open: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

async function setup(options: Partial<AbsSimulatorOptions> = {}, headers?: Record<string, string>): Promise<{ sim: AbsSimulator; abs: AerospikeClient }> {
  const sim = await startAerospikeSimulator({ scenario: testScenario(), clock: 'manual', startAt: START, ...options });
  const abs = new AerospikeClient({ source: 'abs-test', baseUrl: sim.url, retry: { attempts: 1 }, timeouts: { headersMs: 2_000 }, ...(headers ? { headers } : {}) });
  open.push(abs, sim);
  return { sim, abs };
}

async function failure(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a GatewayError');
}

async function state(abs: AerospikeClient, routine: string) {
  return decodeRoutineState(await abs.currentBackup(routine));
}

async function backups(abs: AerospikeClient, mode: BackupMode, routine: string) {
  return listItems(await abs.listBackups(mode, routine), 'backups').map(decodeBackupDetails);
}

async function events(abs: AerospikeClient) {
  return parseBackupEvents(await abs.metrics());
}

describe('backup runs', () => {
  it('runs a triggered full with records advancing, then lists the new backup and closes the run SUCCEEDED', async () => {
    const { sim, abs } = await setup();
    await abs.triggerBackup('routine1', 'full');
    expect(await state(abs, 'routine1')).not.toHaveProperty('full');
    sim.advance(50);
    const first = await state(abs, 'routine1');
    expect(first.full).toMatchObject({ 'total-records': 10_000, 'done-records': 0, 'percentage-done': 0 });
    expect(first.full).not.toHaveProperty('estimated-end-time');

    sim.advance(5_000);
    const mid = await state(abs, 'routine1');
    expect(mid.full).toMatchObject({ 'done-records': 5_000, 'percentage-done': 50, metrics: { 'records-per-second': 1_000, pipeline: 0 } });
    expect(mid.full?.['estimated-end-time']).toBe('2026-01-15T12:00:10Z');
    const [run] = runningBackups('routine1', mid);
    const snapshot = backupRunSnapshot('abs-test', run!, NOW);
    expect(snapshot).toMatchObject({ typename: 'AerospikeBackupRun', status: 'RUNNING', progress: { percent: 50, done: 5_000, total: 10_000, unit: 'records', ratePerSecond: 1_000 } });

    sim.advance(5_000);
    const after = await state(abs, 'routine1');
    expect(after).not.toHaveProperty('full');
    expect(after['last-full']).toBeDefined();
    const list = await backups(abs, 'full', 'routine1');
    expect(list).toHaveLength(2);
    const closed = closeBackupRun(snapshot, NOW, { backups: list });
    expect(closed).toMatchObject({ status: 'SUCCEEDED', progress: { percent: 100, done: 10_000 } });
    expect(closed.message).toContain(String(list[1]!.key));
    expect(backupEventCount(await events(abs), 'routine1', 'full', 'success')).toBe(1);
  });

  it('honours delay (at least 50 ms) and the deprecated schedule alias', async () => {
    const { sim, abs } = await setup();
    await abs.triggerBackup('routine1', 'full', 1_000);
    sim.advance(900);
    expect((await state(abs, 'routine1')).full).toBeUndefined();
    sim.advance(200);
    expect((await state(abs, 'routine1')).full).toBeDefined();
    await abs.cancelBackups('routine1');
    await abs.scheduleFullBackup('routine1');
    sim.advance(49);
    expect((await state(abs, 'routine1')).full).toBeUndefined();
    sim.advance(1);
    expect((await state(abs, 'routine1')).full).toBeDefined();
    expect(sim.countRequests('POST', '/v1/backups/schedule/routine1')).toBe(1);
  });

  it('answers 202 to an incremental without a completed full, then silently skips it', async () => {
    const { sim, abs } = await setup();
    await abs.triggerBackup('routine2', 'incremental');
    sim.advance(5_000);
    const now = await state(abs, 'routine2');
    expect(now.incremental).toBeUndefined();
    expect(await backups(abs, 'incremental', 'routine2')).toEqual([]);
    expect(backupEventCount(await events(abs), 'routine2', 'incremental', 'skip')).toBe(1);
    expect(triggerSkipReason('abs-test', 'routine2', 'incremental', now, false)?.reason).toBe('routine routine2 has no completed full backup');
  });

  it('skips an incremental while a full runs and an overlapping full, but runs a full beside an incremental (two runs)', async () => {
    const { sim, abs } = await setup();
    await abs.triggerBackup('routine1', 'incremental');
    sim.advance(50);
    await abs.triggerBackup('routine1', 'full');
    sim.advance(100);
    const both = await state(abs, 'routine1');
    const runs = runningBackups('routine1', both);
    expect(runs.map((r) => r.mode)).toEqual(['full', 'incremental']);
    const ids = runs.map((r) => backupRunSnapshot('abs-test', r, NOW).id);
    expect(new Set(ids).size).toBe(2);

    await abs.triggerBackup('routine1', 'full');
    await abs.triggerBackup('routine1', 'incremental');
    sim.advance(1_000);
    const skip = await events(abs);
    expect(backupEventCount(skip, 'routine1', 'full', 'skip')).toBe(1);
    expect(backupEventCount(skip, 'routine1', 'incremental', 'skip')).toBe(1);
    expect(triggerSkipReason('abs-test', 'routine1', 'full', await state(abs, 'routine1'), true)?.runningId).toBe(ids[0]);

    sim.advance(10_000);
    const incrementals = await backups(abs, 'incremental', 'routine1');
    expect(incrementals).toHaveLength(1);
    expect(incrementals[0]!.from).not.toBe('0001-01-01T00:00:00Z');
    expect((await backups(abs, 'full', 'routine1'))[0]!.from).toBe('0001-01-01T00:00:00Z');
  });

  it('cancels a routine’s runs: no backup, CANCELLED when the gateway cancelled it', async () => {
    const { sim, abs } = await setup();
    await abs.triggerBackup('routine1', 'full');
    sim.advance(3_000);
    const snapshot = backupRunSnapshot('abs-test', runningBackups('routine1', await state(abs, 'routine1'))[0]!, NOW);
    await abs.cancelBackups('routine1');
    expect((await state(abs, 'routine1')).full).toBeUndefined();
    const list = await backups(abs, 'full', 'routine1');
    expect(list).toHaveLength(1);
    expect(closeBackupRun(snapshot, NOW, { backups: list, cancelledByGateway: true }).status).toBe('CANCELLED');
    expect(backupEventCount(await events(abs), 'routine1', 'full', 'canceled')).toBe(1);
  });

  it('fails a flaky run halfway: FAILED, told apart by the failure counter', async () => {
    const { sim, abs } = await setup();
    const before = await events(abs);
    await abs.triggerBackup('flaky', 'full');
    sim.advance(2_000);
    const snapshot = backupRunSnapshot('abs-test', runningBackups('flaky', await state(abs, 'flaky'))[0]!, NOW);
    sim.advance(10_000);
    const after = await events(abs);
    expect(backupEventCount(after, 'flaky', 'full', 'failure')).toBe(backupEventCount(before, 'flaky', 'full', 'failure') + 1);
    const closed = closeBackupRun(snapshot, NOW, { backups: await backups(abs, 'full', 'flaky'), metricsOutcome: 'failure' });
    expect(closed.status).toBe('FAILED');
    expect(closed.message).toBe('the full backup of routine flaky left currentBackup without a new backup in the list (ABS counted a failure)');
  });

  it('lists backups of all routines and of one, filtered by from/to', async () => {
    const { abs } = await setup();
    const all = mapEntries(await abs.listAllBackups('full'), 'backups');
    expect(all.map(([name]) => name).sort()).toEqual(['flaky', 'routine1', 'routine2']);
    const [item] = await backups(abs, 'full', 'routine1');
    const ts = Number(item!.timestamp);
    expect(listItems(await abs.listBackups('full', 'routine1', { from: ts + 1 }), 'b')).toEqual([]);
    expect(listItems(await abs.listBackups('full', 'routine1', { from: ts, to: ts }), 'b')).toHaveLength(1);
    expect(mapEntries(await abs.listAllBackups('incremental', { to: ts }), 'b').every(([, list]) => (list as unknown[]).length === 0)).toBe(true);
  });
});

describe('restore jobs', () => {
  const inline = {
    destination: { 'seed-nodes': [{ 'host-name': 'localhost', port: 3000 }], credentials: { user: 'user', password: 'inline-pass-42' } },
    policy: { 'no-generation': true },
    source: { 's3-storage': { bucket: 'as-backup-bucket', path: 'backups', 's3-region': 'eu-central-1' } },
  };

  for (const generation of ['v1-capitalised', 'v3-lowercase'] as const) {
    it(`follows a restore by key to its end with every counter (${generation})`, async () => {
      const { sim, abs } = await setup({ statusGeneration: generation });
      const [backup] = await backups(abs, 'full', 'routine1');
      const jobId = await abs.restore('full', { 'backup-data-path': backup!.key, ...inline });
      expect(jobId).toMatch(/^\d+$/);
      sim.advance(4_000);
      const running = decodeRestoreJobStatus(await abs.restoreStatus(jobId));
      expect(running.status).toBe(generation === 'v1-capitalised' ? 'Running' : 'running');
      const snap = restoreJobSnapshot('abs-test', { jobId, job: running }, NOW);
      expect(snap).toMatchObject({ status: 'RUNNING', typename: 'AerospikeRestoreJob', progress: { percent: 40, done: 4_000, total: 10_000 } });
      expect(snap.detail).toMatchObject({ readRecords: 4_000, insertedRecords: 3_200, existedRecords: 400, indexCount: 2, udfCount: 1, recordsPerSecond: 1_000 });
      sim.advance(7_000);
      const done = decodeRestoreJobStatus(await abs.restoreStatus(jobId));
      expect(done.status).toBe(generation === 'v1-capitalised' ? 'Done' : 'success');
      expect(restoreJobSnapshot('abs-test', { jobId, job: done }, NOW)).toMatchObject({ status: 'SUCCEEDED', progress: { percent: 100 } });
    });
  }

  it('restores by configured names and by routine + time; bad input is a plain-text 400', async () => {
    const { sim, abs } = await setup();
    const [backup] = await backups(abs, 'full', 'routine1');
    const byName = await abs.restore('incremental', { 'backup-data-path': backup!.key, 'destination-name': 'drCluster', 'source-name': 'minio' });
    const byTime = await abs.restoreByTimestamp({ routine: 'routine1', time: START });
    expect(byTime).not.toBe(byName);
    sim.advance(100);
    expect(Object.keys(mapEntries(await abs.restoreJobs(), 'jobs'))).toHaveLength(2);

    const noFull = await failure(abs.restoreByTimestamp({ routine: 'routine2', time: START }));
    expect(noFull).toMatchObject({ code: 'UPSTREAM_REJECTED', status: 400 });
    expect(noFull.message).toContain('no full backup found for routine routine2');
    const unknownRoutine = await failure(abs.restoreByTimestamp({ routine: 'ghost', time: START }));
    expect(unknownRoutine.message).toContain('routine ghost not found');
    const missing = await failure(abs.restore('full', { 'backup-data-path': 'x', 'destination-name': 'nope', 'source-name': 'minio' }));
    expect(missing.message).toContain('destination cluster nope not found');
  });

  it('ends a failing restore FAILED with ABS’s error text', async () => {
    const { sim, abs } = await setup({ statusGeneration: 'v1-capitalised' });
    const [backup] = await backups(abs, 'full', 'flaky');
    const jobId = await abs.restore('full', { 'backup-data-path': backup!.key, 'destination-name': 'drCluster', 'source-name': 'local' });
    sim.advance(10_000);
    const job = decodeRestoreJobStatus(await abs.restoreStatus(jobId));
    expect(job).toMatchObject({ status: 'Failed', error: 'failed to restore namespace source-ns3: AEROSPIKE_ERR_DEVICE_OVERLOAD' });
    const snap = restoreJobSnapshot('abs-test', { jobId, job }, NOW);
    expect(snap).toMatchObject({ status: 'FAILED', message: 'failed to restore namespace source-ns3: AEROSPIKE_ERR_DEVICE_OVERLOAD', progress: { percent: 40 } });
  });

  it('cancels a restore job, in the Cancelled spelling of one old build too', async () => {
    const { sim, abs } = await setup({ statusGeneration: 'v1-capitalised', cancelledSpelling: true });
    const [backup] = await backups(abs, 'full', 'routine1');
    const jobId = await abs.restore('full', { 'backup-data-path': backup!.key, ...inline });
    sim.advance(1_000);
    await abs.cancelRestore(jobId);
    const job = decodeRestoreJobStatus(await abs.restoreStatus(jobId));
    expect(job.status).toBe('Cancelled');
    expect(restoreJobSnapshot('abs-test', { jobId, job }, NOW).status).toBe('CANCELLED');
    const jobs = mapEntries(await abs.restoreJobs({ statuses: ['Cancelled'] }), 'jobs');
    expect(jobs.map(([id]) => id)).toEqual([jobId]);
  });

  for (const generation of ['v1-capitalised', 'v3-lowercase'] as const) {
    it(`filters restore jobs by status, with ! exclusion (${generation})`, async () => {
      const { sim, abs } = await setup({ statusGeneration: generation });
      const [good] = await backups(abs, 'full', 'routine1');
      const [bad] = await backups(abs, 'full', 'flaky');
      const ok = await abs.restore('full', { 'backup-data-path': good!.key, 'destination-name': 'drCluster', 'source-name': 'minio' });
      const failed = await abs.restore('full', { 'backup-data-path': bad!.key, 'destination-name': 'drCluster', 'source-name': 'local' });
      sim.advance(5_000);
      const running = await abs.restore('full', { 'backup-data-path': good!.key, 'destination-name': 'drCluster', 'source-name': 'minio' });
      sim.advance(6_000);
      const ids = async (q: Parameters<AerospikeClient['restoreJobs']>[0]) => mapEntries(await abs.restoreJobs(q), 'jobs').map(([id]) => id).sort();
      expect(await ids({ statuses: restoreStatusFilterValues(['SUCCEEDED']) })).toEqual([ok]);
      expect(await ids({ statuses: restoreStatusFilterValues(['RUNNING', 'FAILED']) })).toEqual([failed, running].sort());
      expect(await ids({ excludeStatuses: restoreStatusFilterValues(['FAILED', 'CANCELLED']) })).toEqual([ok, running].sort());
      expect(sim.requests.at(-1)?.path).toBe('/v1/restore/jobs');
      const unknown = await failure(abs.restoreJobs({ statuses: ['sleeping'] }));
      expect(unknown).toMatchObject({ code: 'UPSTREAM_REJECTED', status: 400 });
      expect(unknown.message).toContain('unknown job status sleeping');
      const startOfRunning = sim.now() - 6_000;
      expect(await ids({ from: startOfRunning })).toEqual([running]);
    });
  }

  it('re-checks statuses where one build maps a running filter to successful jobs', async () => {
    const { sim, abs } = await setup({ runningFilterBug: true });
    const [good] = await backups(abs, 'full', 'routine1');
    await abs.restore('full', { 'backup-data-path': good!.key, 'destination-name': 'drCluster', 'source-name': 'minio' });
    sim.advance(11_000);
    const answered = mapEntries(await abs.restoreJobs({ statuses: restoreStatusFilterValues(['RUNNING']) }), 'jobs');
    expect(answered).toHaveLength(1);
    const kept = answered.filter(([, raw]) => matchesRestoreStatuses(decodeRestoreJobStatus(raw), ['RUNNING']));
    expect(kept).toEqual([]);
  });

  it('forgets jobs on restart: 404, closed with a message that says so', async () => {
    const { sim, abs } = await setup();
    const [good] = await backups(abs, 'full', 'routine1');
    const jobId = await abs.restore('full', { 'backup-data-path': good!.key, ...inline });
    sim.advance(500);
    const last = restoreJobSnapshot('abs-test', { jobId, job: decodeRestoreJobStatus(await abs.restoreStatus(jobId)) }, NOW);
    sim.restart();
    const gone = await failure(abs.restoreStatus(jobId));
    expect(gone).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    expect(gone.message).toContain(`restore job ${jobId} not found`);
    const closed = closeRestoreJob(last, NOW, { notFound: true });
    expect(closed.status).toBe('FAILED');
    expect(closed.message).toContain(`ABS no longer knows restore job ${jobId}`);
    expect(await abs.restoreJobs()).toEqual({});
    expect(await failure(abs.cancelRestore(jobId))).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('omits zero counters on omitempty builds; absent counters read as zero', async () => {
    const { sim, abs } = await setup({ omitZeroCounters: true });
    const [good] = await backups(abs, 'full', 'routine1');
    const jobId = await abs.restore('full', { 'backup-data-path': good!.key, ...inline });
    const raw = (await abs.restoreStatus(jobId)) as Record<string, unknown>;
    expect(raw).not.toHaveProperty('read-records');
    expect(raw).not.toHaveProperty('errors-in-doubt');
    const snap = restoreJobSnapshot('abs-test', { jobId, job: decodeRestoreJobStatus(raw) }, NOW);
    expect(snap.detail).toMatchObject({ readRecords: 0, errorsInDoubt: 0 });
  });
});

describe('configuration, version, health, metrics', () => {
  it('maps clusters, routines and storage with every secret replaced', async () => {
    const { abs } = await setup();
    const clusters = mapEntries(await abs.clusters(), 'clusters').map(([name, raw]) => mapCluster(name, decodeCluster(raw)));
    const text = JSON.stringify(clusters);
    expect(text).not.toContain('psw-cluster-secret');
    expect(text).not.toContain('dr-cluster-secret');
    expect(clusters[0]).toMatchObject({ name: 'absDefaultCluster', credentials: { user: 'tester', password: '[secret]' }, seedNodes: [{ hostName: 'host.docker.internal', port: 3000 }] });
    expect(clusters[1]).toMatchObject({ label: 'disaster recovery', connTimeoutMs: 30000, maxParallelScans: 8, seedNodes: [{ tlsName: 'dr' }] });

    const routines = mapEntries(await abs.routines(), 'routines').map(([name, raw]) => mapRoutine(name, decodeRoutine(raw)));
    expect(routines.find((r) => r.name === 'routine2')).toMatchObject({ sourceCluster: 'absDefaultCluster', storage: 'local', namespaces: ['source-ns2'], setList: ['backupSet'], binList: ['backupBin'], intervalCron: '@yearly' });
    const storage = mapEntries(await abs.storage(), 'storage').map(([name, raw]) => mapStorage(name, decodeStorage(raw)));
    expect(storage).toMatchObject([{ name: 'local', type: 'local', path: './localStorage' }, { name: 'minio', type: 's3', bucket: 'as-backup-bucket', region: 'eu-central-1' }]);
  });

  it('reads /version as JSON on newer builds and as plain text on older ones', async () => {
    const { abs } = await setup();
    expect(mapVersion(decodeVersion(await abs.version()))).toEqual({ version: '3.5.0', buildTime: '2026-01-15T10:30:00.000Z', commit: 'abc123def456', format: 'json' });
    const old = await setup({ versionFormat: 'text' });
    expect(mapVersion(decodeVersion(await old.abs.version()))).toEqual({ version: '3.5.0', buildTime: null, commit: null, format: 'text' });
  });

  it('answers health and ready with Ok; /metrics only where ABS exposes it', async () => {
    const { abs } = await setup();
    expect(await abs.health()).toBe('Ok');
    expect(await abs.ready()).toBe('Ok');
    expect(await abs.metrics()).toContain('# TYPE aerospike_backup_service_backup_events_total counter');
    const without = await setup({ metrics: false });
    expect(await failure(without.abs.metrics())).toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });
});

describe('errors', () => {
  it('reports an unknown routine as NOT_FOUND on new (404) and old (400) builds', async () => {
    const { abs } = await setup();
    const modern = await failure(abs.currentBackup('ghost'));
    expect(modern).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    expect(modern.message).toBe('Aerospike Backup Service reports not found: routine ghost not found');
    expect(await failure(abs.triggerBackup('ghost', 'full'))).toMatchObject({ code: 'NOT_FOUND' });

    const old = await setup({ errorStyle: 'old' });
    for (const call of [old.abs.currentBackup('ghost'), old.abs.listBackups('full', 'ghost')]) {
      const error = await failure(call);
      expect(error).toMatchObject({ code: 'NOT_FOUND', status: 400 });
      expect(error.message).toBe('Aerospike Backup Service reports not found: routine name not found: ghost');
    }
  });

  it('refuses unsafe path segments and job ids before any request', async () => {
    const { sim, abs } = await setup();
    for (const bad of ['', '.', '..', 'a/b', 'a\\b']) {
      expect(await failure(abs.currentBackup(bad))).toMatchObject({ code: 'BAD_USER_INPUT' });
      expect(await failure(abs.triggerBackup(bad, 'full'))).toMatchObject({ code: 'BAD_USER_INPUT' });
    }
    for (const bad of ['..', '12a', '-1', '1/2']) expect(await failure(abs.restoreStatus(bad))).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await failure(abs.triggerBackup('routine1', 'full', -5))).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(sim.countRequests('*', '/')).toBe(0);
    expect(await abs.currentBackup('routine 1 with spaces').catch((e: GatewayError) => e.code)).toBe('NOT_FOUND');
  });

  it('passes 4xx plain text on, hides 5xx bodies, copes with empty bodies', async () => {
    const { sim, abs } = await setup();
    sim.fail({ kind: 'status', status: 400, body: 'invalid query param delay: should be a positive integer' });
    expect((await failure(abs.triggerBackup('routine1', 'full'))).message).toBe(
      'Aerospike Backup Service rejected the request (400): invalid query param delay: should be a positive integer',
    );
    sim.fail({ kind: 'status', status: 400, body: '' });
    expect((await failure(abs.triggerBackup('routine1', 'full'))).message).toBe('Aerospike Backup Service rejected the request (400)');
    sim.fail({ kind: 'status', status: 409, body: 'already in use' });
    expect(await failure(abs.cancelBackups('routine1'))).toMatchObject({ code: 'CONFLICT' });
    sim.fail({ kind: 'status', status: 500, body: 'panic: goroutine 7 [running] at /src/secret/path.go' });
    const hidden = await failure(abs.currentBackup('routine1'));
    expect(hidden).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 500 });
    expect(hidden.message).not.toContain('goroutine');
  });

  it('maps malformed JSON, drops and hangs; a dripped body still arrives whole', async () => {
    const { sim, abs } = await setup();
    sim.fail({ kind: 'malformed-json' });
    expect(await failure(abs.currentBackup('routine1'))).toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE' });
    sim.fail({ kind: 'drop' });
    expect(await failure(abs.routines())).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    sim.fail({ kind: 'drip', intervalMs: 1 }, { pathPrefix: '/version' });
    expect(mapVersion(decodeVersion(await abs.version())).version).toBe('3.5.0');
    const impatient = new AerospikeClient({ source: 'abs-test', baseUrl: sim.url, retry: { attempts: 1 }, timeouts: { headersMs: 100 } });
    open.push(impatient);
    sim.fail({ kind: 'hang', ms: 3_000 });
    expect(await failure(impatient.health())).toMatchObject({ code: 'UPSTREAM_TIMEOUT' });
  });

  it('sends the fronting proxy’s headers and never echoes them', async () => {
    const secret = 'proxy-key-123456';
    const { abs, sim } = await setup({ requiredHeaders: { 'x-proxy-auth': secret } }, { 'x-proxy-auth': secret });
    expect(await abs.health()).toBe('Ok');
    const bare = new AerospikeClient({ source: 'abs-test', baseUrl: sim.url, retry: { attempts: 1 }, headers: { 'x-proxy-auth': 'wrong-key-999999' } });
    open.push(bare);
    const refused = await failure(bare.health());
    expect(refused).toMatchObject({ code: 'UPSTREAM_UNAUTHORIZED', status: 401 });
    expect(refused.message).not.toContain('wrong-key-999999');
    sim.fail({ kind: 'status', status: 400, body: `bad header ${secret}` });
    expect((await failure(abs.health())).message).not.toContain(secret);
  });

  it('never echoes inline restore credentials; keeps int64 job ids exact', async () => {
    const { sim, abs } = await setup();
    sim.fail({ kind: 'status', status: 400, body: 'cannot connect as user with password inline-pass-42' });
    const error = await failure(abs.restore('full', { 'backup-data-path': 'k', destination: { 'seed-nodes': [], credentials: { user: 'u', password: 'inline-pass-42' } }, 'source-name': 'local' }));
    expect(error.message).not.toContain('inline-pass-42');
    expect(error.message).toContain('[redacted]');
    sim.fail({ kind: 'status', status: 202, body: '9007199254740993' });
    expect(await abs.restoreByTimestamp({ routine: 'routine1', time: START })).toBe('9007199254740993');
    sim.fail({ kind: 'status', status: 202, body: '' });
    expect(await failure(abs.restoreByTimestamp({ routine: 'routine1', time: START }))).toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE' });
  });
});

describe('published OpenAPI document (v2.0.0)', () => {
  it('accepts the simulator’s running backups, backup lists, restore status and config', async () => {
    const { sim, abs } = await setup({ statusGeneration: 'v1-capitalised' });
    await abs.triggerBackup('routine1', 'incremental');
    await abs.triggerBackup('routine1', 'full', 100);
    sim.advance(500);
    const current = await abs.currentBackup('routine1');
    expect(current).toHaveProperty('full');
    expect(openApiViolations('dto.CurrentBackups', current)).toEqual([]);
    for (const item of await backups(abs, 'full', 'routine1')) expect(openApiViolations('dto.BackupDetails', item)).toEqual([]);
    const [good] = await backups(abs, 'full', 'routine1');
    const jobId = await abs.restore('full', { 'backup-data-path': good!.key, 'destination-name': 'drCluster', 'source-name': 'minio' });
    sim.advance(500);
    expect(openApiViolations('dto.RestoreJobStatus', await abs.restoreStatus(jobId))).toEqual([]);
    for (const [, raw] of mapEntries(await abs.clusters(), 'c')) expect(openApiViolations('dto.AerospikeCluster', raw)).toEqual([]);
    for (const [, raw] of mapEntries(await abs.routines(), 'r')) expect(openApiViolations('dto.BackupRoutine', raw)).toEqual([]);
    for (const [, raw] of mapEntries(await abs.storage(), 's')) expect(openApiViolations('dto.Storage', raw)).toEqual([]);
    // The checker itself catches a wrong shape.
    expect(openApiViolations('dto.BackupDetails', { 'record-count': 'many' })).toEqual(['dto.BackupDetails.record-count: expected integer']);
  });

  it('v3 builds differ from v2 only by the newer lowercase status spellings', async () => {
    const { sim, abs } = await setup({ statusGeneration: 'v3-lowercase' });
    const [good] = await backups(abs, 'full', 'routine1');
    const jobId = await abs.restore('full', { 'backup-data-path': good!.key, 'destination-name': 'drCluster', 'source-name': 'minio' });
    sim.advance(500);
    const raw = await abs.restoreStatus(jobId);
    expect(openApiViolations('dto.RestoreJobStatus', raw)).toEqual(['dto.RestoreJobStatus.status: "running" not in ["Running","Done","Failed"]']);
    expect(openApiViolations('dto.RestoreJobStatus', raw, ['status'])).toEqual([]);
  });
});

describe('realtime clock', () => {
  it('moves on its own: a triggered full completes without advance()', async () => {
    const scenario = testScenario();
    scenario.routines['routine1'] = { ...scenario.routines['routine1']!, records: 500, recordsPerSecond: 10_000 };
    const { abs } = await setup({ scenario, clock: 'realtime' });
    await abs.triggerBackup('routine1', 'full');
    let count = 1;
    for (let i = 0; i < 100 && count === 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      count = (await backups(abs, 'full', 'routine1')).length;
    }
    expect(count).toBe(2);
  });
});

describe('demo scenario', () => {
  it('starts with runs and restores at different stages that keep moving', async () => {
    const sim = await startAerospikeSimulator({ scenario: demoScenario(), clock: 'manual', startAt: START });
    const abs = new AerospikeClient({ source: 'demo', baseUrl: sim.url, retry: { attempts: 1 } });
    open.push(abs, sim);
    const percents = async () => {
      const out: Record<string, number | undefined> = {};
      for (const name of ['daily', 'hourly', 'analytics']) {
        for (const run of runningBackups(name, await state(abs, name))) out[`${name}:${run.mode}`] = run.job['percentage-done'] ?? undefined;
      }
      return out;
    };
    const first = await percents();
    expect(Object.keys(first).length).toBeGreaterThanOrEqual(2);
    expect(new Set(Object.values(first)).size).toBe(Object.keys(first).length);
    const jobs = mapEntries(await abs.restoreJobs(), 'jobs').map(([jobId, raw]) => restoreJobSnapshot('demo', { jobId, job: decodeRestoreJobStatus(raw) }, NOW));
    expect(jobs.some((j) => j.status === 'RUNNING')).toBe(true);
    expect(mapEntries(await abs.listAllBackups('full'), 'b').every(([, list]) => (list as unknown[]).length > 0)).toBe(true);
    sim.advance(1_000);
    const second = await percents();
    expect(Object.entries(second).some(([k, v]) => first[k] !== undefined && v !== undefined && v > first[k]!)).toBe(true);
    // Looping: an hour later there are still runs in progress.
    sim.advance(3_600_000);
    expect(Object.keys(await percents()).length).toBeGreaterThan(0);
  });
});
