import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { GatewayError } from '../src/errors.js';
import { DocSpaceClient, classifyDocSpaceStatus, describeDocSpaceError, isPortalRestoring, type DocSpaceClientOptions } from '../src/sources/docspace/client.js';
import { backupSnapshot, closeTask, decodeHistoryEntry, decodeSchedule, decodeServiceState, decodeTask, restoreSnapshot } from '../src/sources/docspace/map.js';
import { startDocSpaceSimulator, type DocSpaceSimulator } from '../src/sources/docspace/simulator.js';
import { QUOTA_ERROR, testScenario } from '../src/sources/docspace/scenarios.js';

const API_KEY = testScenario().apiKeys[0]!;
const USER = testScenario().users[0]!;
const START = Date.UTC(2025, 5, 1);
const SOURCE = 'docs';
let sim: DocSpaceSimulator;
let client: DocSpaceClient;
const clients: DocSpaceClient[] = [];

function makeClient(overrides: Partial<DocSpaceClientOptions> = {}): DocSpaceClient {
  const c = new DocSpaceClient({ source: SOURCE, baseUrl: sim.url, token: API_KEY, retry: { attempts: 1 }, ...overrides });
  clients.push(c);
  return c;
}

async function failure(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatewayError);
  return error as GatewayError;
}

const iso = (ms: number) => new Date(ms).toISOString();

beforeEach(async () => {
  sim = await startDocSpaceSimulator({ scenario: testScenario(), clock: 'manual', startAt: START });
  client = makeClient();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await sim.close();
});

describe('authentication', () => {
  it('sends API keys as Bearer by default and raw tokens without a scheme', async () => {
    expect(await client.getBackupProgress()).toBeNull();
    expect(sim.requests.at(-1)?.authorization).toBe(`Bearer ${API_KEY}`);

    const token = await client.authenticate(USER.userName, USER.password);
    const raw = makeClient({ token, tokenScheme: 'raw' });
    expect(decodeServiceState(await raw.getServiceState())).toEqual({ enabled: true });
    expect(sim.requests.at(-1)?.authorization).toBe(token);
  });

  it('maps a wrong key to UPSTREAM_UNAUTHORIZED without echoing it', async () => {
    const wrong = makeClient({ token: 'sk-wrong-key-987654' });
    const error = await failure(wrong.getBackupHistory());
    expect(error.code).toBe('UPSTREAM_UNAUTHORIZED');
    expect(error.status).toBe(401);
    expect(isPortalRestoring(error)).toBe(false);
    expect(error.message).not.toContain('sk-wrong-key-987654');
    // A raw API key falls through to the cookie handler and is refused too.
    const unprefixed = makeClient({ token: API_KEY, tokenScheme: 'raw' });
    expect((await failure(unprefixed.getBackupHistory())).code).toBe('UPSTREAM_UNAUTHORIZED');
  });

  it('keeps only the message of a failed authentication, never the stack', async () => {
    const error = await failure(client.authenticate(USER.userName, 'not-the-password'));
    expect(error.code).toBe('UPSTREAM_UNAUTHORIZED');
    expect(error.message).toContain('User authentication failed');
    for (const leak of ['   at ', 'BackupService.cs', 'AuthenticationException', '-2146233087']) expect(error.message).not.toContain(leak);
  });
});

