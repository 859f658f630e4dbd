import { describe, expect, it } from 'vitest';
import { decodeGlobalId } from '../src/model/ids.js';
import { isoTimestamp } from '../src/sources/decode.js';
import {
  backupOutcomeBetween,
  backupRunSnapshot,
  closeBackupRun,
  decodeBackupDetails,
  decodeRestoreJobStatus,
  decodeRoutineState,
  decodeVersion,
  isBackupRunInFlight,
  isRestoreJobInFlight,
  listItems,
  mapBackup,
  mapEntries,
  mapVersion,
  parseBackupEvents,
  restoreJobSnapshot,
  restoreStatus,
  restoreStatusFilterValues,
  runningBackups,
  scrubSecrets,
} from '../src/sources/aerospike/map.js';

const NOW = '2024-01-01T12:45:00.000Z';

/** The seed document's example: a full and an incremental in progress at once. */
const SEED_STATE = {
  full: {
    'total-records': 100000,
    'done-records': 50000,
    'start-time': '2024-01-01T12:00:00Z',
    'percentage-done': 50,
    'estimated-end-time': '2024-01-01T13:00:00Z',
    metrics: { 'records-per-second': 1000, 'kilobytes-per-second': 30000, pipeline: 0 },
  },
  incremental: {
    'total-records': 20000,
    'done-records': 15000,
    'start-time': '2024-01-01T12:30:00Z',
    'percentage-done': 75,
    'estimated-end-time': '2024-01-01T12:40:00Z',
    metrics: { 'records-per-second': 1000, 'kilobytes-per-second': 30000, pipeline: 0 },
  },
};

const SEED_BACKUP = {
  created: '2024-01-01T12:00:00Z',
  timestamp: 1704110400000,
  finished: '2024-01-01T12:05:00Z',
  duration: 300,
  from: '0001-01-01T00:00:00Z',
  namespace: 'source-ns1',
  'record-count': 42,
  'byte-count': 480000,
  'file-count': 1,
  'secondary-index-count': 5,
  'udf-count': 1,
  key: 'routine1/backup/1704110400000/source-ns1',
  storage: { 's3-storage': { bucket: 'as-backup-bucket', path: 'backups', 's3-region': 'eu-central-1' } },
  compression: 'ZSTD',
  encryption: 'NONE',
};

describe('backup runs', () => {
  it('maps the seed’s full and incremental in progress at once to two runs with every field', () => {
    const runs = runningBackups('routine1', decodeRoutineState(SEED_STATE));
    const [full, incremental] = runs.map((r) => backupRunSnapshot('abs', r, NOW));
    expect(full!.id).not.toBe(incremental!.id);
    expect(decodeGlobalId(full!.id)).toMatchObject({ typename: 'AerospikeBackupRun', parts: ['abs', 'routine1', 'FULL', '2024-01-01T12:00:00.000Z'] });
    expect(full).toMatchObject({
      kind: 'BACKUP',
      status: 'RUNNING',
      vendorStatus: null,
      startedAt: '2024-01-01T12:00:00.000Z',
      progress: { percent: 50, done: 50000, total: 100000, unit: 'records', ratePerSecond: 1000, estimatedEndAt: '2024-01-01T13:00:00.000Z', estimated: false },
    });
    expect(incremental!.detail).toEqual({
      routine: 'routine1',
      mode: 'INCREMENTAL',
      totalRecords: 20000,
      doneRecords: 15000,
      percentageDone: 75,
      startTime: '2024-01-01T12:30:00.000Z',
      finishTime: null,
      estimatedEndTime: '2024-01-01T12:40:00.000Z',
      durationSeconds: null,
      recordsPerSecond: 1000,
      kilobytesPerSecond: 30000,
      pipeline: 0,
      lastRunAt: null,
      backupKeys: [],
    });
    expect(runs.every(isBackupRunInFlight)).toBe(true);
  });

  it('gives a second run of the same routine a new id; without start-time the previous run tells them apart', () => {
    const a = runningBackups('r', decodeRoutineState({ full: { 'start-time': '2024-01-01T12:00:00Z' } }))[0]!;
    const b = runningBackups('r', decodeRoutineState({ full: { 'start-time': '2024-01-02T12:00:00Z' } }))[0]!;
    expect(backupRunSnapshot('abs', a, NOW).id).not.toBe(backupRunSnapshot('abs', b, NOW).id);
    const c = runningBackups('r', decodeRoutineState({ full: {}, 'last-full': '2024-01-01T00:00:00Z' }))[0]!;
    const d = runningBackups('r', decodeRoutineState({ full: {}, 'last-full': '2024-01-02T00:00:00Z' }))[0]!;
    expect(decodeGlobalId(backupRunSnapshot('abs', c, NOW).id).parts.at(-1)).toBe('after:2024-01-01T00:00:00.000Z');
    expect(backupRunSnapshot('abs', c, NOW).id).not.toBe(backupRunSnapshot('abs', d, NOW).id);
  });

  it('copes with missing percentage-done and estimated-end-time (v2 omitempty)', () => {
    const run = runningBackups('r', decodeRoutineState({ full: { 'total-records': 200, 'done-records': 50, 'start-time': '2024-01-01T12:00:00Z' } }))[0]!;
    const snap = backupRunSnapshot('abs', run, NOW);
    expect(snap.progress).toMatchObject({ percent: 25, estimatedEndAt: null, ratePerSecond: null });
    expect(snap.message).toContain('no percentage reported');
    const bare = runningBackups('r', decodeRoutineState({ full: {} }))[0]!;
    expect(backupRunSnapshot('abs', bare, NOW).progress.percent).toBeNull();
    expect(isBackupRunInFlight({ ...bare, job: { 'finish-time': '2024-01-01T12:00:00Z' } })).toBe(false);
  });

  it('closes: SUCCEEDED on a new backup, else FAILED or CANCELLED with a reason', () => {
    const run = runningBackups('routine1', decodeRoutineState(SEED_STATE))[0]!;
    const last = backupRunSnapshot('abs', run, NOW);
    const fresh = decodeBackupDetails(SEED_BACKUP);
    const old = decodeBackupDetails({ ...SEED_BACKUP, created: '2023-12-31T12:00:00Z', finished: '2023-12-31T12:05:00Z', key: 'old' });
    const ok = closeBackupRun(last, NOW, { backups: [old, fresh] });
    expect(ok).toMatchObject({ status: 'SUCCEEDED', finishedAt: '2024-01-01T12:05:00.000Z', progress: { percent: 100, done: 100000, ratePerSecond: null } });
    expect((ok.detail as { backupKeys: string[] }).backupKeys).toEqual([SEED_BACKUP.key]);
    expect(closeBackupRun(last, NOW, { backups: [old] })).toMatchObject({
      status: 'FAILED',
      finishedAt: NOW,
      message: 'the full backup of routine routine1 left currentBackup without a new backup in the list',
    });
    expect(closeBackupRun(last, NOW, { backups: [old], cancelledByGateway: true }).status).toBe('CANCELLED');
    expect(closeBackupRun(last, NOW, { backups: [], metricsOutcome: 'canceled' }).status).toBe('CANCELLED');
  });
});

