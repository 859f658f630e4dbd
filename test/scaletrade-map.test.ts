import { describe, expect, it } from 'vitest';
import { globalId } from '../src/model/ids.js';
import { isFinal, type OperationSnapshot } from '../src/model/operation.js';
import type { ScaleTradeProgressWire } from '../src/sources/scaletrade/client.js';
import {
  backupRunSnapshotFromProgress,
  backupRunSnapshotFromRun,
  closeBackupRun,
  closeRestoreRun,
  decodeProgress,
  decodeRestoreRun,
  decodeRun,
  isBackupRunInFlight,
  isIdleProgress,
  isRestoreRunInFlight,
  progressFromEvent,
  restoreRunSnapshot,
  runStatus,
  unixToIso,
  type ScaleTradeBackupRunDetail,
  type ScaleTradeRestoreRunDetail,
} from '../src/sources/scaletrade/map.js';
import { connectClient, waitFor, startTestSimulator } from './support/scaletrade-fixtures.js';

const NOW = '2026-07-01T14:30:00.000Z';
const RUN_ID = '20260701-141500-000001';

const running = () => ({
  active: true, run_id: RUN_ID, type: 'full', trigger: 'manual', status: 'running', phase: 'backup', message: 'dumping accounts',
  current_participant: 'accounts', overall_percent: 40, participants_total: 4, participants_done: 1, remote_total: 0, remote_done: 0,
  started_at: 1782915300, updated_at: 1782915480, finished_at: 0,
  participants: [
    { name: 'symbols', status: 'completed', phase: 'completed', percent: 100, message: '', artifacts: 1, size_bytes: 327680, started_at: 1782915300, finished_at: 1782915360 },
    { name: 'accounts', status: 'running', phase: 'backup', percent: 10, message: 'dumping', artifacts: 0, size_bytes: 0, started_at: 1782915480, finished_at: 0 },
  ],
});
const publishing = () => ({ ...running(), phase: 'publish_remote', message: 'remote manifest publish backup-eu-1', current_participant: '', overall_percent: 96, participants_done: 4, remote_total: 5, remote_done: 4, updated_at: 1782915780, participants: [] });
const idle = (status = 'completed') => ({
  active: false, run_id: '', type: 'full', trigger: 'manual', status, phase: 'idle', message: 'no active backup', current_participant: '',
  overall_percent: 0, participants_total: 0, participants_done: 0, remote_total: 0, remote_done: 0, started_at: 0, updated_at: 1782915790, finished_at: 0, participants: [],
});
const artifact = { logical_name: 'trades.db', path: `backups/completed/${RUN_ID}/trades.db`, size_bytes: 327680, sha256: 'f2a1', integrity_ok: true, integrity_error: '', validation_ok: false, validation_error: 'row count mismatch' };
const runObject = (status = 'completed') => ({
  run_id: RUN_ID, type: 'scoped', trigger: 'manual', status, path: `backups/completed/${RUN_ID}`, started_at: 1782915300, finished_at: 1782915800,
  error_summary: status === 'failed' ? 'trades: disk full' : '', requested_participants: ['trades'],
  participants: [{ name: 'trades', critical: true, ok: status !== 'failed', status: status === 'failed' ? 'failed' : 'completed', started_at: 1782915300, finished_at: 1782915301, error: status === 'failed' ? 'disk full' : '', artifacts: [artifact] }],
});
const restoreObject = (status = 'completed') => ({
  restore_id: '20260629-122000-000002', source_run_id: RUN_ID, dry_run: false, force: true, pre_restore_path: 'backups/pre-restore/20260629-122000-000002',
  status, started_at: 1782728400, finished_at: status === 'running' ? 0 : 1782728405, error_summary: '',
  participants: [
    { name: 'trades', critical: true, ok: true, status: 'completed', started_at: 1782728401, finished_at: 1782728405, error: '', safety_snapshot_path: 'backups/pre-restore/x', artifacts: [], safety_artifacts: [artifact] },
    { name: 'staff', critical: true, ok: false, status: status === 'running' ? 'running' : 'completed', started_at: 1782728405, finished_at: 0, error: '', safety_snapshot_path: '', artifacts: [], safety_artifacts: [] },
  ],
});

const fromProgress = (wire: unknown) => backupRunSnapshotFromProgress('trading', decodeProgress(wire), NOW)!;