describe('backups', () => {
  it('starts a backup and follows it Created → Running → Completed, visible until the next start', async () => {
    const started = decodeTask(await client.startBackup({ storageType: 'Documents', storageParams: { folderId: '12' } }));
    expect(started).toMatchObject({ taskStatus: 'CREATED', progress: 0, isCompleted: false, error: null, taskType: 'BACKUP', tenantId: 1 });
    expect(backupSnapshot(SOURCE, started, iso(sim.now())).status).toBe('PENDING');

    sim.advance(5_000);
    const running = decodeTask(await client.getBackupProgress());
    expect(running).toMatchObject({ taskId: started.taskId, taskStatus: 'RUNNING', progress: 50 });

    // A second start while it runs answers the same task.
    expect(decodeTask(await client.startBackup()).taskId).toBe(started.taskId);

    sim.advance(5_000);
    const done = decodeTask(await client.getBackupProgress());
    expect(done).toMatchObject({ taskId: started.taskId, taskStatus: 'COMPLETED', vendorTaskStatus: 'Completed', isCompleted: true, progress: 100 });
    expect(done.link).toMatch(/\/storage\/backup\/backup_.*\.tar\.gz$/);
    const snapshot = backupSnapshot(SOURCE, done, iso(sim.now()));
    expect(snapshot).toMatchObject({ status: 'SUCCEEDED', kind: 'BACKUP', typename: 'DocSpaceBackup', finishedAt: iso(sim.now()) });

    sim.advance(60_000);
    expect(decodeTask(await client.getBackupProgress()).taskId).toBe(started.taskId);
    const history = (await client.getBackupHistory()).map((h) => decodeHistoryEntry(SOURCE, h));
    expect(history).toHaveLength(2);
    expect(history[1]).toMatchObject({ storageType: 0, storageTypeName: 'Documents', createdOn: iso(START + 10_000) });

    const next = decodeTask(await client.startBackup());
    expect(next.taskId).not.toBe(started.taskId);
    expect(backupSnapshot(SOURCE, next, iso(sim.now())).id).not.toBe(snapshot.id);
  });

  it('reports a backup that fails on the storage quota as FAILED with the portal text', async () => {
    sim.failNextTask('backup', { atPercent: 30 });
    await client.startBackup();
    sim.advance(3_000);
    const task = decodeTask(await client.getBackupProgress());
    expect(task).toMatchObject({ isCompleted: true, taskStatus: 'FAILED', vendorTaskStatus: 'Failted', error: QUOTA_ERROR, progress: 30 });
    expect(backupSnapshot(SOURCE, task, iso(sim.now()))).toMatchObject({ status: 'FAILED', message: QUOTA_ERROR, vendorStatus: 'Failted' });
    expect(await client.getBackupHistory()).toHaveLength(1);
  });

  it('refuses a start over quota with 402 → UPSTREAM_REJECTED carrying the message only', async () => {
    sim.setStorageQuotaExceeded(true);
    const error = await failure(client.startBackup());
    expect(error).toMatchObject({ code: 'UPSTREAM_REJECTED', status: 402 });
    expect(error.message).toContain('The used storage quota is exceeded');
    expect(error.message).not.toMatch(/TenantQuotaException|\n|line \d+/);
  });

  it('cancels a backup: the task disappears and the close rule cancels it', async () => {
    const task = decodeTask(await client.startBackup());
    sim.advance(2_000);
    const last = backupSnapshot(SOURCE, decodeTask(await client.getBackupProgress()), iso(sim.now()));
    expect(await client.cancelBackup()).toBe(true);
    expect(await client.getBackupProgress()).toBeNull();
    const closed = closeTask(last, iso(sim.now()), { current: null });
    expect(closed).toMatchObject({ id: last.id, status: 'CANCELLED', finishedAt: iso(sim.now()) });
    expect(closed.message).toContain('no longer reports');
    expect(task.taskId).not.toBeNull();
  });

  it('filters progress, history, schedule and deletions by Dump', async () => {
    expect((await client.getBackupHistory({ dump: true })).map((h) => (h as { fileName: string }).fileName)).toEqual(['dump_2025-05-31.tar.gz']);
    await client.startBackup({ dump: true });
    expect(sim.requests.at(-1)?.path).toBe('/api/2.0/backup/startbackup');
    expect(await client.getBackupProgress()).toBeNull();
    expect(decodeTask(await client.getBackupProgress({ dump: true })).taskType).toBe('BACKUP');
    expect(await client.getBackupSchedule({ dump: true })).toBeNull();
    expect(await client.deleteBackupHistory({ dump: true })).toBe(true);
    expect(await client.getBackupHistory({ dump: true })).toEqual([]);
    expect(await client.getBackupHistory()).toHaveLength(1);
  });

  it('deletes one backup, refuses unsafe ids locally and maps a missing one to NOT_FOUND', async () => {
    const [first] = await client.getBackupHistory();
    const id = (first as { id: string }).id;
    expect(await client.deleteBackup(id)).toBe(true);
    expect((await failure(client.deleteBackup(id))).code).toBe('NOT_FOUND');
    const before = sim.requests.length;
    for (const bad of ['..', '.', 'a/b', 'a\\b', '']) {
      expect((await failure(client.deleteBackup(bad))).code).toBe('BAD_USER_INPUT');
    }
    expect(sim.requests.length).toBe(before);
    // Anything else is percent-encoded into its one segment; the portal refuses it as an id.
    expect((await failure(client.deleteBackup('%2e%2e'))).code).toBe('UPSTREAM_REJECTED');
    expect((await failure(client.deleteBackup('x?y'))).code).toBe('UPSTREAM_REJECTED');
    expect(sim.requests.slice(before).map((r) => r.path)).toEqual(['/api/2.0/backup/deletebackup/%252e%252e', '/api/2.0/backup/deletebackup/x%3Fy']);
  });

  it('answers the count and the service state', async () => {
    expect(await client.getBackupsCount()).toBe(2);
    expect(await client.getBackupsCount({ from: iso(START - 36 * 3_600_000), to: iso(START), paid: false })).toBe(1);
    expect(sim.requests.at(-1)?.path).toBe('/api/2.0/backup/getbackupscount');
    expect((await failure(client.getBackupsCount({ from: 'yesterday' }))).code).toBe('UPSTREAM_REJECTED');
  });
});

