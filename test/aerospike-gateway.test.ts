import { afterEach, describe, expect, it } from 'vitest';
import { collect, eventually } from './support/harness.js';
import { ok, startAbsWorld, START, type AbsWorld, type AbsWorldOptions } from './support/aerospike-world.js';

/** Aerospike Backup Service end to end: GraphQL over HTTP and graphql-ws → gateway → ABS simulator. */

const RUN = /* GraphQL */ `id status vendorStatus message startedAt finishedAt progress { percent done total unit }
  ... on AerospikeBackupRun { routineName mode recordsPerSecond kilobytesPerSecond pipeline backupKeys job { totalRecords doneRecords percentageDone startTime } }`;
const JOB = /* GraphQL */ `id status vendorStatus message startedAt finishedAt progress { percent done total unit }
  ... on AerospikeRestoreJob { jobId error readRecords insertedRecords existedRecords fresherRecords skippedRecords ignoredRecords expiredRecords totalBytes indexCount udfCount errorsInDoubt recordsPerSecond kilobytesPerSecond pipeline forgotten currentJob { totalRecords doneRecords percentageDone } }`;

const TRIGGER = `mutation ($routine: String!, $mode: AerospikeBackupMode, $delayMs: Int) { triggerAerospikeBackup(routine: $routine, mode: $mode, delayMs: $delayMs) { ${RUN} } }`;
const RESTORE = `mutation ($input: AerospikeRestoreInput!) { restoreAerospikeBackup(input: $input) { ${JOB} } }`;
const FOLLOW = `subscription ($id: ID!) { operationUpdated(id: $id) { ${RUN} ${JOB} } }`;

const open: AbsWorld[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((w) => w.close()));
});

async function world(options: AbsWorldOptions = {}): Promise<AbsWorld> {
  const w = await startAbsWorld(options);
  open.push(w);
  return w;
}

/** Runs a trigger mutation while moving the ABS clock past ABS's minimum delay once the trigger arrived. */
async function trigger(w: AbsWorld, routine: string, mode: 'FULL' | 'INCREMENTAL' = 'FULL') {
  const path = `/v1/backups/${mode === 'FULL' ? 'full' : 'incremental'}/${routine}`;
  const before = w.sim.countRequests('POST', path);
  const pending = w.gql(TRIGGER, { routine, mode });
  await eventually(() => w.sim.countRequests('POST', path) > before, 5_000, 'the trigger reaching ABS');
  w.sim.advance(100);
  return pending;
}

async function newestFullKey(w: AbsWorld, routine: string): Promise<string> {
  const data = ok(await w.gql(`{ aerospike { backups(routine: "${routine}", mode: FULL) { key } } }`));
  return data.aerospike.backups.at(-1).key;
}

/** Advances the ABS clock in steps until the subscription delivered a final state. */
async function driveToEnd(w: AbsWorld, sub: ReturnType<typeof collect<any>>, stepMs: number, maxSteps = 20) {
  const final = (e: any) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(e.data?.operationUpdated?.status);
  for (let i = 0; i < maxSteps && !sub.events.some(final); i++) await w.advance(stepMs);
  return (await sub.next(final, 5_000)).data!.operationUpdated;
}

