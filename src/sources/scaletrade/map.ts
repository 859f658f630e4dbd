import { z } from 'zod';
import { wireDecoder } from '../decode.js';
import { globalId } from '../../model/ids.js';
import { EMPTY_PROGRESS, isFinal, type OperationSnapshot, type OperationStatus, type Progress } from '../../model/operation.js';

/**
 * ScaleTrade wire objects → the gateway's model. Pure: no I/O, no clock (callers pass `now`).
 * Field meanings and the choices made where the vendor is silent: docs/upstreams/scaletrade.md.
 */

export const BACKUP_RUN_TYPENAME = 'ScaleTradeBackupRun';
export const RESTORE_RUN_TYPENAME = 'ScaleTradeRestoreRun';

// ---------------------------------------------------------------------------------------------
// Wire decoding (lenient: unknown keys pass, enum-like fields stay strings)

const text = z.string().nullish();
const count = z.number().nullish();
const flag = z.boolean().nullish();

const artifactSchema = z.looseObject({
  logical_name: z.string(),
  path: text,
  size_bytes: count,
  sha256: text,
  integrity_ok: flag,
  integrity_error: text,
  validation_ok: flag,
  validation_error: text,
});

const progressParticipantSchema = z.looseObject({
  name: z.string(),
  status: text,
  phase: text,
  percent: count,
  message: text,
  artifacts: count,
  size_bytes: count,
  started_at: count,
  finished_at: count,
});

const progressSchema = z.looseObject({
  active: flag,
  run_id: z.string(),
  type: text,
  trigger: text,
  status: text,
  phase: text,
  message: text,
  current_participant: text,
  overall_percent: count,
  participants_total: count,
  participants_done: count,
  remote_total: count,
  remote_done: count,
  started_at: count,
  updated_at: count,
  finished_at: count,
  participants: z.array(progressParticipantSchema).nullish(),
});

const runParticipantSchema = z.looseObject({
  name: z.string(),
  critical: flag,
  ok: flag,
  status: text,
  started_at: count,
  finished_at: count,
  error: text,
  artifacts: z.array(artifactSchema).nullish(),
});

const runSchema = z.looseObject({
  run_id: z.string().min(1),
  type: text,
  trigger: text,
  status: z.string(),
  path: text,
  started_at: count,
  finished_at: count,
  error_summary: text,
  requested_participants: z.array(z.string()).nullish(),
  participants: z.array(runParticipantSchema).nullish(),
});

const restoreParticipantSchema = runParticipantSchema.extend({
  safety_snapshot_path: text,
  safety_artifacts: z.array(artifactSchema).nullish(),
});

const restoreRunSchema = z.looseObject({
  restore_id: z.string().min(1),
  source_run_id: text,
  dry_run: flag,
  force: flag,
  pre_restore_path: text,
  status: z.string(),
  started_at: count,
  finished_at: count,
  error_summary: text,
  participants: z.array(restoreParticipantSchema).nullish(),
});

export type ScaleTradeProgress = z.infer<typeof progressSchema>;
export type ScaleTradeRun = z.infer<typeof runSchema>;
export type ScaleTradeRestoreRun = z.infer<typeof restoreRunSchema>;
type WireArtifact = z.infer<typeof artifactSchema>;

function decoder<T>(schema: z.ZodType<T>, what: string): (raw: unknown) => T {
  return wireDecoder(schema, `ScaleTrade ${what}`) as (raw: unknown) => T;
}

/** A GetBackupProgress reply or the `data` of a `backup.progress` event. */
export const decodeProgress = decoder(progressSchema, 'backup progress');
/** A StartFullBackup / GetBackupRun reply or a GetBackupRuns row. */
export const decodeRun = decoder(runSchema, 'backup run');
/** A StartRestoreRun / GetRestoreRun reply or a GetRestoreRuns row. */
export const decodeRestoreRun = decoder(restoreRunSchema, 'restore run');

/** The `data` of a pushed `backup.progress` event, or null for any other event. */
export function progressFromEvent(event: { event: string; data?: unknown }): ScaleTradeProgress | null {
  return event.event === 'backup.progress' ? decodeProgress(event.data) : null;
}

// ---------------------------------------------------------------------------------------------
// Detail: every documented field, camelCased

export interface ScaleTradeArtifact {
  logicalName: string;
  path: string | null;
  sizeBytes: number | null;
  sha256: string | null;
  integrityOk: boolean | null;
  integrityError: string | null;
  validationOk: boolean | null;
  validationError: string | null;
}