describe('schedule', () => {
  it('reads, replaces and deletes the schedule with its cron parameters', async () => {
    expect(decodeSchedule(await client.getBackupSchedule())).toEqual({
      storageType: 0,
      storageTypeName: 'Documents',
      storageParams: { folderId: '12' },
      cronParams: { period: 'EVERY_WEEK', vendorPeriod: 'EveryWeek', hour: 3, day: 2 },
      backupsStored: 5,
      lastBackupTime: '2025-05-31T00:00:00.000Z',
      dump: false,
    });
    expect(await client.createBackupSchedule({ storageType: 'Local', storageParams: { filePath: '/var/backups' }, backupsStored: 7, cronParams: { period: 'EveryMonth', hour: 23, day: 15 } })).toBe(true);
    expect(decodeSchedule(await client.getBackupSchedule())).toMatchObject({
      storageType: 3,
      storageParams: { filePath: '/var/backups' },
      cronParams: { period: 'EVERY_MONTH', hour: 23, day: 15 },
      backupsStored: 7,
    });
    const invalid = await failure(client.createBackupSchedule({ backupsStored: 31, cronParams: { period: 0, hour: 1 } }));
    expect(invalid).toMatchObject({ code: 'UPSTREAM_REJECTED', status: 400 });
    expect(invalid.message).toContain('backupsStored must be between 1 and 30');
    expect(await client.deleteBackupSchedule()).toBe(true);
    expect(await client.getBackupSchedule()).toBeNull();
  });
});

describe('restores', () => {
  it('follows a restore anonymously while every other call is "restoring", then sees the new tenant', async () => {
    const backupId = (((await client.getBackupHistory())[0]) as { id: string }).id;
    const started = decodeTask(await client.startRestore({ backupId, notify: true }));
    expect(started).toMatchObject({ taskType: 'RESTORE', taskStatus: 'CREATED', tenantId: 1 });
    const first = restoreSnapshot(SOURCE, started, iso(sim.now()));
    expect(first).toMatchObject({ kind: 'RESTORE', typename: 'DocSpaceRestore', status: 'PENDING' });

    sim.advance(4_000);
    const asked = sim.countRequests('GET', '/api/2.0/backup/getbackupprogress');
    const restoring = await failure(client.getBackupProgress());
    expect(restoring).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 403, details: { restoring: true } });
    expect(sim.countRequests('GET', '/api/2.0/backup/getbackupprogress') - asked).toBe(1); // not retried: a restore lasts minutes
    expect(isPortalRestoring(restoring)).toBe(true);
    expect(restoring.message).toContain('being restored');
    expect(restoring.extensions['restoring']).toBe(true);
    expect((await failure(client.getBackupHistory())).code).toBe('UPSTREAM_UNAVAILABLE');

    const mid = decodeTask(await client.getRestoreProgress());
    expect(mid).toMatchObject({ taskId: started.taskId, taskStatus: 'RUNNING', progress: 50 });
    const progressCall = sim.requests.at(-1)!;
    expect(progressCall.path).toBe('/api/2.0/backup/getrestoreprogress');
    expect(progressCall.authorization).toBeUndefined();

    sim.advance(4_000);
    const done = decodeTask(await client.getRestoreProgress());
    expect(done).toMatchObject({ taskId: started.taskId, isCompleted: true, taskStatus: 'COMPLETED', tenantId: 2 });
    expect(done.link).toBe(`${sim.url}/`);
    const finished = restoreSnapshot(SOURCE, done, iso(sim.now()));
    expect(finished).toMatchObject({ id: first.id, status: 'SUCCEEDED', detail: { tenantId: 2, link: `${sim.url}/` } });

    // The portal is back: authenticated calls work again; the old tenant's backup task is gone.
    expect(await client.getBackupProgress()).toBeNull();
    expect(sim.tenantId()).toBe(2);
  });

  it('closes a restore that vanished after a tenant change as SUCCEEDED', () => {
    const last = restoreSnapshot(SOURCE, decodeTask({ isCompleted: false, progress: 80, error: '', tenantId: 1, backupProgressEnum: 1, status: 1, taskId: 't-1' }), iso(START));
    const closed = closeTask(last, iso(START + 1_000), { current: null, tenantId: 2 });
    expect(closed).toMatchObject({ status: 'SUCCEEDED', progress: { percent: 100 }, detail: { tenantId: 1, newTenantId: 2 } });
    expect(closed.message).toContain('tenant 2');
  });

  it('reports portal transfers as TRANSFER operations', async () => {
    sim.startTransfer(2_000);
    sim.advance(1_000);
    expect((await failure(client.getBackupSchedule())).details).toEqual({ restoring: true });
    const task = decodeTask(await client.getRestoreProgress());
    expect(task).toMatchObject({ taskType: 'TRANSFER', vendorTaskType: 'Transfer' });
    expect(restoreSnapshot(SOURCE, task, iso(sim.now()))).toMatchObject({ kind: 'TRANSFER', status: 'RUNNING' });
  });

  it('rejects a restore of an unknown backup and while a backup runs', async () => {
    expect((await failure(client.startRestore({ backupId: '0b6f3c9e-1d1a-4c55-9a51-0000000000ff' }))).code).toBe('NOT_FOUND');
    await client.startBackup();
    const busy = await failure(client.startRestore({ backupId: '0b6f3c9e-1d1a-4c55-9a51-000000000001' }));
    expect(busy).toMatchObject({ code: 'UPSTREAM_REJECTED', status: 400 });
  });

  it('answers an absent response when no restore ever ran', async () => {
    expect(await client.getRestoreProgress()).toBeNull();
    expect(await client.getRestoreProgress({ dump: true })).toBeNull();
  });
});