describe('finished backups', () => {
  it('maps every field; the zero time is null', () => {
    const model = mapBackup('abs', 'routine1', 'full', decodeBackupDetails({ ...SEED_BACKUP, 'finished-timestamp': 1704110700000 }));
    expect(model).toMatchObject({
      key: SEED_BACKUP.key,
      mode: 'FULL',
      from: null,
      createdAt: '2024-01-01T12:00:00.000Z',
      timestamp: 1704110400000,
      finishedTimestamp: 1704110700000,
      durationSeconds: 300,
      recordCount: 42,
      byteCount: 480000,
      fileCount: 1,
      secondaryIndexCount: 5,
      udfCount: 1,
      compression: 'ZSTD',
      encryption: 'NONE',
      storage: SEED_BACKUP.storage,
    });
    expect(isoTimestamp('0001-01-01T00:00:00Z')).toBeNull();
    expect(isoTimestamp('1970-01-01T00:00:00Z')).toBeNull();
    expect(mapBackup('abs', 'r', 'incremental', decodeBackupDetails({ key: 'k', from: '2024-01-01T11:00:00Z' })).from).toBe('2024-01-01T11:00:00.000Z');
  });

  it('rejects a malformed item alone, naming the field', () => {
    const items = listItems([SEED_BACKUP, { ...SEED_BACKUP, 'record-count': 'lots' }, { created: 'x' }], 'backups');
    const results = items.map((raw) => {
      try {
        return decodeBackupDetails(raw).key;
      } catch (error) {
        return (error as Error).message;
      }
    });
    expect(results[0]).toBe(SEED_BACKUP.key);
    expect(results[1]).toContain('record-count');
    expect(results[2]).toContain('key');
    expect(() => mapEntries([], 'backups')).toThrow('expected an object keyed by name');
  });
});

