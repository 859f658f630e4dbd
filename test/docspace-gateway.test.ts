import { afterEach, describe, expect, it } from 'vitest';
import { QUOTA_ERROR } from '../src/sources/docspace/scenarios.js';
import { API_KEY, SOURCE, collect, eventually, sse, startDocSpaceWorld, type DocSpaceWorld } from './support/docspace-world.js';

/** DocSpace on the gateway, end to end: real simulator, real gateway, real clients. */

let world: DocSpaceWorld;
afterEach(async () => {
  await world?.close();
});

const TASK = `
  id kind status vendorStatus message startedAt finishedAt
  progress { percent unit }
  ... on DocSpaceTask { taskId tenantId newTenantId taskType vendorTaskType completed error warning link dump }
`;

const BACKUP_ID_1 = '0b6f3c9e-1d1a-4c55-9a51-000000000001';

describe('queries', () => {
  it('answers every DocSpaceSource field from the portal', async () => {
    world = await startDocSpaceWorld();
    const result = await world.gql(`{
      docSpace {
        name kind health { status }
        backupProgress { id } restoreProgress { id }
        backupHistory { id backupId fileName storageType storageTypeValue createdOn expiresOn }
        dumps: backupHistory(dump: true) { backupId storageType }
        backupSchedule { storageType storageTypeValue storageParams backupsStored lastBackupTime dump cronParams { period vendorPeriod hour day } }
        dumpSchedule: backupSchedule(dump: true) { dump }
        backupsCount
        recent: backupsCount(from: "2026-06-30T00:00:00Z", to: "2026-07-01T12:00:00Z")
        serviceEnabled
      }
    }`);
    expect(result.errors).toBeUndefined();
    const d = result.data.docSpace;
    expect(d).toMatchObject({ name: SOURCE, kind: 'DOCSPACE', health: { status: 'UP' }, backupProgress: null, restoreProgress: null, dumpSchedule: null, serviceEnabled: true });
    expect(d.backupHistory).toEqual([
      { id: expect.any(String), backupId: BACKUP_ID_1, fileName: 'backup_2025-05-30.tar.gz', storageType: 'DOCUMENTS', storageTypeValue: 0, createdOn: '2026-06-29T12:00:00.000Z', expiresOn: '2026-07-29T12:00:00.000Z' },
    ]);
    expect(d.dumps).toEqual([{ backupId: '0b6f3c9e-1d1a-4c55-9a51-000000000002', storageType: 'LOCAL' }]);
    expect(d.backupSchedule).toEqual({
      storageType: 'DOCUMENTS',
      storageTypeValue: 0,
      storageParams: { folderId: '12' },
      backupsStored: 5,
      lastBackupTime: '2026-06-30T12:00:00.000Z',
      dump: false,
      cronParams: { period: 'EVERY_WEEK', vendorPeriod: 'EveryWeek', hour: 3, day: 2 },
    });
    expect(d.backupsCount).toBe(2);
    expect(d.recent).toBe(1);
    // The source is also an ordinary Source / Node.
    const sources = await world.gql(`{ sources { name kind ... on DocSpaceSource { serviceEnabled } } }`);
    expect(sources.data.sources).toEqual([{ name: SOURCE, kind: 'DOCSPACE', serviceEnabled: true }]);
  });

  it('reads the envelope quirks: integer or named enums, an empty error string, an absent response', async () => {
    world = await startDocSpaceWorld();
    const progress = '/api/2.0/backup/getbackupprogress';
    world.sim.fail(
      { kind: 'status', status: 200, body: { response: { isCompleted: false, progress: 30, error: '', backupProgressEnum: 'Backup', status: 'Running', taskId: 'named-1', tenantId: 1 }, count: 1, status: 0, statusCode: 200 } },
      { pathPrefix: progress },
    );
    const named = await world.gql(`{ docSpace { backupProgress { ${TASK} } } }`);
    expect(named.data.docSpace.backupProgress).toMatchObject({ status: 'RUNNING', vendorStatus: 'Running', taskType: 'BACKUP', error: null, message: null, progress: { percent: 30 } });

    world.sim.fail(
      { kind: 'status', status: 200, body: { response: { isCompleted: true, progress: 40, error: 'disk full', backupProgressEnum: 0, status: 4, taskId: 'failted-1', tenantId: 1 }, status: 0, statusCode: 200 } },
      { pathPrefix: progress },
    );
    const failted = await world.gql(`{ docSpace { backupProgress { ${TASK} } } }`);
    expect(failted.data.docSpace.backupProgress).toMatchObject({ status: 'FAILED', vendorStatus: 'Failted', message: 'disk full', error: 'disk full', completed: true });

    world.sim.fail({ kind: 'status', status: 200, body: { count: 0, links: [], status: 0, statusCode: 200 } }, { pathPrefix: progress });
    const absent = await world.gql(`{ docSpace { backupProgress { id } } }`);
    expect(absent).toEqual({ data: { docSpace: { backupProgress: null } } });
    // The task that was running vanished without an end: closed, and kept in history.
    const ops = await world.gql(`{ operations(filter: { sources: ["${SOURCE}"] }) { edges { node { ${TASK} } } } }`);
    const byTask = Object.fromEntries(ops.data.operations.edges.map((e: any) => [e.node.taskId, e.node]));
    expect(byTask['named-1']).toMatchObject({ status: 'CANCELLED' });
    expect(byTask['failted-1']).toMatchObject({ status: 'FAILED', message: 'disk full' });
  });
});

