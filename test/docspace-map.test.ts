import { describe, it, expect } from 'vitest';
import { decodeGlobalId } from '../src/model/ids.js';
import {
  backupSnapshot,
  closeTask,
  continuesRun,
  decodeHistoryEntry,
  decodeSchedule,
  decodeServiceState,
  decodeTask,
  isBackupInFlight,
  isRestoreInFlight,
  restoreSnapshot,
  storageTypeValue,
  taskStatus,
  type DocSpaceTaskDetail,
} from '../src/sources/docspace/map.js';

const NOW = '2025-06-01T12:00:00.000Z';
const LATER = '2025-06-01T12:05:00.000Z';
const wire = (fields: Record<string, unknown> = {}) => ({ isCompleted: false, progress: 40, error: '', tenantId: 7, backupProgressEnum: 0, status: 1, taskId: 'task-1', ...fields });

describe('decodeTask', () => {
  it('reads integer enums, including the Failted spelling', () => {
    expect(decodeTask(wire({ status: 4, isCompleted: true, error: 'disk full' }))).toMatchObject({ taskStatus: 'FAILED', vendorTaskStatus: 'Failted', error: 'disk full' });
    expect(decodeTask(wire({ backupProgressEnum: 2 }))).toMatchObject({ taskType: 'TRANSFER', vendorTaskType: 'Transfer' });
    expect(decodeTask(wire({ status: 0 }))).toMatchObject({ taskStatus: 'CREATED', vendorTaskStatus: 'Created' });
  });

  it('accepts enum names in any case, and numeric strings', () => {
    expect(decodeTask(wire({ status: 'Failted' })).taskStatus).toBe('FAILED');
    expect(decodeTask(wire({ status: 'failed' })).taskStatus).toBe('FAILED');
    expect(decodeTask(wire({ status: 'CANCELED' })).taskStatus).toBe('CANCELED');
    expect(decodeTask(wire({ status: '2' })).taskStatus).toBe('COMPLETED');
    expect(decodeTask(wire({ backupProgressEnum: 'restore' })).taskType).toBe('RESTORE');
  });

  it('keeps unknown enum values as their raw text', () => {
    const task = decodeTask(wire({ status: 9, backupProgressEnum: 'Migration' }));
    expect(task).toMatchObject({ taskStatus: 'UNKNOWN', vendorTaskStatus: '9', taskType: 'UNKNOWN', vendorTaskType: 'Migration' });
    const snapshot = backupSnapshot('docs', task, NOW);
    expect(snapshot).toMatchObject({ status: 'UNKNOWN', vendorStatus: '9', kind: 'BACKUP' });
    expect(isBackupInFlight(task)).toBe(true);
  });

  it('treats "" and null errors as no error and tolerates absent optional fields (the seed shape)', () => {
    expect(decodeTask(wire({ error: '' })).error).toBeNull();
    expect(decodeTask(wire({ error: null })).error).toBeNull();
    const seed = decodeTask({ isCompleted: false, progress: 10, error: null, link: null, tenantId: 1, backupProgressEnum: 1, taskId: 'r' });
    expect(seed).toMatchObject({ taskStatus: null, vendorTaskStatus: null, warning: null, link: null });
    expect(taskStatus(seed)).toBe('RUNNING');
    const bare = decodeTask({ isCompleted: true, progress: 100 });
    expect(bare).toMatchObject({ taskId: null, tenantId: null, taskType: 'UNKNOWN', taskStatus: null });
    expect(taskStatus(bare)).toBe('SUCCEEDED');
  });

  it('rejects a malformed item alone, naming the field', () => {
    const items = [wire(), wire({ progress: 'fifty' }), wire({ taskId: 'task-3' })];
    const results = items.map((item) => {
      try {
        return decodeTask(item).taskId;
      } catch (error) {
        return (error as Error).message;
      }
    });
    expect(results[0]).toBe('task-1');
    expect(results[1]).toMatch(/progress/);
    expect(results[2]).toBe('task-3');
    expect(() => decodeTask({ progress: 1 })).toThrow(/isCompleted/);
    expect(() => decodeTask(null)).toThrow(/\(item\)/);
  });

  it('clamps progress to 0..100', () => {
    expect(decodeTask(wire({ progress: 140 })).progress).toBe(100);
    expect(decodeTask(wire({ progress: -3 })).progress).toBe(0);
  });
});