export interface ScaleTradeParticipant {
  name: string;
  /** Raw vendor status (pending, running, completed, failed, …). */
  status: string;
  phase: string | null;
  percent: number | null;
  message: string | null;
  critical: boolean | null;
  ok: boolean | null;
  error: string | null;
  artifactCount: number | null;
  sizeBytes: number | null;
  artifacts: ScaleTradeArtifact[];
  startedAt: string | null;
  finishedAt: string | null;
}

export interface ScaleTradeBackupRunDetail {
  runId: string;
  type: string | null;
  trigger: string | null;
  phase: string | null;
  /** The progress snapshot's `active` flag (null when seen only as a run object). */
  active: boolean | null;
  currentParticipant: string | null;
  overallPercent: number | null;
  participantsDone: number | null;
  participantsTotal: number | null;
  remoteDone: number | null;
  remoteTotal: number | null;
  path: string | null;
  errorSummary: string | null;
  requestedParticipants: string[] | null;
  participants: ScaleTradeParticipant[];
}

export interface ScaleTradeRestoreParticipant extends ScaleTradeParticipant {
  safetySnapshotPath: string | null;
  safetyArtifacts: ScaleTradeArtifact[];
}

export interface ScaleTradeRestoreRunDetail {
  restoreId: string;
  sourceRunId: string | null;
  dryRun: boolean | null;
  force: boolean | null;
  preRestorePath: string | null;
  errorSummary: string | null;
  participantsDone: number;
  participantsTotal: number;
  participants: ScaleTradeRestoreParticipant[];
}

// ---------------------------------------------------------------------------------------------
// Statuses

const STATUS_BY_VENDOR: Readonly<Record<string, OperationStatus>> = {
  pending: 'PENDING',
  running: 'RUNNING',
  completed: 'SUCCEEDED',
  failed: 'FAILED',
  partial: 'PARTIAL',
  cancelled: 'CANCELLED',
  canceled: 'CANCELLED',
  timeout: 'TIMED_OUT',
};

/** Vendor run status → OperationStatus (case-insensitive; unknown values → UNKNOWN). */
export function runStatus(vendor: string | null | undefined): OperationStatus {
  return STATUS_BY_VENDOR[(vendor ?? '').toLowerCase()] ?? 'UNKNOWN';
}

/** Participant statuses that mean its step is over. */
const PARTICIPANT_DONE = new Set(['completed', 'failed', 'skipped']);

/**
 * The idle snapshot GetBackupProgress answers when no run is active and the last one succeeded
 * (`active: false`, `phase: "idle"`, `run_id: ""`). It is not an operation.
 */
export function isIdleProgress(progress: ScaleTradeProgress): boolean {
  return progress.active !== true && (progress.run_id === '' || progress.phase === 'idle');
}

/** The one in-flight predicate for backup runs, for progress snapshots and run objects alike. */
export function isBackupRunInFlight(item: ScaleTradeProgress | ScaleTradeRun): boolean {
  if ('active' in item && isIdleProgress(item as ScaleTradeProgress)) return false;
  if (item.run_id === '') return false;
  return !isFinal(runStatus(item.status));
}

/** The one in-flight predicate for restore runs. */
export function isRestoreRunInFlight(item: ScaleTradeRestoreRun): boolean {
  return !isFinal(runStatus(item.status));
}

// ---------------------------------------------------------------------------------------------
// Snapshots

export function backupRunId(source: string, runId: string): string {
  return globalId(BACKUP_RUN_TYPENAME, [source, runId]);
}

export function restoreRunId(source: string, restoreId: string): string {
  return globalId(RESTORE_RUN_TYPENAME, [source, restoreId]);
}

/**
 * A progress snapshot (GetBackupProgress, `backup.progress` event data) as a backup run, or null
 * for the idle snapshot. During `publish_remote` done/total count remote uploads, otherwise
 * participants.
 */