describe('queries', () => {
  it('reads version, routines with schedule, backups, clusters and storage; never a cluster password', async () => {
    const w = await world();
    const data = ok(
      await w.gql(`{ aerospike {
        name kind version versionInfo { version buildTime commit format }
        routines { name sourceCluster storage intervalCron incrementalIntervalCron namespaces setList binList disabled lastFullAt nextFullAt running { id } config }
        routine(name: "routine1") { name storage backups(mode: FULL) { key routine mode namespace createdAt timestamp finishedAt durationSeconds from recordCount byteCount fileCount secondaryIndexCount udfCount compression encryption storage } }
        missing: routine(name: "nope") { name }
        clusters { name label seedNodes { hostName port tlsName } credentials { user password authMode } connTimeoutMs maxParallelScans config }
        storage { name type path bucket region config }
      } }`),
    );
    const abs = data.aerospike;
    expect(abs).toMatchObject({ name: 'abs-test', kind: 'AEROSPIKE_BACKUP_SERVICE', version: '3.5.0' });
    expect(abs.versionInfo).toEqual({ version: '3.5.0', buildTime: '2026-01-15T10:30:00.000Z', commit: 'abc123def456', format: 'json' });
    expect(abs.routines.map((r: any) => r.name)).toEqual(['routine1', 'routine2', 'flaky']);
    expect(abs.routines[1]).toMatchObject({ namespaces: ['source-ns2'], setList: ['backupSet'], binList: ['backupBin'], lastFullAt: null, running: [] });
    expect(abs.routines[0].lastFullAt).not.toBeNull();
    expect(abs.routine.backups).toHaveLength(1);
    expect(abs.routine.backups[0]).toMatchObject({ routine: 'routine1', mode: 'FULL', namespace: 'source-ns1', from: null, recordCount: 10_000, compression: 'ZSTD', encryption: 'NONE' });
    expect(abs.missing).toBeNull();
    expect(abs.clusters.find((c: any) => c.name === 'drCluster')).toMatchObject({
      label: 'disaster recovery',
      seedNodes: [{ hostName: 'dr-1.internal', port: 3000, tlsName: 'dr' }],
      credentials: { user: 'restorer', password: '[secret]', authMode: 'INTERNAL' },
      connTimeoutMs: 30_000,
    });
    expect(abs.storage.find((s: any) => s.name === 'minio')).toMatchObject({ type: 's3', bucket: 'as-backup-bucket', region: 'eu-central-1', path: 'storage1' });
    const text = JSON.stringify(data);
    expect(text).not.toContain('psw-cluster-secret');
    expect(text).not.toContain('dr-cluster-secret');
  });

  it('reads a plain-text /version of older builds, and old builds\' 400 "routine name not found" is NOT_FOUND', async () => {
    const w = await world({ sim: { versionFormat: 'text', errorStyle: 'old' } });
    const data = ok(await w.gql('{ aerospike { version versionInfo { version buildTime format } } }'));
    expect(data.aerospike).toEqual({ version: '3.5.0', versionInfo: { version: '3.5.0', buildTime: null, format: 'text' } });
    const missing = await w.gql('{ aerospike { backups(routine: "nope") { key } } }');
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', upstreamStatus: 400 });
    expect(missing.errors?.[0]?.message).toContain('routine name not found: nope');
  });

  it('bounds backups by time and mode', async () => {
    const w = await world();
    const all = ok(await w.gql('{ aerospike { backups { key routine mode } } }')).aerospike.backups;
    expect(all.map((b: any) => b.routine).sort()).toEqual(['flaky', 'routine1']);
    const none = ok(await w.gql(`{ aerospike { backups(from: "${new Date(START).toISOString()}") { key } } }`)).aerospike.backups;
    expect(none).toEqual([]);
    expect(w.sim.requests.some((r) => r.path === '/v1/backups/full')).toBe(true);
  });

  it('passes plain-text and empty error bodies on with their codes', async () => {
    const w = await world();
    w.sim.fail({ kind: 'status', status: 400, body: 'invalid query param from: should be a positive integer' }, { pathPrefix: '/v1/backups/full' });
    const rejected = await w.gql('{ aerospike { backups(mode: FULL) { key } } }');
    expect(rejected.errors?.[0]?.extensions?.['code']).toBe('UPSTREAM_REJECTED');
    expect(rejected.errors?.[0]?.message).toContain('invalid query param from');
    w.sim.fail({ kind: 'status', status: 404, body: '' }, { pathPrefix: '/v1/restore/cancel' });
    const empty = await w.gql('mutation { cancelAerospikeRestore(jobId: "42") { id } }');
    expect(empty.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
    const badId = await w.gql('{ aerospike { restoreJob(jobId: "../x") { id } } }');
    expect(badId.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    const unknownJob = ok(await w.gql('{ aerospike { restoreJob(jobId: "987654321") { id } } }'));
    expect(unknownJob.aerospike.restoreJob).toBeNull();
    const unknownRoutine = await w.gql(TRIGGER, { routine: 'nope' });
    expect(unknownRoutine.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
  });
});

describe('backup runs', () => {
  it('triggers a full, returns it once ABS shows it, and follows it over graphql-ws to SUCCEEDED at 100 %', async () => {
    const w = await world();
    const run = ok(await trigger(w, 'routine1')).triggerAerospikeBackup;
    expect(run).toMatchObject({ status: 'RUNNING', routineName: 'routine1', mode: 'FULL', job: { totalRecords: 10_000 } });
    const sub = collect(w.ws(), FOLLOW, { id: run.id });
    await sub.next((e) => e.data?.operationUpdated?.status === 'RUNNING');
    const last = await driveToEnd(w, sub, 2_000);
    expect(last).toMatchObject({ id: run.id, status: 'SUCCEEDED', progress: { percent: 100 } });
    expect(last.backupKeys).toHaveLength(1);
    expect(last.message).toContain(last.backupKeys[0]);
    const progressed = sub.events.map((e) => e.data?.operationUpdated?.progress?.percent).filter((p) => p !== null && p > 0 && p < 100);
    expect(progressed.length).toBeGreaterThan(0);
    // Finished runs stay in history.
    const listed = ok(await w.gql('{ operations(filter: { sources: ["abs-test"] }) { edges { node { id status } } } }'));
    expect(listed.operations.edges.map((e: any) => e.node)).toContainEqual({ id: run.id, status: 'SUCCEEDED' });
  });

  it('delivers a run started on ABS itself through operationsChanged, STARTED to FINISHED', async () => {
    const w = await world();
    const sub = collect(w.ws(), 'subscription { operationsChanged(filter: { sources: ["abs-test"], kinds: [BACKUP] }) { change operation { id status } } }');
    await new Promise((r) => setTimeout(r, 300)); // the shared pollers are on
    await fetch(`${w.sim.url}/v1/backups/full/routine1`, { method: 'POST' });
    w.sim.advance(100);
    const started = (await sub.next((e) => e.data?.operationsChanged?.change === 'STARTED')).data.operationsChanged.operation;
    for (let i = 0; i < 8 && !sub.events.some((e) => e.data?.operationsChanged?.change === 'FINISHED'); i++) await w.advance(2_000);
    const finished = (await sub.next((e) => e.data?.operationsChanged?.change === 'FINISHED')).data.operationsChanged.operation;
    expect(finished).toEqual({ id: started.id, status: 'SUCCEEDED' });
  });

  it('reports a skipped incremental (no full yet) as NOT_STARTED with the reason', async () => {
    const w = await world();
    const result = await trigger(w, 'routine2', 'INCREMENTAL');
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_STARTED', routine: 'routine2', mode: 'INCREMENTAL' });
    expect(result.errors?.[0]?.message).toContain('routine routine2 has no completed full backup');
    // ABS counted the skip, so the gateway did not wait for the whole window.
    expect(w.sim.countRequests('GET', '/metrics')).toBeGreaterThan(0);
  });

  it('reports a full triggered while one runs as NOT_STARTED with the running run\'s id', async () => {
    const w = await world();
    const first = ok(await trigger(w, 'routine1')).triggerAerospikeBackup;
    const second = await trigger(w, 'routine1');
    expect(second.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_STARTED', runningId: first.id });
    expect(second.errors?.[0]?.message).toContain('is already running');
  });

  it('closes a run cancelled through the gateway CANCELLED, and a run that failed FAILED with the reason', async () => {
    const w = await world();
    const run = ok(await trigger(w, 'routine1')).triggerAerospikeBackup;
    await w.advance(1_000);
    ok(await w.gql('mutation { cancelAerospikeBackups(routine: "routine1") }'));
    const cancelled = await eventually(async () => {
      const op = ok(await w.gql(`query ($id: ID!) { operation(id: $id) { status message } }`, { id: run.id })).operation;
      return op.status === 'CANCELLED' ? op : null;
    }, 5_000, 'CANCELLED');
    expect(cancelled.message).toContain('cancelled through the gateway');

    const flaky = ok(await trigger(w, 'flaky')).triggerAerospikeBackup;
    const sub = collect(w.ws(), FOLLOW, { id: flaky.id });
    const last = await driveToEnd(w, sub, 2_000);
    expect(last.status).toBe('FAILED');
    expect(last.message).toContain('left currentBackup without a new backup in the list (ABS counted a failure)');
  });

  it('shows a full and an incremental in progress at once as two runs of the routine', async () => {
    const w = await world();
    // An incremental needs no full running: start it first, then a full while it runs.
    const incremental = ok(await trigger(w, 'routine1', 'INCREMENTAL')).triggerAerospikeBackup;
    const full = ok(await trigger(w, 'routine1', 'FULL')).triggerAerospikeBackup;
    const routine = ok(await w.gql('{ aerospike { routine(name: "routine1") { running { id ... on AerospikeBackupRun { mode } } } } }')).aerospike.routine;
    expect(routine.running).toEqual(expect.arrayContaining([{ id: incremental.id, mode: 'INCREMENTAL' }, { id: full.id, mode: 'FULL' }]));
  });
});

describe.each(['v3-lowercase', 'v1-capitalised'] as const)('restore jobs (%s statuses)', (statusGeneration) => {
  it('restores by key and follows the job over graphql-ws to SUCCEEDED with every counter', async () => {
    const w = await world({ sim: { statusGeneration } });
    const key = await newestFullKey(w, 'routine1');
    const job = ok(await w.gql(RESTORE, { input: { key, destination: 'drCluster', storage: 'minio', policy: { 'no-generation': true } } })).restoreAerospikeBackup;
    expect(job).toMatchObject({ status: 'RUNNING', vendorStatus: statusGeneration === 'v1-capitalised' ? 'Running' : 'running' });
    expect(job.jobId).toMatch(/^\d+$/);
    const sub = collect(w.ws(), FOLLOW, { id: job.id });
    const last = await driveToEnd(w, sub, 2_500);
    expect(last).toMatchObject({ status: 'SUCCEEDED', vendorStatus: statusGeneration === 'v1-capitalised' ? 'Done' : 'success', progress: { percent: 100 }, readRecords: 10_000, insertedRecords: 8_000, forgotten: false });
    expect(last.indexCount).toBeGreaterThan(0);
    expect(last.currentJob).toMatchObject({ totalRecords: 10_000, doneRecords: 10_000 });
    expect(w.sim.countRequests('GET', `/v1/restore/status/${job.jobId}`)).toBeGreaterThan(1);
  });

  it('ends a failing restore FAILED with ABS\'s error text', async () => {
    const w = await world({ sim: { statusGeneration } });
    const key = await newestFullKey(w, 'flaky');
    const job = ok(await w.gql(RESTORE, { input: { key, destination: 'drCluster', storage: 'local' } })).restoreAerospikeBackup;
    const sub = collect(w.ws(), FOLLOW, { id: job.id });
    const last = await driveToEnd(w, sub, 2_000);
    expect(last).toMatchObject({ status: 'FAILED', error: 'failed to restore namespace source-ns3: AEROSPIKE_ERR_DEVICE_OVERLOAD' });
    expect(last.message).toBe('failed to restore namespace source-ns3: AEROSPIKE_ERR_DEVICE_OVERLOAD');
  });

  it('selects and excludes restore jobs by status (ABS\'s "!" filter), re-checking each job', async () => {
    const w = await world({ sim: { statusGeneration } });
    const key = await newestFullKey(w, 'routine1');
    const input = { key, destination: 'drCluster', storage: 'minio' };
    const done = ok(await w.gql(RESTORE, { input })).restoreAerospikeBackup;
    await w.advance(11_000);
    const running = ok(await w.gql(RESTORE, { input })).restoreAerospikeBackup;
    const cancelled = ok(await w.gql(RESTORE, { input })).restoreAerospikeBackup;
    const after = ok(await w.gql(`mutation { cancelAerospikeRestore(jobId: "${cancelled.jobId}") { status } }`)).cancelAerospikeRestore;
    expect(after.status).toBe('CANCELLED');
    const q = (args: string) => w.gql(`{ aerospike { restoreJobs(${args}) { jobId status } } }`);
    expect(ok(await q('statuses: [RUNNING]')).aerospike.restoreJobs).toEqual([{ jobId: running.jobId, status: 'RUNNING' }]);
    expect(ok(await q('statuses: [SUCCEEDED]')).aerospike.restoreJobs).toEqual([{ jobId: done.jobId, status: 'SUCCEEDED' }]);
    expect(ok(await q('excludeStatuses: [RUNNING, CANCELLED]')).aerospike.restoreJobs).toEqual([{ jobId: done.jobId, status: 'SUCCEEDED' }]);
    expect(ok(await q('excludeStatuses: [SUCCEEDED]')).aerospike.restoreJobs.map((j: any) => j.jobId).sort()).toEqual([running.jobId, cancelled.jobId].sort());
    expect(ok(await q(`from: "${new Date(w.sim.now() + 1_000).toISOString()}"`)).aerospike.restoreJobs).toEqual([]);
  });
});

describe('restore edge cases', () => {
  it('finds running jobs on the build whose "running" filter selects successful ones', async () => {
    const w = await world({ sim: { runningFilterBug: true } });
    const key = await newestFullKey(w, 'routine1');
    const input = { key, destination: 'drCluster', storage: 'minio' };
    ok(await w.gql(RESTORE, { input }));
    await w.advance(11_000);
    const running = ok(await w.gql(RESTORE, { input })).restoreAerospikeBackup;
    const jobs = ok(await w.gql('{ aerospike { restoreJobs(statuses: [RUNNING]) { jobId status } } }')).aerospike.restoreJobs;
    expect(jobs).toEqual([{ jobId: running.jobId, status: 'RUNNING' }]);
  });

  it('falls back to filtering in the gateway when ABS refuses the status filter (the "Cancelled" build)', async () => {
    const w = await world({ sim: { statusGeneration: 'v1-capitalised', cancelledSpelling: true } });
    const key = await newestFullKey(w, 'routine1');
    const job = ok(await w.gql(RESTORE, { input: { key, destination: 'drCluster', storage: 'minio' } })).restoreAerospikeBackup;
    const cancelled = ok(await w.gql(`mutation { cancelAerospikeRestore(jobId: "${job.jobId}") { status vendorStatus } }`)).cancelAerospikeRestore;
    expect(cancelled).toEqual({ status: 'CANCELLED', vendorStatus: 'Cancelled' });
    const jobs = ok(await w.gql('{ aerospike { restoreJobs(excludeStatuses: [RUNNING]) { jobId status } } }')).aerospike.restoreJobs;
    expect(jobs).toEqual([{ jobId: job.jobId, status: 'CANCELLED' }]);
  });

  it('restores by routine and time', async () => {
    const w = await world();
    const job = ok(await w.gql(RESTORE, { input: { routine: 'routine1', time: new Date(w.sim.now()).toISOString(), disableReordering: true } })).restoreAerospikeBackup;
    expect(job.status).toBe('RUNNING');
    const body = await w.gql(RESTORE, { input: { routine: 'routine2', time: new Date(w.sim.now()).toISOString() } });
    expect(body.errors?.[0]?.extensions?.['code']).toBe('UPSTREAM_REJECTED');
    expect(body.errors?.[0]?.message).toContain('no full backup found for routine routine2');
    const bad = await w.gql(RESTORE, { input: { key: 'k', routine: 'routine1' } });
    expect(bad.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
  });

  it('closes a job ABS forgot (restart) with a message that says so', async () => {
    const w = await world();
    const key = await newestFullKey(w, 'routine1');
    const job = ok(await w.gql(RESTORE, { input: { key, destination: 'drCluster', storage: 'minio' } })).restoreAerospikeBackup;
    const sub = collect(w.ws(), FOLLOW, { id: job.id });
    await sub.next((e) => e.data?.operationUpdated?.status === 'RUNNING');
    w.sim.restart();
    const last = (await sub.next((e) => e.data?.operationUpdated?.status === 'FAILED')).data.operationUpdated;
    expect(last.forgotten).toBe(true);
    expect(last.message).toContain(`ABS no longer knows restore job ${job.jobId}`);
    expect(ok(await w.gql(`{ aerospike { restoreJob(jobId: "${job.jobId}") { status ... on AerospikeRestoreJob { forgotten } } } }`)).aerospike.restoreJob).toEqual({ status: 'FAILED', forgotten: true });
  });

  it('passes inline credentials to ABS and never returns or logs them', async () => {
    const w = await world();
    const key = await newestFullKey(w, 'routine1');
    const password = 'inline-S3cret-pw-9';
    const input = {
      key,
      destinationCluster: { seedNodes: [{ hostName: 'restore-1.internal', port: 3000 }], credentials: { user: 'restorer', password } },
      sourceStorage: { 's3-storage': { bucket: 'as-backup-bucket', path: 'storage1', 's3-region': 'eu-central-1', 'secret-access-key': 'inline-Key-77' } },
    };
    const job = await w.gql(RESTORE, { input });
    expect(ok(job).restoreAerospikeBackup.status).toBe('RUNNING');
    // ABS echoing the body in a rejection is redacted too.
    w.sim.fail({ kind: 'status', status: 400, body: `invalid destination: user restorer password ${password}` }, { pathPrefix: '/v1/restore/full' });
    const rejected = await w.gql(RESTORE, { input });
    expect(rejected.errors?.[0]?.extensions?.['code']).toBe('UPSTREAM_REJECTED');
    const everything = JSON.stringify([job, rejected]) + w.logs.join('\n');
    expect(everything).not.toContain(password);
    expect(everything).not.toContain('inline-Key-77');
    expect(w.logs.length).toBeGreaterThan(0);
  });
});

describe('configuration', () => {
  it('sends the static proxy headers on every call and keeps them out of errors', async () => {
    const secret = 'proxy-token-5f1c0e2a';
    const w = await world({ sim: { requiredHeaders: { 'x-proxy-auth': secret } }, source: { headers: { 'x-proxy-auth': secret } } });
    expect(ok(await w.gql('{ aerospike { version } }')).aerospike.version).toBe('3.5.0');
    w.sim.fail({ kind: 'status', status: 400, body: `header x-proxy-auth=${secret} not allowed` });
    const rejected = await w.gql('{ aerospike { clusters { name } } }');
    expect(rejected.errors?.[0]?.extensions?.['code']).toBe('UPSTREAM_REJECTED');
    expect(JSON.stringify(rejected) + w.logs.join('\n')).not.toContain(secret);
  });
});