describe('decoding', () => {
  it('accepts the documented shapes and keeps unknown keys', () => {
    expect(decodeProgress({ ...running(), future_field: 1 })).toMatchObject({ run_id: RUN_ID, future_field: 1 });
    expect(decodeRun(runObject()).participants?.[0]?.artifacts?.[0]?.validation_error).toBe('row count mismatch');
    expect(decodeRestoreRun(restoreObject()).participants?.[0]?.safety_artifacts).toHaveLength(1);
    expect(decodeRun({ run_id: 'r', status: 'weird' })).toMatchObject({ run_id: 'r', status: 'weird' });
  });

  it('names the bad field, and one malformed item fails alone', () => {
    expect(() => decodeProgress({ ...running(), run_id: 42 })).toThrow(/run_id/);
    expect(() => decodeRun({ ...runObject(), participants: [{ name: 'x', artifacts: [{ path: 'p' }] }] })).toThrow(/logical_name/);
    expect(() => decodeRestoreRun({ status: 'completed' })).toThrow(/restore_id/);
    const rows = [runObject(), { run_id: '', status: 'completed' }, { ...runObject(), run_id: 'other' }];
    const decoded = rows.map((row) => {
      try {
        return decodeRun(row).run_id;
      } catch {
        return null;
      }
    });
    expect(decoded).toEqual([RUN_ID, null, 'other']);
  });

  it('reads backup.progress event data and ignores other events', () => {
    expect(progressFromEvent({ event: 'backup.progress', data: running() })?.run_id).toBe(RUN_ID);
    expect(progressFromEvent({ event: 'trade:event', data: {} })).toBeNull();
  });
});

describe('statuses and predicates', () => {
  it('maps the vendor status table, case-insensitively, unknown values to UNKNOWN', () => {
    const table = Object.fromEntries(['running', 'completed', 'failed', 'partial', 'cancelled', 'timeout', 'COMPLETED', 'exploded', ''].map((s) => [s, runStatus(s)]));
    expect(table).toEqual({
      running: 'RUNNING', completed: 'SUCCEEDED', failed: 'FAILED', partial: 'PARTIAL', cancelled: 'CANCELLED', timeout: 'TIMED_OUT',
      COMPLETED: 'SUCCEEDED', exploded: 'UNKNOWN', '': 'UNKNOWN',
    });
    const odd = backupRunSnapshotFromRun('trading', decodeRun({ ...runObject(), status: 'exploded' }), NOW);
    expect(odd).toMatchObject({ status: 'UNKNOWN', vendorStatus: 'exploded' });
  });

  it('tells the idle snapshot apart: not an operation, not in flight', () => {
    expect(isIdleProgress(decodeProgress(idle()))).toBe(true);
    expect(backupRunSnapshotFromProgress('trading', decodeProgress(idle()), NOW)).toBeNull();
    expect(isBackupRunInFlight(decodeProgress(idle()))).toBe(false);
    expect(isIdleProgress(decodeProgress(running()))).toBe(false);
    expect(isBackupRunInFlight(decodeProgress(running()))).toBe(true);
    const failedShown = decodeProgress({ ...running(), active: false, status: 'failed', phase: 'failed', finished_at: 1782915500 });
    expect(isIdleProgress(failedShown)).toBe(false);
    expect(isBackupRunInFlight(failedShown)).toBe(false);
    expect(isBackupRunInFlight(decodeRun(runObject('running')))).toBe(true);
    expect(isBackupRunInFlight(decodeRun(runObject('partial')))).toBe(false);
    expect(isRestoreRunInFlight(decodeRestoreRun(restoreObject('running')))).toBe(true);
    expect(isRestoreRunInFlight(decodeRestoreRun(restoreObject()))).toBe(false);
  });
});