describe('transport failures', () => {
  it('never lets an upstream stack trace into an error message', async () => {
    const stack = '   at ASC.Secret.Internals.Run() in /app/Secret.cs:line 42';
    const body = { error: { message: 'Access denied', type: 'System.Security.SecurityException', stack, hresult: -2146233078 }, status: 1, statusCode: 403 };
    sim.fail({ kind: 'status', status: 403, body }, { count: 1 });
    const denied = await failure(client.getBackupHistory());
    expect(denied.code).toBe('UPSTREAM_UNAUTHORIZED');
    expect(isPortalRestoring(denied)).toBe(false);
    expect(denied.message).toContain('Access denied');

    sim.fail({ kind: 'status', status: 500, body: { ...body, error: { ...body.error, message: `boom\n${stack}` }, statusCode: 500 } }, { count: 1 });
    const internal = await failure(client.getBackupHistory());
    expect(internal.code).toBe('UPSTREAM_UNAVAILABLE');

    const multiLine = { ...body, error: { ...body.error, message: `Bad thing\n${stack}` }, statusCode: 400 };
    sim.fail({ kind: 'status', status: 400, body: multiLine }, { count: 1 });
    const rejected = await failure(client.getBackupHistory());
    for (const error of [denied, internal, rejected]) {
      expect(error.message).not.toContain('Secret');
      expect(error.message).not.toContain('line 42');
      expect(JSON.stringify(error.toJSON())).not.toContain('Secret');
    }
    expect(describeDocSpaceError(400, JSON.stringify(multiLine))).toBe('Bad thing');
    expect(classifyDocSpaceStatus(403, '')).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', details: { restoring: true } });
    expect(classifyDocSpaceStatus(403, JSON.stringify(body))).toBeUndefined();
    expect(classifyDocSpaceStatus(401, '')).toBeUndefined();
  });

  it('treats an error envelope inside a 200 as rejected, keeping only the message', async () => {
    const body = { error: { message: 'wrong folder type', stack: '   at X.Y() in /app/Z.cs:line 1', type: 'System.ArgumentException' }, status: 1, statusCode: 400 };
    sim.fail({ kind: 'status', status: 200, body });
    const error = await failure(client.getBackupProgress());
    expect(error).toMatchObject({ code: 'UPSTREAM_REJECTED', status: 400 });
    expect(error.message).toBe('DocSpace API reported an error: wrong folder type');
  });

  it('maps malformed JSON, dropped connections and slow bodies to typed errors', async () => {
    sim.fail({ kind: 'malformed-json' });
    expect((await failure(client.getBackupProgress())).code).toBe('UPSTREAM_BAD_RESPONSE');
    sim.fail({ kind: 'drop' });
    expect((await failure(client.getBackupProgress())).code).toBe('UPSTREAM_UNAVAILABLE');
    const slow = makeClient({ timeouts: { connectMs: 100, headersMs: 100, bodyMs: 100 } });
    sim.fail({ kind: 'hang', ms: 2_000 });
    expect((await failure(slow.getBackupProgress())).code).toBe('UPSTREAM_TIMEOUT');
    sim.fail({ kind: 'drip', intervalMs: 150 });
    expect((await failure(slow.getServiceState())).code).toBe('UPSTREAM_TIMEOUT');
  });

  it('still reads a dripped body completely', async () => {
    sim.fail({ kind: 'drip', intervalMs: 1 });
    expect(decodeServiceState(await client.getServiceState())).toEqual({ enabled: true });
  });

  it('retries idempotent reads on a transient failure', async () => {
    const retrying = makeClient({ retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });
    sim.fail({ kind: 'status', status: 503 }, { count: 2 });
    expect(await retrying.getBackupsCount()).toBe(2);
    expect(sim.countRequests('GET', '/api/2.0/backup/getbackupscount')).toBe(3);
  });
});