describe('backups', () => {
  it('starts a backup and follows it over graphql-ws to SUCCEEDED; the history gains the file', async () => {
    world = await startDocSpaceWorld();
    const started = await world.gql(`mutation { startDocSpaceBackup(input: { storageType: DOCUMENTS, storageParams: { folderId: "12" } }) { ${TASK} } }`);
    expect(started.errors).toBeUndefined();
    const backup = started.data.startDocSpaceBackup;
    expect(backup).toMatchObject({ kind: 'BACKUP', status: 'PENDING', taskType: 'BACKUP', tenantId: 1, dump: false, progress: { percent: 0 } });
    expect(backup.startedAt).toEqual(expect.any(String));

    const updates = collect(world.ws(), `subscription($id: ID!) { operationUpdated(id: $id) { ${TASK} } }`, { id: backup.id });
    await updates.next((e) => e.data?.operationUpdated?.status === 'PENDING');
    await world.advance(5_000);
    await updates.next((e) => e.data?.operationUpdated?.status === 'RUNNING' && e.data.operationUpdated.progress.percent >= 40);
    await world.advance(6_000);
    const done = await updates.next((e) => e.data?.operationUpdated?.status === 'SUCCEEDED');
    await updates.done;
    expect(done.data.operationUpdated).toMatchObject({ id: backup.id, completed: true, progress: { percent: 100 }, startedAt: backup.startedAt });
    expect(done.data.operationUpdated.link).toMatch(/\/storage\/backup\/backup_.*\.tar\.gz$/);
    expect(updates.events.every((e) => e.errors === undefined)).toBe(true);

    const after = await world.gql(`{ docSpace { backupProgress { id status } backupHistory { fileName } backupsCount } node(id: "${backup.id}") { ... on DocSpaceBackup { status } } }`);
    expect(after.data.docSpace.backupProgress).toEqual({ id: backup.id, status: 'SUCCEEDED' });
    expect(after.data.docSpace.backupHistory).toHaveLength(2);
    expect(after.data.docSpace.backupsCount).toBe(3);
    expect(after.data.node).toEqual({ status: 'SUCCEEDED' });
  });

  it('reports a failed backup as FAILED with the portal\'s error text, through operationsChanged', async () => {
    world = await startDocSpaceWorld();
    const changes = collect(world.ws(), `subscription { operationsChanged(filter: { sources: ["${SOURCE}"] }) { change operation { ${TASK} } } }`);
    world.sim.failNextTask('backup', { atPercent: 30 });
    const started = await world.gql(`mutation { startDocSpaceBackup { id } }`);
    const id = started.data.startDocSpaceBackup.id;
    await world.advance(4_000);
    const finished = await changes.next((e) => e.data?.operationsChanged?.change === 'FINISHED');
    expect(finished.data.operationsChanged.operation).toMatchObject({ id, status: 'FAILED', vendorStatus: 'Failted', message: QUOTA_ERROR, error: QUOTA_ERROR, progress: { percent: 30 } });
    const history = await world.gql(`{ operation(id: "${id}") { status message transitions { status } } }`);
    expect(history.data.operation).toMatchObject({ status: 'FAILED', message: QUOTA_ERROR });
    expect(history.data.operation.transitions.map((t: any) => t.status)).toContain('FAILED');
  });

  it('refuses a start over the storage quota as UPSTREAM_REJECTED with the portal\'s message', async () => {
    world = await startDocSpaceWorld();
    world.sim.setStorageQuotaExceeded(true);
    const refused = await world.gql(`mutation { startDocSpaceBackup { id } }`);
    expect(refused.errors?.[0]).toMatchObject({ message: expect.stringContaining('storage quota is exceeded'), extensions: { code: 'UPSTREAM_REJECTED', source: SOURCE, upstreamStatus: 402 } });
  });

  it('cancels a running backup: it ends CANCELLED', async () => {
    world = await startDocSpaceWorld();
    const id = (await world.gql(`mutation { startDocSpaceBackup { id } }`)).data.startDocSpaceBackup.id;
    await world.advance(2_000);
    expect((await world.gql(`mutation { cancelDocSpaceBackup }`)).data).toEqual({ cancelDocSpaceBackup: true });
    const op = await eventually(async () => {
      const r = await world.gql(`{ operation(id: "${id}") { status message } }`);
      return r.data.operation.status === 'CANCELLED' ? r.data.operation : null;
    }, 5_000, 'CANCELLED');
    expect(op.message).toContain('no longer reports it');
  });

  it('follows a dump backup, which the portal keeps apart', async () => {
    world = await startDocSpaceWorld();
    const started = await world.gql(`mutation { startDocSpaceBackup(input: { dump: true, storageType: LOCAL }) { id dump status } }`);
    expect(started.data.startDocSpaceBackup).toMatchObject({ dump: true, status: 'PENDING' });
    const id = started.data.startDocSpaceBackup.id;
    const plain = await world.gql(`{ docSpace { backupProgress { id } dump: backupProgress(dump: true) { id dump } } }`);
    expect(plain.data.docSpace).toEqual({ backupProgress: null, dump: { id, dump: true } });
    await world.advance(11_000);
    const op = await eventually(async () => {
      const r = await world.gql(`{ operations(filter: { sources: ["${SOURCE}"] }) { edges { node { id status } } } }`);
      return r.data.operations.edges.find((e: any) => e.node.id === id && e.node.status === 'SUCCEEDED');
    }, 5_000, 'dump backup SUCCEEDED');
    expect(op.node.status).toBe('SUCCEEDED');
  });
});