describe('backup run snapshots', () => {
  it('maps a running progress snapshot; 0 timestamps are null, never 1970', () => {
    const snap = fromProgress(running());
    expect(snap).toMatchObject({
      id: globalId('ScaleTradeBackupRun', ['trading', RUN_ID]), typename: 'ScaleTradeBackupRun', source: 'trading', kind: 'BACKUP',
      status: 'RUNNING', vendorStatus: 'running', message: 'dumping accounts',
      progress: { percent: 40, done: 1, total: 4, unit: 'participants', ratePerSecond: null, estimatedEndAt: null, estimated: false },
      startedAt: '2026-07-01T14:15:00.000Z', updatedAt: '2026-07-01T14:18:00.000Z', finishedAt: null,
    });
    const detail = snap.detail as ScaleTradeBackupRunDetail;
    expect(detail).toMatchObject({ runId: RUN_ID, type: 'full', trigger: 'manual', phase: 'backup', active: true, currentParticipant: 'accounts', overallPercent: 40, participantsDone: 1, participantsTotal: 4, remoteDone: 0, remoteTotal: 0 });
    expect(detail.participants[1]).toMatchObject({ name: 'accounts', status: 'running', phase: 'backup', percent: 10, message: 'dumping', artifactCount: 0, sizeBytes: 0, startedAt: '2026-07-01T14:18:00.000Z', finishedAt: null });
    expect(JSON.stringify(snap)).not.toContain('1970');
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
  });

  it('counts remote uploads while publishing', () => {
    const snap = fromProgress(publishing());
    expect(snap.progress).toMatchObject({ percent: 96, done: 4, total: 5, unit: 'remote uploads' });
    expect((snap.detail as ScaleTradeBackupRunDetail).phase).toBe('publish_remote');
  });

  it('gives every run its own id', () => {
    expect(fromProgress(running()).id).not.toBe(fromProgress({ ...running(), run_id: '20260701-150000-000002' }).id);
    expect(fromProgress(running()).id).not.toBe(backupRunSnapshotFromProgress('other-source', decodeProgress(running()), NOW)!.id);
  });

  it('maps a run object with every field in detail', () => {
    const snap = backupRunSnapshotFromRun('trading', decodeRun(runObject()), NOW);
    expect(snap).toMatchObject({ id: fromProgress(running()).id, status: 'SUCCEEDED', progress: { percent: 100, done: 1, total: 1 }, finishedAt: '2026-07-01T14:23:20.000Z', message: null });
    const detail = snap.detail as ScaleTradeBackupRunDetail;
    expect(detail).toMatchObject({ path: `backups/completed/${RUN_ID}`, errorSummary: null, requestedParticipants: ['trades'], type: 'scoped' });
    expect(detail.participants[0]).toMatchObject({ name: 'trades', critical: true, ok: true, error: null, status: 'completed', artifactCount: 1, sizeBytes: 327680 });
    expect(detail.participants[0]!.artifacts[0]).toEqual({
      logicalName: 'trades.db', path: `backups/completed/${RUN_ID}/trades.db`, sizeBytes: 327680, sha256: 'f2a1',
      integrityOk: true, integrityError: null, validationOk: false, validationError: 'row count mismatch',
    });
    const failed = backupRunSnapshotFromRun('trading', decodeRun(runObject('failed')), NOW);
    expect(failed).toMatchObject({ status: 'FAILED', message: 'trades: disk full' });
    expect((failed.detail as ScaleTradeBackupRunDetail).participants[0]).toMatchObject({ ok: false, error: 'disk full' });
  });

  it('copes with absent optional fields', () => {
    const bare = backupRunSnapshotFromRun('trading', decodeRun({ run_id: 'r', status: 'running' }), NOW);
    expect(bare).toMatchObject({ status: 'RUNNING', startedAt: null, finishedAt: null, updatedAt: NOW, progress: { percent: null, done: null, total: null } });
    const sparse = backupRunSnapshotFromProgress('trading', decodeProgress({ run_id: 'r', active: true, status: 'running' }), NOW)!;
    expect(sparse).toMatchObject({ progress: { percent: null }, updatedAt: NOW, message: null });
  });
});

describe('restore run snapshots', () => {
  it('maps a restore run with its safety snapshot fields', () => {
    const snap = restoreRunSnapshot('trading', decodeRestoreRun(restoreObject('running')), NOW);
    expect(snap).toMatchObject({
      id: globalId('ScaleTradeRestoreRun', ['trading', '20260629-122000-000002']), typename: 'ScaleTradeRestoreRun', kind: 'RESTORE',
      status: 'RUNNING', progress: { percent: 50, done: 1, total: 2, unit: 'participants' }, message: 'restoring staff', finishedAt: null,
    });
    const detail = snap.detail as ScaleTradeRestoreRunDetail;
    expect(detail).toMatchObject({ restoreId: '20260629-122000-000002', sourceRunId: RUN_ID, dryRun: false, force: true, preRestorePath: 'backups/pre-restore/20260629-122000-000002', errorSummary: null });
    expect(detail.participants[0]).toMatchObject({ safetySnapshotPath: 'backups/pre-restore/x', safetyArtifacts: [{ logicalName: 'trades.db' }] });
    expect(restoreRunSnapshot('trading', decodeRestoreRun(restoreObject()), NOW)).toMatchObject({ status: 'SUCCEEDED', progress: { percent: 100 } });
  });
});