describe('restore jobs', () => {
  it.each([
    ['Running', 'RUNNING'],
    ['running', 'RUNNING'],
    ['Done', 'SUCCEEDED'],
    ['success', 'SUCCEEDED'],
    ['Failed', 'FAILED'],
    ['failure', 'FAILED'],
    ['Canceled', 'CANCELLED'],
    ['canceled', 'CANCELLED'],
    ['Cancelled', 'CANCELLED'],
    ['CANCELLED', 'CANCELLED'],
    ['Paused', 'UNKNOWN'],
  ])('status %s → %s', (vendor, status) => {
    expect(restoreStatus(vendor)).toBe(status);
  });

  it('keeps an unknown status in vendorStatus and keeps polling it', () => {
    const item = { jobId: '7', job: decodeRestoreJobStatus({ status: 'Paused' }) };
    expect(restoreJobSnapshot('abs', item, NOW)).toMatchObject({ status: 'UNKNOWN', vendorStatus: 'Paused', message: 'unknown ABS restore status "Paused"' });
    expect(isRestoreJobInFlight(item)).toBe(true);
    expect(isRestoreJobInFlight({ jobId: '7', job: decodeRestoreJobStatus({ status: 'success' }) })).toBe(false);
  });

  it('maps the seed’s job with every counter and the current-job metrics', () => {
    const raw = {
      'read-records': 100000, 'total-bytes': 30000000, 'expired-records': 0, 'skipped-records': 0, 'ignored-records': 0, 'inserted-records': 50000,
      'existed-records': 0, 'fresher-records': 0, 'index-count': 4, 'udf-count': 1, 'errors-in-doubt': 0,
      'current-job': SEED_STATE.full, status: 'Running',
    };
    const snap = restoreJobSnapshot('abs', { jobId: '12345678', job: decodeRestoreJobStatus(raw) }, NOW);
    expect(decodeGlobalId(snap.id)).toMatchObject({ typename: 'AerospikeRestoreJob', parts: ['abs', '12345678'] });
    expect(snap).toMatchObject({ kind: 'RESTORE', status: 'RUNNING', vendorStatus: 'Running', startedAt: '2024-01-01T12:00:00.000Z', finishedAt: null, progress: { percent: 50 } });
    expect(snap.detail).toMatchObject({
      jobId: '12345678', readRecords: 100000, totalBytes: 30000000, insertedRecords: 50000, indexCount: 4, udfCount: 1, errorsInDoubt: 0,
      recordsPerSecond: 1000, kilobytesPerSecond: 30000, pipeline: 0, error: null, currentJob: { totalRecords: 100000, doneRecords: 50000 },
    });
  });

  it('handles a job without current-job or counters', () => {
    const snap = restoreJobSnapshot('abs', { jobId: '1', job: decodeRestoreJobStatus({ status: 'failure', error: 'boom' }) }, NOW);
    expect(snap).toMatchObject({ status: 'FAILED', message: 'boom', startedAt: null, progress: { percent: null, done: 0 } });
    expect(() => decodeRestoreJobStatus({ 'read-records': 1 })).toThrow(/status/);
  });

  it('spells status filters so both generations understand them', () => {
    expect(restoreStatusFilterValues(['RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'UNKNOWN', 'RUNNING'])).toEqual(['Running', 'Done', 'Failed', 'Canceled']);
  });
});

describe('configuration, version, metrics', () => {
  it('replaces secrets at any depth but keeps names and paths', () => {
    const scrubbed = scrubSecrets({
      credentials: { user: 'u', password: 'p' },
      tls: { 'key-file': '/k.pem', 'key-file-password': 'kp' },
      azure: { 'account-key': 'ak', 'client-secret': 'cs', 'account-name': 'n' },
      'secret-agent': 'sa',
      key: 'routine/backup/1/ns',
    });
    expect(scrubbed).toEqual({
      credentials: { user: 'u', password: '[secret]' },
      tls: { 'key-file': '/k.pem', 'key-file-password': '[secret]' },
      azure: { 'account-key': '[secret]', 'client-secret': '[secret]', 'account-name': 'n' },
      'secret-agent': 'sa',
      key: 'routine/backup/1/ns',
    });
  });

  it('reads both /version shapes and rejects neither-nor', () => {
    expect(mapVersion(decodeVersion('v2.0.0'))).toMatchObject({ version: 'v2.0.0', format: 'text' });
    expect(mapVersion(decodeVersion({ version: '3.7.0', 'build-time': 'not a date', commit: 'c' }))).toMatchObject({ buildTime: 'not a date', commit: 'c' });
    expect(() => decodeVersion({ commit: 'c' })).toThrow(/version/);
  });

  it('parses backup event counters and tells a failure from a skip', () => {
    const before = parseBackupEvents('aerospike_backup_service_backup_events_total{outcome="skip",routine="r",type="incremental"} 1\n');
    const after = parseBackupEvents(
      [
        '# TYPE aerospike_backup_service_backup_events_total counter',
        'aerospike_backup_service_backup_events_total{outcome="skip",routine="r",type="incremental"} 1',
        'aerospike_backup_service_backup_events_total{outcome="failure",routine="r",type="incremental"} 1',
        'aerospike_backup_service_backup_events_total{outcome="skip",routine="r",type="full"} 4',
      ].join('\n'),
    );
    expect(after).toHaveLength(3);
    expect(backupOutcomeBetween(before, after, 'r', 'incremental')).toBe('failure');
    expect(backupOutcomeBetween([], after, 'r', 'full')).toBe('skip');
    expect(backupOutcomeBetween(after, after, 'r', 'full')).toBeNull();
  });
});