describe('restores', () => {
  it('follows a restore live over SSE from start to SUCCEEDED while authenticated calls fail; history survives the tenant change', async () => {
    world = await startDocSpaceWorld();
    // A finished backup first, to be found in history after the portal comes back as another tenant.
    const backupId = (await world.gql(`mutation { startDocSpaceBackup { id } }`)).data.startDocSpaceBackup.id;
    await world.advance(11_000, 2_000);
    await eventually(async () => (await world.gql(`{ docSpace { backupProgress { status } } }`)).data.docSpace.backupProgress.status === 'SUCCEEDED', 5_000, 'backup done');

    const started = await world.gql(`mutation { startDocSpaceRestore(input: { backupId: "${BACKUP_ID_1}", notify: true }) { ${TASK} } }`);
    expect(started.errors).toBeUndefined();
    const restore = started.data.startDocSpaceRestore;
    expect(restore).toMatchObject({ kind: 'RESTORE', status: 'PENDING', taskType: 'RESTORE', tenantId: 1 });

    const abort = new AbortController();
    const stream = await sse(world.gateway.url, `subscription($id: ID!) { operationUpdated(id: $id) { ${TASK} } }`, { id: restore.id }, abort.signal);
    const seen: any[] = [];
    const reading = (async () => {
      for await (const event of stream) seen.push(event);
    })();
    try {
      await eventually(() => seen.length > 0, 5_000, 'first SSE event');
      world.sim.advance(3_000);
      await eventually(() => seen.some((e) => e.data?.operationUpdated?.status === 'RUNNING'), 5_000, 'RUNNING over SSE');

      // Meanwhile the portal answers every authenticated call 403 with an empty body: "restoring".
      const blocked = await world.gql(`{ docSpace { backupHistory { id } backupsCount } }`);
      expect(blocked.data.docSpace).toEqual({ backupHistory: null, backupsCount: null });
      expect(blocked.errors).toHaveLength(2);
      for (const error of blocked.errors!) {
        expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', restoring: true, upstreamStatus: 403, source: SOURCE });
        expect(error.message).toContain('being restored');
      }
      const restoreCalls = world.sim.requests.filter((r) => r.path.endsWith('/getrestoreprogress'));
      expect(restoreCalls.length).toBeGreaterThan(0);
      expect(restoreCalls.every((r) => r.authorization === undefined)).toBe(true);

      world.sim.advance(3_000);
      await eventually(() => seen.some((e) => (e.data?.operationUpdated?.progress.percent ?? 0) >= 70), 5_000, 'progress over SSE');
      world.sim.advance(3_000);
      await reading; // the stream completes after the final state
    } finally {
      abort.abort();
    }
    expect(seen.every((e) => e.errors === undefined)).toBe(true);
    const statuses = seen.map((e) => e.data.operationUpdated.status);
    expect(statuses[0]).toBe('PENDING');
    expect(statuses.at(-1)).toBe('SUCCEEDED');
    expect(statuses).toContain('RUNNING');
    const percents = seen.map((e) => e.data.operationUpdated.progress.percent);
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    expect(seen.at(-1).data.operationUpdated).toMatchObject({ id: restore.id, tenantId: 2, completed: true, link: `${world.sim.url}/` });
    expect(world.sim.tenantId()).toBe(2);

    // Back as tenant 2: authenticated calls work; both tasks stay in history.
    const after = await world.gql(`{
      docSpace { backupHistory { backupId } restoreProgress { id status tenantId } }
      operations(filter: { sources: ["${SOURCE}"] }) { edges { node { id kind status } } }
    }`);
    expect(after.errors).toBeUndefined();
    expect(after.data.docSpace.restoreProgress).toEqual({ id: restore.id, status: 'SUCCEEDED', tenantId: 2 });
    const ops = after.data.operations.edges.map((e: any) => e.node);
    expect(ops).toEqual(
      expect.arrayContaining([
        { id: restore.id, kind: 'RESTORE', status: 'SUCCEEDED' },
        { id: backupId, kind: 'BACKUP', status: 'SUCCEEDED' },
      ]),
    );
    expect(ops).toHaveLength(2);
  });

  it('shows a portal transfer as a TRANSFER operation', async () => {
    world = await startDocSpaceWorld();
    const changes = collect(world.ws(), `subscription { operationsChanged(filter: { kinds: [TRANSFER] }) { change operation { ${TASK} __typename } } }`);
    await eventually(() => world.sim.countRequests('GET', '/api/2.0/backup/getrestoreprogress') > 1, 5_000, 'restore progress polled');
    world.sim.startTransfer(4_000);
    world.sim.advance(1_000);
    const start = await changes.next((e) => e.data?.operationsChanged?.change === 'STARTED');
    expect(start.data.operationsChanged.operation).toMatchObject({ __typename: 'DocSpaceRestore', kind: 'TRANSFER', taskType: 'TRANSFER', vendorTaskType: 'Transfer' });
    await world.advance(4_000);
    const end = await changes.next((e) => e.data?.operationsChanged?.change === 'FINISHED');
    expect(end.data.operationsChanged.operation).toMatchObject({ kind: 'TRANSFER', status: 'SUCCEEDED', tenantId: 2 });
  });

  it('refuses a restore of an unknown backup as NOT_FOUND, and bad input locally', async () => {
    world = await startDocSpaceWorld();
    const missing = await world.gql(`mutation { startDocSpaceRestore(input: { backupId: "0b6f3c9e-1d1a-4c55-9a51-00000000dead" }) { id } }`);
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', source: SOURCE });
    const before = world.sim.requests.length;
    const blank = await world.gql(`mutation { startDocSpaceRestore(input: { backupId: " " }) { id } }`);
    expect(blank.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    const params = await world.gql(`mutation { startDocSpaceRestore(input: { backupId: "x", storageParams: [1] }) { id } }`);
    expect(params.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(world.sim.requests.slice(before).filter((r) => r.path.endsWith('startrestore'))).toHaveLength(0);
  });
});

describe('history and schedule mutations', () => {
  it('sets, reads and deletes the schedule; deletes one backup and clears the history', async () => {
    world = await startDocSpaceWorld();
    const set = await world.gql(`mutation { setDocSpaceBackupSchedule(input: { period: EVERY_MONTH, hour: 4, day: 15, backupsStored: 7, storageType: DOCUMENTS, storageParams: { folderId: "99" } }) {
      storageParams backupsStored cronParams { period hour day } } }`);
    expect(set.data.setDocSpaceBackupSchedule).toEqual({ storageParams: { folderId: '99' }, backupsStored: 7, cronParams: { period: 'EVERY_MONTH', hour: 4, day: 15 } });
    const bad = await world.gql(`mutation { setDocSpaceBackupSchedule(input: { period: EVERY_WEEK, hour: 24, day: 1 }) { dump } }`);
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'input.hour' });
    expect((await world.gql(`mutation { deleteDocSpaceBackupSchedule }`)).data).toEqual({ deleteDocSpaceBackupSchedule: true });
    expect((await world.gql(`{ docSpace { backupSchedule { dump } } }`)).data.docSpace.backupSchedule).toBeNull();

    expect((await world.gql(`mutation { deleteDocSpaceBackup(backupId: "${BACKUP_ID_1}") }`)).data).toEqual({ deleteDocSpaceBackup: true });
    const gone = await world.gql(`mutation { deleteDocSpaceBackup(backupId: "${BACKUP_ID_1}") }`);
    expect(gone.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
    const unsafe = await world.gql(`mutation { deleteDocSpaceBackup(backupId: "../startbackup") }`);
    expect(unsafe.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect((await world.gql(`mutation { clearDocSpaceBackupHistory(dump: true) }`)).data).toEqual({ clearDocSpaceBackupHistory: true });
    const left = await world.gql(`{ docSpace { backupHistory { id } dumps: backupHistory(dump: true) { id } } }`);
    expect(left.data.docSpace).toEqual({ backupHistory: [], dumps: [] });
  });
});

describe('errors', () => {
  it('maps a wrong key to UPSTREAM_UNAUTHORIZED without showing either key', async () => {
    const WRONG = 'sk-wrong-key-77b1e0c9d4';
    world = await startDocSpaceWorld({
      extraSources: (url) => [{ name: 'wrong', kind: 'docspace', baseUrl: url, token: WRONG, tokenScheme: 'bearer', poll: { activeMs: 100, idleMs: 150 } }],
    });
    const result = await world.gql(`{ docSpace(source: "wrong") { backupHistory { id } serviceEnabled } sources { name health { status lastError } } }`);
    expect(result.errors?.map((e) => e.extensions?.['code'])).toEqual(['UPSTREAM_UNAUTHORIZED', 'UPSTREAM_UNAUTHORIZED']);
    expect(result.errors?.[0]).toMatchObject({ extensions: { source: 'wrong', upstreamStatus: 401 } });
    expect(result.data.sources.find((s: any) => s.name === 'wrong').health.status).not.toBe('UP');
    const everything = JSON.stringify(result) + world.logs.join('\n');
    expect(everything).not.toContain(WRONG);
    expect(everything).not.toContain(API_KEY);
    // Without a source name the entry is ambiguous now.
    const ambiguous = await world.gql(`{ docSpace { serviceEnabled } }`);
    expect(ambiguous.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
  });

  it('keeps an upstream stack trace out of every response and log line', async () => {
    world = await startDocSpaceWorld();
    const stack = '   at ASC.Data.Backup.BackupService.Secret() in /app/Secret/BackupService.cs:line 42';
    const envelope = (message: string, statusCode: number) => ({ error: { message, type: 'ASC.InternalSecretException', stack, hresult: -2146233088 }, status: 1, statusCode });
    const marks = ['BackupService.cs', 'ASC.Data.Backup', 'InternalSecretException', '-2146233088', 'line 42'];

    world.sim.fail({ kind: 'status', status: 400, body: envelope(`Bad folder\n${stack}`, 400) }, { pathPrefix: '/api/2.0/backup/getbackuphistory' });
    const rejected = await world.gql(`{ docSpace { backupHistory { id } } }`);
    expect(rejected.errors?.[0]).toMatchObject({ message: 'DocSpace API rejected the request (400): Bad folder', extensions: { code: 'UPSTREAM_REJECTED' } });

    world.sim.fail({ kind: 'status', status: 500, body: envelope(`boom\n${stack}`, 500) }, { count: 3, pathPrefix: '/api/2.0/backup/getbackupschedule' });
    const internal = await world.gql(`{ docSpace { backupSchedule { dump } } }`);
    expect(internal.errors?.[0]?.extensions?.['code']).toBe('UPSTREAM_UNAVAILABLE');

    world.sim.fail({ kind: 'status', status: 200, body: envelope(`wrong type\n${stack}`, 400) }, { pathPrefix: '/api/2.0/backup/getbackupscount' });
    const inside = await world.gql(`{ docSpace { backupsCount } }`);
    expect(inside.errors?.[0]?.message).toBe('DocSpace API reported an error: wrong type');

    // Also while live: a poll failing with a stack goes to subscribers and to the log.
    const changes = collect(world.ws(), `subscription { operationsChanged { change } }`);
    world.sim.fail({ kind: 'status', status: 403, body: envelope(`Access denied\n${stack}`, 403) }, { count: 2, pathPrefix: '/api/2.0/backup/getbackupprogress' });
    const denied = await changes.next((e) => e.errors !== undefined);
    expect(denied.errors?.[0]?.extensions?.['code']).toBe('UPSTREAM_UNAUTHORIZED');

    const everything = [JSON.stringify([rejected, internal, inside, changes.events]), ...world.logs].join('\n');
    for (const mark of marks) expect(everything).not.toContain(mark);
    expect(world.logs.length).toBeGreaterThan(0);
  });
});