describe('close rules', () => {
  const last = (): OperationSnapshot => fromProgress(publishing());

  it('uses GetBackupRun evidence: final state from the run, progress details kept', () => {
    const closed = closeBackupRun(last(), NOW, { run: decodeRun(runObject('completed')), progress: decodeProgress(idle()) });
    expect(closed).toMatchObject({ status: 'SUCCEEDED', vendorStatus: 'completed', progress: { percent: 100, done: 5 }, finishedAt: '2026-07-01T14:23:20.000Z' });
    expect(closed.detail).toMatchObject({ phase: 'publish_remote', remoteTotal: 5, path: `backups/completed/${RUN_ID}`, active: false });
    const failed = closeBackupRun(fromProgress(running()), NOW, { run: decodeRun(runObject('failed')) });
    expect(failed).toMatchObject({ status: 'FAILED', message: 'trades: disk full', progress: { percent: 40 } });
  });

  it('keeps tracking when the evidence shows the run still running', () => {
    const still = closeBackupRun(last(), NOW, { run: decodeRun(runObject('running')) });
    expect(isFinal(still.status)).toBe(false);
  });

  it('without run evidence, idle after the run means success (or partial), with a message saying so', () => {
    const closed = closeBackupRun(last(), NOW, { progress: decodeProgress(idle()) });
    expect(closed).toMatchObject({ status: 'SUCCEEDED', finishedAt: NOW, progress: { percent: 100, done: 5, total: 5 } });
    expect(closed.message).toMatch(/idle/);
    expect(closeBackupRun(last(), NOW, { progress: decodeProgress(idle('partial')) }).status).toBe('PARTIAL');
    expect(closeBackupRun(last(), NOW, { progress: decodeProgress(idle('')) })).toMatchObject({ status: 'FAILED', message: expect.stringMatching(/not say how it ended/) });
  });

  it('another run or a 404 closes as FAILED with the reason; the last progress is kept', () => {
    const other = closeBackupRun(last(), NOW, { progress: decodeProgress({ ...running(), run_id: '20260701-150000-000009' }) });
    expect(other).toMatchObject({ status: 'FAILED', vendorStatus: null, progress: { percent: 96 }, finishedAt: NOW });
    expect(other.message).toContain('20260701-150000-000009');
    expect(closeBackupRun(last(), NOW, { notFound: true }).message).toMatch(/no longer known/);
    expect(closeBackupRun(last(), NOW).status).toBe('FAILED');
  });

  it('closes restore runs from GetRestoreRun evidence or a 404', () => {
    const lastRestore = restoreRunSnapshot('trading', decodeRestoreRun(restoreObject('running')), NOW);
    expect(closeRestoreRun(lastRestore, NOW, { restore: decodeRestoreRun(restoreObject()) })).toMatchObject({ status: 'SUCCEEDED', finishedAt: '2026-06-29T10:20:05.000Z' });
    expect(closeRestoreRun(lastRestore, NOW, { notFound: true })).toMatchObject({ status: 'FAILED', finishedAt: NOW, message: expect.stringMatching(/no longer known/) });
  });

  it('unixToIso never yields 1970', () => {
    expect([unixToIso(0), unixToIso(undefined), unixToIso(null), unixToIso(-5)]).toEqual([null, null, null, null]);
    expect(unixToIso(1782915300)).toBe('2026-07-01T14:15:00.000Z');
  });
});

describe('against the simulator', () => {
  it('maps every pushed event of a run to one id, reaching SUCCEEDED at 100 % exactly once', async () => {
    const sim = await startTestSimulator();
    const { client, events } = await connectClient(sim, 'tcp');
    try {
      await client.subscribe(['backup.progress']);
      const runId = sim.startRun();
      sim.advance(40_000);
      await waitFor(() => events.some((e) => (e.data as ScaleTradeProgressWire).phase === 'done'), 'the final event');
      const snaps = events.map((e) => fromProgress(progressFromEvent(e)));
      expect(new Set(snaps.map((s) => s.id))).toEqual(new Set([globalId('ScaleTradeBackupRun', ['trading', runId])]));
      expect(snaps.filter((s) => isFinal(s.status))).toHaveLength(1);
      expect(snaps.at(-1)).toMatchObject({ status: 'SUCCEEDED', progress: { percent: 100 } });
      expect(backupRunSnapshotFromProgress('trading', decodeProgress(await client.getBackupProgress()), NOW)).toBeNull();
      const run = backupRunSnapshotFromRun('trading', decodeRun(await client.getBackupRun(runId)), NOW);
      expect((run.detail as ScaleTradeBackupRunDetail).participants.every((p) => p.artifacts.length > 0)).toBe(true);
    } finally {
      await client.close();
      await sim.close();
    }
  });
});