export function backupRunSnapshotFromProgress(source: string, progress: ScaleTradeProgress, now: string): OperationSnapshot | null {
  if (isIdleProgress(progress)) return null;
  const status = runStatus(progress.status);
  const remote = progress.phase === 'publish_remote' && (progress.remote_total ?? 0) > 0;
  const percent = status === 'SUCCEEDED' ? 100 : percentOrNull(progress.overall_percent);
  const detail: ScaleTradeBackupRunDetail = {
    runId: progress.run_id,
    type: str(progress.type),
    trigger: str(progress.trigger),
    phase: str(progress.phase),
    active: progress.active ?? null,
    currentParticipant: str(progress.current_participant),
    overallPercent: num(progress.overall_percent),
    participantsDone: num(progress.participants_done),
    participantsTotal: num(progress.participants_total),
    remoteDone: num(progress.remote_done),
    remoteTotal: num(progress.remote_total),
    path: null,
    errorSummary: null,
    requestedParticipants: null,
    participants: (progress.participants ?? []).map((p) => ({
      name: p.name,
      status: p.status ?? '',
      phase: str(p.phase),
      percent: percentOrNull(p.percent),
      message: str(p.message),
      critical: null,
      ok: null,
      error: p.status === 'failed' ? str(p.message) : null,
      artifactCount: num(p.artifacts),
      sizeBytes: num(p.size_bytes),
      artifacts: [],
      startedAt: unixToIso(p.started_at),
      finishedAt: unixToIso(p.finished_at),
    })),
  };
  return {
    id: backupRunId(source, progress.run_id),
    typename: BACKUP_RUN_TYPENAME,
    source,
    kind: 'BACKUP',
    status,
    vendorStatus: progress.status ?? null,
    progress: {
      ...EMPTY_PROGRESS,
      percent,
      done: remote ? num(progress.remote_done) : num(progress.participants_done),
      total: remote ? num(progress.remote_total) : num(progress.participants_total),
      unit: remote ? 'remote uploads' : 'participants',
    },
    message: str(progress.message) ?? (status === 'FAILED' ? 'backup failed' : null),
    startedAt: unixToIso(progress.started_at),
    updatedAt: unixToIso(progress.updated_at) ?? now,
    finishedAt: unixToIso(progress.finished_at),
    detail,
  };
}

/** A run object (StartFullBackup, GetBackupRun, GetBackupRuns row) as a backup run. */
export function backupRunSnapshotFromRun(source: string, run: ScaleTradeRun, now: string): OperationSnapshot {
  const status = runStatus(run.status);
  const participants = (run.participants ?? []).map((p) => runParticipant(p));
  const counts = participantCounts(participants, run.requested_participants?.length ?? 0);
  const running = participants.find((p) => p.status === 'running');
  const detail: ScaleTradeBackupRunDetail = {
    runId: run.run_id,
    type: str(run.type),
    trigger: str(run.trigger),
    phase: null,
    active: null,
    currentParticipant: running?.name ?? null,
    overallPercent: null,
    participantsDone: counts.total > 0 ? counts.done : null,
    participantsTotal: counts.total > 0 ? counts.total : null,
    remoteDone: null,
    remoteTotal: null,
    path: str(run.path),
    errorSummary: str(run.error_summary),
    requestedParticipants: run.requested_participants ?? null,
    participants,
  };
  return {
    id: backupRunId(source, run.run_id),
    typename: BACKUP_RUN_TYPENAME,
    source,
    kind: 'BACKUP',
    status,
    vendorStatus: run.status,
    progress: countProgress(status, counts),
    message: str(run.error_summary) ?? (running ? `backing up ${running.name}` : null),
    startedAt: unixToIso(run.started_at),
    updatedAt: unixToIso(run.finished_at) ?? now,
    finishedAt: unixToIso(run.finished_at),
    detail,
  };
}

/** A restore run object (StartRestoreRun, GetRestoreRun, GetRestoreRuns row). */
export function restoreRunSnapshot(source: string, restore: ScaleTradeRestoreRun, now: string): OperationSnapshot {
  const status = runStatus(restore.status);
  const participants: ScaleTradeRestoreParticipant[] = (restore.participants ?? []).map((p) => ({
    ...runParticipant(p),
    safetySnapshotPath: str(p.safety_snapshot_path),
    safetyArtifacts: (p.safety_artifacts ?? []).map(artifact),
  }));
  const counts = participantCounts(participants, 0);
  const running = participants.find((p) => p.status === 'running');
  const detail: ScaleTradeRestoreRunDetail = {
    restoreId: restore.restore_id,
    sourceRunId: str(restore.source_run_id),
    dryRun: restore.dry_run ?? null,
    force: restore.force ?? null,
    preRestorePath: str(restore.pre_restore_path),
    errorSummary: str(restore.error_summary),
    participantsDone: counts.done,
    participantsTotal: counts.total,
    participants,
  };
  return {
    id: restoreRunId(source, restore.restore_id),
    typename: RESTORE_RUN_TYPENAME,
    source,
    kind: 'RESTORE',
    status,
    vendorStatus: restore.status,
    progress: countProgress(status, counts),
    message: str(restore.error_summary) ?? (running ? `restoring ${running.name}` : null),
    startedAt: unixToIso(restore.started_at),
    updatedAt: unixToIso(restore.finished_at) ?? now,
    finishedAt: unixToIso(restore.finished_at),
    detail,
  };
}