describe('status table', () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ status: 0, isCompleted: false }, 'PENDING'],
    [{ status: 1, isCompleted: false }, 'RUNNING'],
    [{ status: 2, isCompleted: true }, 'SUCCEEDED'],
    [{ status: 2, isCompleted: false }, 'SUCCEEDED'],
    [{ status: 1, isCompleted: true }, 'SUCCEEDED'],
    [{ status: 3, isCompleted: true }, 'CANCELLED'],
    [{ status: 4, isCompleted: true, error: '' }, 'FAILED'],
    [{ status: 2, isCompleted: true, error: 'boom' }, 'FAILED'],
    [{ status: 1, isCompleted: false, error: 'boom' }, 'FAILED'],
    [{ status: 'Weird', isCompleted: false }, 'UNKNOWN'],
    [{ status: 'Weird', isCompleted: true }, 'SUCCEEDED'],
  ];
  it.each(cases)('%j → %s', (fields, expected) => {
    expect(taskStatus(decodeTask(wire(fields)))).toBe(expected);
  });

  it('uses the error as the message, or says why otherwise', () => {
    expect(backupSnapshot('docs', decodeTask(wire({ status: 4, isCompleted: true, error: 'quota exceeded' })), NOW).message).toBe('quota exceeded');
    expect(backupSnapshot('docs', decodeTask(wire({ status: 4, isCompleted: true })), NOW).message).toContain('Failted');
    expect(backupSnapshot('docs', decodeTask(wire({ status: 3, isCompleted: true })), NOW).message).toBe('the task was cancelled');
    expect(backupSnapshot('docs', decodeTask(wire({ warning: '2 files skipped' })), NOW).message).toBe('2 files skipped');
  });

  it('has one in-flight predicate for every task type', () => {
    expect(isRestoreInFlight).toBe(isBackupInFlight);
    expect(isBackupInFlight(decodeTask(wire({ status: 0 })))).toBe(true);
    expect(isBackupInFlight(decodeTask(wire({ status: 2, isCompleted: true })))).toBe(false);
    expect(isBackupInFlight(decodeTask(wire({ error: 'x' })))).toBe(false);
  });
});

describe('snapshots', () => {
  it('identifies a run by source and task id, with the GraphQL type name', () => {
    const snapshot = backupSnapshot('docs', decodeTask(wire()), NOW, { dump: true });
    expect(decodeGlobalId(snapshot.id)).toMatchObject({ typename: 'DocSpaceBackup', parts: ['docs', 'task-1'] });
    expect(snapshot).toMatchObject({
      typename: 'DocSpaceBackup',
      source: 'docs',
      kind: 'BACKUP',
      status: 'RUNNING',
      vendorStatus: 'Running',
      progress: { percent: 40, done: 40, total: 100, unit: 'percent', ratePerSecond: null, estimatedEndAt: null, estimated: false },
      startedAt: null,
      updatedAt: NOW,
      finishedAt: null,
    });
    expect(snapshot.detail).toEqual({
      taskId: 'task-1',
      tenantId: 7,
      taskType: 'BACKUP',
      vendorTaskType: 'Backup',
      taskStatus: 'RUNNING',
      vendorTaskStatus: 'Running',
      isCompleted: false,
      progress: 40,
      error: null,
      warning: null,
      link: null,
      dump: true,
      runStartedAt: null,
      newTenantId: null,
    } satisfies DocSpaceTaskDetail);
    const other = backupSnapshot('docs', decodeTask(wire({ taskId: 'task-2' })), NOW);
    expect(other.id).not.toBe(snapshot.id);
  });

  it('carries the restore link and takes the kind from backupProgressEnum (TRANSFER)', () => {
    const restore = restoreSnapshot('docs', decodeTask(wire({ backupProgressEnum: 1, status: 2, isCompleted: true, progress: 100, link: 'https://docs.example.com/' })), NOW);
    expect(restore).toMatchObject({ typename: 'DocSpaceRestore', kind: 'RESTORE', status: 'SUCCEEDED', finishedAt: NOW, detail: { link: 'https://docs.example.com/' } });
    expect(decodeGlobalId(restore.id).typename).toBe('DocSpaceRestore');
    expect(restoreSnapshot('docs', decodeTask(wire({ backupProgressEnum: 2 })), NOW).kind).toBe('TRANSFER');
    expect(restoreSnapshot('docs', decodeTask(wire({ backupProgressEnum: null })), NOW).kind).toBe('RESTORE');
  });

  it('reports 100 % for a success even when the portal sent less', () => {
    expect(backupSnapshot('docs', decodeTask(wire({ isCompleted: true, status: 2, progress: 97 })), NOW).progress.percent).toBe(100);
  });

  it('gives taskless runs an id per first-seen time, and continuesRun tells runs apart', () => {
    const taskless = (fields: Record<string, unknown>) => decodeTask(wire({ taskId: null, ...fields }));
    const first = restoreSnapshot('docs', taskless({ backupProgressEnum: 1 }), NOW, { runStartedAt: NOW });
    expect(decodeGlobalId(first.id).parts).toEqual(['docs', 'run', 'RESTORE', NOW]);
    expect(continuesRun(first, taskless({ backupProgressEnum: 1, progress: 60 }))).toBe(true);
    expect(continuesRun(first, taskless({ backupProgressEnum: 1, progress: 5 }))).toBe(false);
    expect(continuesRun(first, taskless({ backupProgressEnum: 2, progress: 60 }))).toBe(false);
    expect(continuesRun(undefined, taskless({}))).toBe(false);

    const done = restoreSnapshot('docs', taskless({ backupProgressEnum: 1, isCompleted: true, status: 2, progress: 100 }), LATER, { runStartedAt: NOW });
    expect(done.id).toBe(first.id);
    // Still visible until the next start: the same run; a different outcome is a new run.
    expect(continuesRun(done, taskless({ backupProgressEnum: 1, isCompleted: true, status: 2, progress: 100 }))).toBe(true);
    expect(continuesRun(done, taskless({ backupProgressEnum: 1, progress: 0, status: 0 }))).toBe(false);
    expect(restoreSnapshot('docs', taskless({}), LATER, { runStartedAt: LATER }).id).not.toBe(first.id);

    const withId = backupSnapshot('docs', decodeTask(wire()), NOW);
    expect(continuesRun(withId, decodeTask(wire({ progress: 90 })))).toBe(true);
    expect(continuesRun(withId, decodeTask(wire({ taskId: 'task-9' })))).toBe(false);
  });
});