/**
 * Combines what two sources say about one run: fields `update` knows win, the rest of `base` stays
 * (a progress snapshot knows phase and percents, a run object knows path, errors and artifacts).
 * Participants are merged by name.
 */
export function mergeBackupRunDetail(base: ScaleTradeBackupRunDetail, update: ScaleTradeBackupRunDetail): ScaleTradeBackupRunDetail {
  const merged = pickKnown(base, update);
  const names = [...new Set([...base.participants.map((p) => p.name), ...update.participants.map((p) => p.name)])];
  merged.participants = names.map((name) => {
    const before = base.participants.find((p) => p.name === name);
    const after = update.participants.find((p) => p.name === name);
    if (!before || !after) return (after ?? before)!;
    const participant = pickKnown(before, after);
    participant.status = after.status || before.status;
    participant.artifacts = after.artifacts.length > 0 ? after.artifacts : before.artifacts;
    return participant;
  });
  return merged;
}

// ---------------------------------------------------------------------------------------------
// Close rules

export interface BackupRunEvidence {
  /** GetBackupRun(run_id) — the strongest evidence. */
  run?: ScaleTradeRun;
  /** What GetBackupProgress (or the stream) shows now: idle or another run. */
  progress?: ScaleTradeProgress;
  /** GetBackupRun answered NOT_FOUND. */
  notFound?: boolean;
}

/**
 * The state of a backup run that is no longer shown as in flight (the server shows idle or another
 * run). The run object from GetBackupRun decides when given; otherwise idle after a run means the
 * run succeeded (the server shows idle only after a successful run, and keeps that run's status in
 * the idle snapshot); anything else is FAILED with a message saying the outcome was not observed.
 * When the evidence shows the run still in flight, the non-final snapshot it gives is returned.
 */
export function closeBackupRun(last: OperationSnapshot, now: string, evidence: BackupRunEvidence = {}): OperationSnapshot {
  const lastDetail = last.detail as ScaleTradeBackupRunDetail;
  const runId = lastDetail.runId;
  const { run, progress } = evidence;
  if (run && run.run_id === runId) {
    const seen = backupRunSnapshotFromRun(last.source, run, now);
    const detail = mergeBackupRunDetail(lastDetail, seen.detail as ScaleTradeBackupRunDetail);
    if (!isFinal(seen.status)) return { ...seen, detail, progress: { ...last.progress, ...definedProgress(seen.progress) } };
    return finished(last, now, {
      status: seen.status,
      vendorStatus: seen.vendorStatus,
      message: seen.message ?? `backup ${run.status}`,
      finishedAt: seen.finishedAt ?? now,
      startedAt: seen.startedAt ?? last.startedAt,
      detail: { ...detail, active: false, currentParticipant: null },
    });
  }
  if (progress && progress.run_id === runId && !isIdleProgress(progress)) {
    const seen = backupRunSnapshotFromProgress(last.source, progress, now)!;
    return { ...seen, detail: mergeBackupRunDetail(lastDetail, seen.detail as ScaleTradeBackupRunDetail) };
  }
  if (evidence.notFound) {
    return finished(last, now, { status: 'FAILED', vendorStatus: null, message: `backup run ${runId} is no longer known to the server; its outcome was not observed` });
  }
  if (progress && isIdleProgress(progress)) {
    const idleStatus = runStatus(progress.status);
    if (idleStatus === 'SUCCEEDED' || idleStatus === 'PARTIAL') {
      return finished(last, now, {
        status: idleStatus,
        vendorStatus: progress.status ?? null,
        message: `backup finished (${progress.status}): the server is idle again, which it shows only after a successful run; the final progress event was not received`,
      });
    }
    return finished(last, now, { status: 'FAILED', vendorStatus: null, message: `backup run ${runId} ended while not observed: the server is idle and does not say how it ended` });
  }
  if (progress && progress.run_id) {
    return finished(last, now, {
      status: 'FAILED',
      vendorStatus: null,
      message: `backup run ${runId} ended while not observed: the server now runs ${progress.run_id}; ask GetBackupRun for its outcome`,
    });
  }
  return finished(last, now, { status: 'FAILED', vendorStatus: null, message: `backup run ${runId} is no longer reported; its outcome was not observed` });
}

export interface RestoreRunEvidence {
  /** GetRestoreRun(restore_id) or its GetRestoreRuns row. */
  restore?: ScaleTradeRestoreRun;
  /** GetRestoreRun answered NOT_FOUND (RESTORE_RUN_NOT_FOUND). */
  notFound?: boolean;
}

/** The state of a restore run that vanished or ended; the restore object decides when given. */
export function closeRestoreRun(last: OperationSnapshot, now: string, evidence: RestoreRunEvidence = {}): OperationSnapshot {
  const restoreId = (last.detail as ScaleTradeRestoreRunDetail).restoreId;
  if (evidence.restore && evidence.restore.restore_id === restoreId) {
    const seen = restoreRunSnapshot(last.source, evidence.restore, now);
    if (!isFinal(seen.status)) return seen;
    return { ...seen, finishedAt: seen.finishedAt ?? now, message: seen.message ?? `restore ${evidence.restore.status}` };
  }
  const why = evidence.notFound ? 'is no longer known to the server' : 'is no longer reported';
  return finished(last, now, { status: 'FAILED', vendorStatus: null, message: `restore run ${restoreId} ${why}; its outcome was not observed` });
}

function finished(last: OperationSnapshot, now: string, change: Partial<OperationSnapshot> & Pick<OperationSnapshot, 'status' | 'message'>): OperationSnapshot {
  const succeeded = change.status === 'SUCCEEDED' || change.status === 'PARTIAL';
  const total = last.progress.total;
  const progress: Progress = {
    ...last.progress,
    ratePerSecond: null,
    estimatedEndAt: null,
    ...(succeeded ? { percent: 100, done: total ?? last.progress.done } : {}),
  };
  return { ...last, updatedAt: now, finishedAt: now, progress, ...change };
}

// ---------------------------------------------------------------------------------------------
// Helpers

function runParticipant(p: z.infer<typeof runParticipantSchema>): ScaleTradeParticipant {
  const artifacts = (p.artifacts ?? []).map(artifact);
  const done = PARTICIPANT_DONE.has(p.status ?? '');
  return {
    name: p.name,
    status: p.status ?? '',
    phase: null,
    percent: done ? 100 : p.status === 'pending' ? 0 : null,
    message: str(p.error),
    critical: p.critical ?? null,
    ok: p.ok ?? null,
    error: str(p.error),
    artifactCount: p.artifacts ? artifacts.length : null,
    sizeBytes: p.artifacts ? artifacts.reduce((sum, a) => sum + (a.sizeBytes ?? 0), 0) : null,
    artifacts,
    startedAt: unixToIso(p.started_at),
    finishedAt: unixToIso(p.finished_at),
  };
}

function artifact(a: WireArtifact): ScaleTradeArtifact {
  return {
    logicalName: a.logical_name,
    path: str(a.path),
    sizeBytes: num(a.size_bytes),
    sha256: str(a.sha256),
    integrityOk: a.integrity_ok ?? null,
    integrityError: str(a.integrity_error),
    validationOk: a.validation_ok ?? null,
    validationError: str(a.validation_error),
  };
}

function participantCounts(participants: readonly ScaleTradeParticipant[], requested: number): { done: number; total: number } {
  return {
    done: participants.filter((p) => PARTICIPANT_DONE.has(p.status)).length,
    total: Math.max(participants.length, requested),
  };
}

/** Progress of a run object, which has no percent of its own: finished participants / all. */
function countProgress(status: OperationStatus, counts: { done: number; total: number }): Progress {
  const succeeded = status === 'SUCCEEDED' || status === 'PARTIAL';
  const percent = succeeded ? 100 : counts.total > 0 ? Math.round((counts.done / counts.total) * 10_000) / 100 : null;
  return {
    ...EMPTY_PROGRESS,
    percent,
    done: counts.total > 0 ? counts.done : null,
    total: counts.total > 0 ? counts.total : null,
    unit: 'participants',
  };
}

function definedProgress(progress: Progress): Partial<Progress> {
  return Object.fromEntries(Object.entries(progress).filter(([, v]) => v !== null)) as Partial<Progress>;
}

/** Keys of `update` that are known (not null) override `base`. */
function pickKnown<T extends object>(base: T, update: T): T {
  const out = { ...base };
  for (const [key, value] of Object.entries(update)) if (value !== null && value !== undefined) (out as Record<string, unknown>)[key] = value;
  return out;
}

/** Unix seconds → ISO 8601; 0 (still running, or the idle snapshot) and absent → null. */
export function unixToIso(seconds: number | null | undefined): string | null {
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 ? new Date(seconds * 1000).toISOString() : null;
}

function percentOrNull(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? Math.min(100, Math.max(0, value)) : null;
}

function num(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Empty strings are the vendor's "none" (error_summary "", error "", current_participant ""). */
function str(value: string | null | undefined): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}