describe('closeTask', () => {
  const running = (fields: Record<string, unknown> = {}) => backupSnapshot('docs', decodeTask(wire(fields)), NOW);

  it('cancels a vanished backup with its last progress and a reason', () => {
    const closed = closeTask(running(), LATER, { current: null });
    expect(closed).toMatchObject({ status: 'CANCELLED', finishedAt: LATER, updatedAt: LATER, progress: { percent: 40 } });
    expect(closed.message).toMatch(/no longer reports it/);
  });

  it('names the task that replaced it', () => {
    const closed = closeTask(running(), LATER, { current: decodeTask(wire({ taskId: 'task-2', status: 0 })) });
    expect(closed.message).toContain('task-2');
    expect(closed.status).toBe('CANCELLED');
  });

  it('finishes a restore whose portal came back under a new tenant id', () => {
    const restore = restoreSnapshot('docs', decodeTask(wire({ backupProgressEnum: 1 })), NOW);
    const closed = closeTask(restore, LATER, { current: null, tenantId: 8 });
    expect(closed).toMatchObject({ status: 'SUCCEEDED', progress: { percent: 100 }, detail: { tenantId: 7, newTenantId: 8 } });
    expect(closed.message).toBe('the portal came back as tenant 8 (was 7); the restore task is no longer reported');
    const transfer = restoreSnapshot('docs', decodeTask(wire({ backupProgressEnum: 2 })), NOW);
    expect(closeTask(transfer, LATER, { current: decodeTask(wire({ tenantId: 9, taskId: 'x' })) }).message).toContain('transfer');
  });

  it('cancels a backup lost to a tenant change, and keeps a final snapshot as it is', () => {
    const closed = closeTask(running(), LATER, { current: null, tenantId: 8 });
    expect(closed).toMatchObject({ status: 'CANCELLED', detail: { newTenantId: 8 } });
    expect(closed.message).toContain('tenant id changed from 7 to 8');
    const final = backupSnapshot('docs', decodeTask(wire({ status: 2, isCompleted: true })), NOW);
    expect(closeTask(final, LATER, { current: null })).toBe(final);
  });
});

describe('history, schedule, service state', () => {
  it('decodes a history entry with integer or named storage type', () => {
    const entry = decodeHistoryEntry('docs', { id: 'b-1', fileName: 'backup.tar.gz', storageType: 4, createdOn: '2025-05-30T02:00:00Z', expiresOn: '2025-06-29T02:00:00Z' });
    expect(entry).toMatchObject({ backupId: 'b-1', storageType: 4, storageTypeName: 'DataStore', createdOn: '2025-05-30T02:00:00.000Z' });
    expect(decodeGlobalId(entry.id)).toMatchObject({ typename: 'DocSpaceHistoryEntry', parts: ['docs', 'b-1'] });
    expect(decodeHistoryEntry('docs', { id: 'b-2', storageType: 'Local', createdOn: '0001-01-01T00:00:00' })).toMatchObject({ storageType: 3, createdOn: null, fileName: null });
    expect(decodeHistoryEntry('docs', { id: 'b-3', storageType: 42 })).toMatchObject({ storageType: null, storageTypeName: null });
    expect(() => decodeHistoryEntry('docs', { fileName: 'x' })).toThrow(/id/);
    expect(storageTypeValue('thirdpartyconsumer')).toBe(5);
  });

  it('decodes the schedule, daily without a day, unknown periods kept raw', () => {
    const daily = decodeSchedule({ storageType: 0, storageParams: {}, cronParams: { period: 0, hour: 2 }, lastBackupTime: '2025-05-31T02:00:00Z', dump: false });
    expect(daily).toMatchObject({ cronParams: { period: 'EVERY_DAY', vendorPeriod: 'EveryDay', hour: 2, day: null }, backupsStored: null });
    expect(decodeSchedule({ cronParams: { period: 5, hour: 1, day: 3 } }).cronParams).toMatchObject({ period: 'UNKNOWN', vendorPeriod: '5' });
    expect(() => decodeSchedule({ cronParams: { hour: 'noon' } })).toThrow(/cronParams\.hour|hour/);
  });

  it('decodes the service state', () => {
    expect(decodeServiceState({ enabled: false })).toEqual({ enabled: false });
    expect(() => decodeServiceState({})).toThrow(/enabled/);
  });
});
