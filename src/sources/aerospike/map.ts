import { globalId } from '../../model/ids.js';
import { isoTimestamp } from '../decode.js';
import { EMPTY_PROGRESS, isFinal, type OperationSnapshot, type OperationStatus, type Progress } from '../../model/operation.js';
import { isSecretKey, type BackupMode } from './client.js';
import {
  backupDetailsSchema,
  clusterSchema,
  decodeWith,
  restoreJobStatusSchema,
  routineSchema,
  routineStateSchema,
  runningJobSchema,
  storageConfigSchema,
  versionSchema,
  type BackupDetailsWire,
  type ClusterWire,
  type RestoreJobStatusWire,
  type RoutineStateWire,
  type RoutineWire,
  type RunningJobWire,
  type VersionWire,
} from './wire.js';

export type * from './wire.js';

/**
 * ABS wire items → the gateway's model (docs/upstreams/aerospike-backup-service.md). Pure: no I/O,
 * no clock (callers pass `now`). Decoders throw one Error per malformed item, naming the field.
 */

export const BACKUP_RUN_TYPENAME = 'AerospikeBackupRun';
export const RESTORE_JOB_TYPENAME = 'AerospikeRestoreJob';
export const BACKUP_TYPENAME = 'AerospikeBackup';
export const SECRET_PLACEHOLDER = '[secret]';

/** GraphQL's BackupMode for a wire mode. */
export type BackupModeName = 'FULL' | 'INCREMENTAL';
export const modeName = (mode: BackupMode): BackupModeName => (mode === 'full' ? 'FULL' : 'INCREMENTAL');

// ------------------------------------------------------------------ decoding

export const decodeRunningJob = (raw: unknown): RunningJobWire => decodeWith(runningJobSchema, 'running job', raw);
export const decodeRoutineState = (raw: unknown): RoutineStateWire => decodeWith(routineStateSchema, 'routine state', raw);
export const decodeBackupDetails = (raw: unknown): BackupDetailsWire => decodeWith(backupDetailsSchema, 'backup details', raw);
export const decodeRestoreJobStatus = (raw: unknown): RestoreJobStatusWire => decodeWith(restoreJobStatusSchema, 'restore job status', raw);
export const decodeCluster = (raw: unknown): ClusterWire => decodeWith(clusterSchema, 'cluster config', raw);
export const decodeRoutine = (raw: unknown): RoutineWire => decodeWith(routineSchema, 'routine config', raw);
export const decodeStorage = (raw: unknown): Record<string, unknown> => decodeWith(storageConfigSchema, 'storage config', raw);
export const decodeVersion = (raw: unknown): VersionWire => decodeWith(versionSchema, 'version', raw);

/** The entries of a `{ name: item }` answer (lists of all routines, restore jobs, config); items are left undecoded. */
export function mapEntries(raw: unknown, what: string): Array<[string, unknown]> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`malformed ${what}: expected an object keyed by name`);
  return Object.entries(raw);
}

/** The items of an array answer (one routine's backups); items are left undecoded. */
export function listItems(raw: unknown, what: string): unknown[] {
  if (raw === null) return [];
  if (!Array.isArray(raw)) throw new Error(`malformed ${what}: expected an array`);
  return raw;
}

// ------------------------------------------------------------------ shared helpers


function epochMs(value: unknown): string | null {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? new Date(value).toISOString() : null;
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** Counters tagged `omitempty` on some builds: absent means zero. */
function counter(value: unknown): number {
  return num(value) ?? 0;
}

function clampPercent(value: number): number {
  return Math.min(100, Math.max(0, value));
}

/** A RunningJob's fields, camelCased (shared by backup runs and a restore's `current-job`). */
export interface RunningJobDetail {
  totalRecords: number | null;
  doneRecords: number | null;
  percentageDone: number | null;
  startTime: string | null;
  finishTime: string | null;
  estimatedEndTime: string | null;
  durationSeconds: number | null;
  recordsPerSecond: number | null;
  kilobytesPerSecond: number | null;
  pipeline: number | null;
}

export function mapRunningJob(job: RunningJobWire): RunningJobDetail {
  return {
    totalRecords: num(job['total-records']),
    doneRecords: num(job['done-records']),
    percentageDone: num(job['percentage-done']),
    startTime: isoTimestamp(job['start-time']),
    finishTime: isoTimestamp(job['finish-time']),
    estimatedEndTime: isoTimestamp(job['estimated-end-time']),
    durationSeconds: num(job.duration),
    recordsPerSecond: num(job.metrics?.['records-per-second']),
    kilobytesPerSecond: num(job.metrics?.['kilobytes-per-second']),
    pipeline: num(job.metrics?.pipeline),
  };
}

/** Progress in records: ABS's percentage when given, else done/total; null when neither is known. */
function jobProgress(job: RunningJobDetail): Progress {
  const { doneRecords: done, totalRecords: total } = job;
  const percent =
    job.percentageDone !== null ? clampPercent(job.percentageDone) : done !== null && total !== null && total > 0 ? clampPercent((done / total) * 100) : null;
  return {
    ...EMPTY_PROGRESS,
    percent,
    done,
    total,
    unit: 'records',
    ratePerSecond: job.recordsPerSecond,
    estimatedEndAt: job.estimatedEndTime,
  };
}

// ------------------------------------------------------------------ backup runs

/** One running full or incremental of one routine, as `currentBackup` shows it. */
export interface AerospikeRunningBackup {
  routine: string;
  mode: BackupMode;
  job: RunningJobWire;
  /** `last-full` / `last-incremental` when the run was seen: tells runs apart when `start-time` is absent. */
  lastRunAt: string | null;
}

/** The runs in one `currentBackup` answer: a full and an incremental in progress at once are two runs. */
export function runningBackups(routine: string, state: RoutineStateWire): AerospikeRunningBackup[] {
  const runs: AerospikeRunningBackup[] = [];
  for (const mode of ['full', 'incremental'] as const) {
    const job = state[mode];
    if (job) runs.push({ routine, mode, job, lastRunAt: isoTimestamp(state[mode === 'full' ? 'last-full' : 'last-incremental']) });
  }
  return runs;
}

export interface BackupRunDetail extends RunningJobDetail {
  routine: string;
  mode: BackupModeName;
  lastRunAt: string | null;
  /** Keys of the backups the run produced (set by the close rule). */
  backupKeys: string[];
}

/** Identity of one run: its routine, mode and start time (or, without one, the previous run it follows). */
export function backupRunId(source: string, run: AerospikeRunningBackup): string {
  const started = isoTimestamp(run.job['start-time']);
  return globalId(BACKUP_RUN_TYPENAME, [source, run.routine, modeName(run.mode), started ?? `after:${run.lastRunAt ?? 'none'}`]);
}

/** A job that reports its finish time is over even while ABS still lists it. */
export function isBackupRunInFlight(run: AerospikeRunningBackup): boolean {
  return isoTimestamp(run.job['finish-time']) === null;
}

export function backupRunSnapshot(source: string, run: AerospikeRunningBackup, now: string): OperationSnapshot {
  const job = mapRunningJob(run.job);
  const detail: BackupRunDetail = { ...job, routine: run.routine, mode: modeName(run.mode), lastRunAt: run.lastRunAt, backupKeys: [] };
  return {
    id: backupRunId(source, run),
    typename: BACKUP_RUN_TYPENAME,
    source,
    kind: 'BACKUP',
    status: 'RUNNING',
    vendorStatus: null,
    progress: jobProgress(job),
    message: job.percentageDone === null ? `${run.mode} backup of ${run.routine} running (no percentage reported)` : null,
    startedAt: job.startTime,
    updatedAt: now,
    finishedAt: null,
    detail,
  };
}

/** ABS's backup-event outcomes (`aerospike_backup_service_backup_events_total{outcome}`). */
export type BackupOutcome = 'success' | 'failure' | 'canceled' | 'retry' | 'skip';

export interface BackupRunCloseEvidence {
  /** The routine's backups of the run's mode (decoded), as listed after the run left currentBackup. */
  backups: readonly BackupDetailsWire[];
  /** The run was cancelled through the gateway. */
  cancelledByGateway?: boolean;
  /** The outcome `/metrics` counted for this routine and mode since the run started, when ABS exposes it. */
  metricsOutcome?: BackupOutcome | null;
}

/** Backups the run produced: created or finished at or after its start (runs of one mode never overlap). */
function backupsOfRun(last: OperationSnapshot, backups: readonly BackupDetailsWire[]): BackupDetailsWire[] {
  const detail = last.detail as BackupRunDetail;
  const since = last.startedAt ?? detail.lastRunAt;
  if (since === null) return [];
  const threshold = Date.parse(since) - (last.startedAt ? 1_000 : -1);
  return backups.filter((b) => {
    const created = isoTimestamp(b.created) ?? epochMs(b.timestamp);
    const finished = isoTimestamp(b.finished) ?? epochMs(b['finished-timestamp']);
    return [created, finished].some((at) => at !== null && Date.parse(at) >= threshold);
  });
}

/** The final state of a run that left `currentBackup`. */
export function closeBackupRun(last: OperationSnapshot, now: string, evidence: BackupRunCloseEvidence): OperationSnapshot {
  const detail = last.detail as BackupRunDetail;
  const what = `the ${detail.mode.toLowerCase()} backup of routine ${detail.routine}`;
  const base = { ...last, updatedAt: now, finishedAt: now, progress: { ...last.progress, ratePerSecond: null, estimatedEndAt: null } };
  const produced = backupsOfRun(last, evidence.backups);
  if (produced.length > 0) {
    const records = produced.reduce((sum, b) => sum + counter(b['record-count']), 0);
    const finishedAt = produced.map((b) => isoTimestamp(b.finished)).filter((t): t is string => t !== null).sort().at(-1) ?? now;
    const total = base.progress.total ?? (records || null);
    return {
      ...base,
      status: 'SUCCEEDED',
      finishedAt,
      message: `${what} completed: ${produced.map((b) => b.key).join(', ')}`,
      progress: { ...base.progress, percent: 100, done: total ?? base.progress.done, total },
      detail: { ...detail, backupKeys: produced.map((b) => b.key) } satisfies BackupRunDetail,
    };
  }
  if (evidence.cancelledByGateway) {
    return { ...base, status: 'CANCELLED', message: `${what} was cancelled through the gateway; ABS deletes partial backups` };
  }
  if (evidence.metricsOutcome === 'canceled') {
    return { ...base, status: 'CANCELLED', message: `${what} was cancelled (ABS counted it as canceled)` };
  }
  const counted = evidence.metricsOutcome === 'failure' ? ' (ABS counted a failure)' : '';
  return { ...base, status: 'FAILED', message: `${what} left currentBackup without a new backup in the list${counted}` };
}

/**
 * Why ABS will skip (or skipped) a trigger, from what it shows now: an incremental needs a completed
 * full and no full running; fulls never overlap. Null when nothing prevents the run.
 */
export function triggerSkipReason(
  source: string,
  routine: string,
  mode: BackupMode,
  state: RoutineStateWire,
  hasCompletedFull: boolean,
): { reason: string; runningId: string | null } | null {
  const runs = runningBackups(routine, state);
  const full = runs.find((r) => r.mode === 'full');
  const same = runs.find((r) => r.mode === mode);
  if (mode === 'incremental' && !hasCompletedFull) return { reason: `routine ${routine} has no completed full backup`, runningId: null };
  if (mode === 'incremental' && full) return { reason: `a full backup of routine ${routine} is running`, runningId: backupRunId(source, full) };
  if (same) return { reason: `a ${mode} backup of routine ${routine} is already running`, runningId: backupRunId(source, same) };
  return null;
}

// ------------------------------------------------------------------ finished backups

export interface AerospikeBackupModel {
  id: string;
  key: string;
  routine: string;
  mode: BackupModeName;
  namespace: string | null;
  createdAt: string | null;
  /** `timestamp` (epoch ms) as sent. */
  timestamp: number | null;
  finishedAt: string | null;
  finishedTimestamp: number | null;
  durationSeconds: number | null;
  /** Lower bound of an incremental; null for fulls (ABS sends the zero time). */
  from: string | null;
  recordCount: number | null;
  byteCount: number | null;
  fileCount: number | null;
  secondaryIndexCount: number | null;
  udfCount: number | null;
  compression: string | null;
  encryption: string | null;
  storage: Record<string, unknown> | null;
}

export function backupId(source: string, key: string): string {
  return globalId(BACKUP_TYPENAME, [source, key]);
}

export function mapBackup(source: string, routine: string, mode: BackupMode, raw: BackupDetailsWire): AerospikeBackupModel {
  return {
    id: backupId(source, raw.key),
    key: raw.key,
    routine,
    mode: modeName(mode),
    namespace: str(raw.namespace),
    createdAt: isoTimestamp(raw.created) ?? epochMs(raw.timestamp),
    timestamp: num(raw.timestamp),
    finishedAt: isoTimestamp(raw.finished) ?? epochMs(raw['finished-timestamp']),
    finishedTimestamp: num(raw['finished-timestamp']),
    durationSeconds: num(raw.duration),
    from: isoTimestamp(raw.from),
    recordCount: num(raw['record-count']),
    byteCount: num(raw['byte-count']),
    fileCount: num(raw['file-count']),
    secondaryIndexCount: num(raw['secondary-index-count']),
    udfCount: num(raw['udf-count']),
    compression: str(raw.compression),
    encryption: str(raw.encryption),
    storage: raw.storage ? scrubSecrets(raw.storage) : null,
  };
}

// ------------------------------------------------------------------ restore jobs

/** Both generations (≤3.5 capitalised, 3.6+ lowercase) and the `Cancelled` spelling, matched case-insensitively. */
export const RESTORE_STATUS_TABLE: Readonly<Record<string, OperationStatus>> = {
  running: 'RUNNING',
  done: 'SUCCEEDED',
  success: 'SUCCEEDED',
  failed: 'FAILED',
  failure: 'FAILED',
  canceled: 'CANCELLED',
  cancelled: 'CANCELLED',
};

export function restoreStatus(vendorStatus: string): OperationStatus {
  return RESTORE_STATUS_TABLE[vendorStatus.trim().toLowerCase()] ?? 'UNKNOWN';
}

/**
 * Filter values ABS understands in both generations: ≤3.5 matches `Running/Done/Failed/Canceled`
 * exactly, 3.6+ matches case-insensitively and takes `done`/`failed` as aliases. One 3.6 build maps
 * `running` to successful jobs, so callers re-check with `matchesRestoreStatuses`.
 */
export function restoreStatusFilterValues(statuses: readonly OperationStatus[]): string[] {
  const spelling: Partial<Record<OperationStatus, string>> = { RUNNING: 'Running', SUCCEEDED: 'Done', FAILED: 'Failed', CANCELLED: 'Canceled' };
  return [...new Set(statuses.map((s) => spelling[s]).filter((s): s is string => s !== undefined))];
}

export function matchesRestoreStatuses(job: RestoreJobStatusWire, include?: readonly OperationStatus[] | null, exclude?: readonly OperationStatus[] | null): boolean {
  const status = restoreStatus(job.status);
  if (include?.length && !include.includes(status)) return false;
  return !exclude?.includes(status);
}

export interface AerospikeRestoreJobItem {
  /** Decimal string: ABS ids are int64. */
  jobId: string;
  job: RestoreJobStatusWire;
}

export interface RestoreJobDetail {
  jobId: string;
  vendorStatus: string;
  error: string | null;
  readRecords: number;
  totalBytes: number;
  expiredRecords: number;
  skippedRecords: number;
  ignoredRecords: number;
  insertedRecords: number;
  existedRecords: number;
  fresherRecords: number;
  indexCount: number;
  udfCount: number;
  errorsInDoubt: number;
  currentJob: RunningJobDetail | null;
  recordsPerSecond: number | null;
  kilobytesPerSecond: number | null;
  pipeline: number | null;
  /** Set when ABS no longer knows the job (restart). */
  forgotten: boolean;
}

export function restoreJobId(source: string, jobId: string): string {
  return globalId(RESTORE_JOB_TYPENAME, [source, jobId]);
}

export function isRestoreJobInFlight(item: AerospikeRestoreJobItem): boolean {
  return !isFinal(restoreStatus(item.job.status));
}

export function mapRestoreJobDetail(item: AerospikeRestoreJobItem): RestoreJobDetail {
  const { job } = item;
  const current = job['current-job'] ? mapRunningJob(job['current-job']) : null;
  return {
    jobId: item.jobId,
    vendorStatus: job.status,
    error: str(job.error),
    readRecords: counter(job['read-records']),
    totalBytes: counter(job['total-bytes']),
    expiredRecords: counter(job['expired-records']),
    skippedRecords: counter(job['skipped-records']),
    ignoredRecords: counter(job['ignored-records']),
    insertedRecords: counter(job['inserted-records']),
    existedRecords: counter(job['existed-records']),
    fresherRecords: counter(job['fresher-records']),
    indexCount: counter(job['index-count']),
    udfCount: counter(job['udf-count']),
    errorsInDoubt: counter(job['errors-in-doubt']),
    currentJob: current,
    recordsPerSecond: current?.recordsPerSecond ?? null,
    kilobytesPerSecond: current?.kilobytesPerSecond ?? null,
    pipeline: current?.pipeline ?? null,
    forgotten: false,
  };
}

export function restoreJobSnapshot(source: string, item: AerospikeRestoreJobItem, now: string): OperationSnapshot {
  const detail = mapRestoreJobDetail(item);
  const status = restoreStatus(item.job.status);
  const current = detail.currentJob;
  let progress: Progress = current ? jobProgress(current) : { ...EMPTY_PROGRESS, done: detail.readRecords, unit: 'records' };
  if (status === 'SUCCEEDED') progress = { ...progress, percent: 100, done: progress.total ?? progress.done, ratePerSecond: null, estimatedEndAt: null };
  else if (isFinal(status)) progress = { ...progress, ratePerSecond: null, estimatedEndAt: null };
  return {
    id: restoreJobId(source, item.jobId),
    typename: RESTORE_JOB_TYPENAME,
    source,
    kind: 'RESTORE',
    status,
    vendorStatus: item.job.status,
    progress,
    message: detail.error ?? (status === 'UNKNOWN' ? `unknown ABS restore status ${JSON.stringify(item.job.status)}` : null),
    startedAt: current?.startTime ?? null,
    updatedAt: now,
    finishedAt: isFinal(status) ? (current?.finishTime ?? null) : null,
    detail,
  };
}

export interface RestoreJobCloseEvidence {
  /** `GET /v1/restore/status/{id}` answered 404: ABS forgot the job (it keeps jobs in memory only). */
  notFound: true;
}

/** The final state of a restore job ABS no longer knows: its outcome cannot be known any more. */
export function closeRestoreJob(last: OperationSnapshot, now: string, _evidence: RestoreJobCloseEvidence): OperationSnapshot {
  const detail = last.detail as RestoreJobDetail;
  return {
    ...last,
    status: 'FAILED',
    updatedAt: now,
    finishedAt: now,
    progress: { ...last.progress, ratePerSecond: null, estimatedEndAt: null },
    message: `ABS no longer knows restore job ${detail.jobId} (it keeps jobs in memory only; the service was probably restarted); its outcome is unknown`,
    detail: { ...detail, forgotten: true } satisfies RestoreJobDetail,
  };
}

// ------------------------------------------------------------------ configuration

/** A deep copy with every secret value (passwords, keys, client secrets) replaced by `[secret]`. */
export function scrubSecrets<T>(value: T): T {
  const walk = (v: unknown, key: string): unknown => {
    if (isSecretKey(key) && v !== null && v !== undefined && v !== '') return SECRET_PLACEHOLDER;
    if (Array.isArray(v)) return v.map((item) => walk(item, ''));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, k)]));
    return v;
  };
  return walk(value, '') as T;
}

export interface AerospikeClusterModel {
  name: string;
  label: string | null;
  seedNodes: Array<{ hostName: string; port: number; tlsName: string | null }>;
  credentials: { user: string | null; password: string | null; passwordPath: string | null; authMode: string | null } | null;
  connTimeoutMs: number | null;
  maxParallelScans: number | null;
  useServicesAlternate: boolean | null;
  tls: Record<string, unknown> | null;
  /** The whole wire object, secrets replaced. */
  config: Record<string, unknown>;
}

export function mapCluster(name: string, raw: ClusterWire): AerospikeClusterModel {
  const c = raw.credentials;
  return {
    name,
    label: str(raw.label),
    seedNodes: raw['seed-nodes'].map((n) => ({ hostName: n['host-name'], port: n.port, tlsName: str(n['tls-name']) })),
    credentials: c
      ? { user: str(c.user), password: str(c.password) ? SECRET_PLACEHOLDER : null, passwordPath: str(c['password-path']), authMode: str(c['auth-mode']) }
      : null,
    connTimeoutMs: num(raw['conn-timeout']),
    maxParallelScans: num(raw['max-parallel-scans']),
    useServicesAlternate: typeof raw['use-services-alternate'] === 'boolean' ? raw['use-services-alternate'] : null,
    tls: raw.tls ? scrubSecrets(raw.tls) : null,
    config: scrubSecrets(raw as Record<string, unknown>),
  };
}

export interface AerospikeRoutineModel {
  name: string;
  sourceCluster: string;
  storage: string;
  intervalCron: string;
  incrementalIntervalCron: string | null;
  namespaces: string[];
  backupPolicy: string | null;
  setList: string[];
  binList: string[];
  nodeList: unknown[];
  partitionList: string | null;
  rackList: unknown[];
  preferRacks: unknown[];
  filterExp: string | null;
  disabled: boolean;
  secretAgent: string | null;
  scheduleTimezone: string | null;
  config: Record<string, unknown>;
}

export function mapRoutine(name: string, raw: RoutineWire): AerospikeRoutineModel {
  return {
    name,
    sourceCluster: raw['source-cluster'],
    storage: raw.storage,
    intervalCron: raw['interval-cron'],
    incrementalIntervalCron: str(raw['incr-interval-cron']),
    namespaces: raw.namespaces ?? [],
    backupPolicy: str(raw['backup-policy']),
    setList: raw['set-list'] ?? [],
    binList: raw['bin-list'] ?? [],
    nodeList: raw['node-list'] ?? [],
    partitionList: str(raw['partition-list']),
    rackList: raw['rack-list'] ?? [],
    preferRacks: raw['prefer-racks'] ?? [],
    filterExp: str(raw['filter-exp']),
    disabled: raw.disabled === true,
    secretAgent: str(raw['secret-agent']),
    scheduleTimezone: str(raw['schedule-timezone']),
    config: scrubSecrets(raw as Record<string, unknown>),
  };
}

/** A routine's schedule as `currentBackup` reports it. */
export interface RoutineScheduleModel {
  lastFullAt: string | null;
  lastIncrementalAt: string | null;
  nextFullAt: string | null;
  nextIncrementalAt: string | null;
}

export function mapRoutineSchedule(state: RoutineStateWire): RoutineScheduleModel {
  return {
    lastFullAt: isoTimestamp(state['last-full']),
    lastIncrementalAt: isoTimestamp(state['last-incremental']),
    nextFullAt: isoTimestamp(state['next-full']),
    nextIncrementalAt: isoTimestamp(state['next-incremental']),
  };
}

export const STORAGE_TYPES = ['local', 's3', 'azure', 'gcp'] as const;

export interface AerospikeStorageModel {
  name: string;
  /** `local` / `s3` / `azure` / `gcp`, or the raw key (without `-storage`) of an unknown kind. */
  type: string | null;
  path: string | null;
  bucket: string | null;
  region: string | null;
  config: Record<string, unknown>;
}

export function mapStorage(name: string, raw: Record<string, unknown>): AerospikeStorageModel {
  const [key, body] = Object.entries(raw).find(([k, v]) => k.endsWith('-storage') && v && typeof v === 'object') ?? [];
  const inner = (body ?? {}) as Record<string, unknown>;
  return {
    name,
    type: key ? key.replace(/-storage$/, '') : null,
    path: str(inner['path']),
    bucket: str(inner['bucket']) ?? str(inner['bucket-name']) ?? str(inner['container-name']),
    region: str(inner['s3-region']),
    config: scrubSecrets(raw),
  };
}

export interface AerospikeVersionModel {
  version: string;
  buildTime: string | null;
  commit: string | null;
  /** `json` on newer builds, `text` on older ones. */
  format: 'json' | 'text';
}

export function mapVersion(raw: VersionWire): AerospikeVersionModel {
  if (typeof raw === 'string') return { version: raw.trim(), buildTime: null, commit: null, format: 'text' };
  return { version: raw.version, buildTime: isoTimestamp(raw['build-time']) ?? str(raw['build-time']), commit: str(raw.commit), format: 'json' };
}

// ------------------------------------------------------------------ /metrics

export interface BackupEventCount {
  routine: string;
  mode: string;
  outcome: string;
  value: number;
}

/** `aerospike_backup_service_backup_events_total{routine,type,outcome}` samples from Prometheus text. */
export function parseBackupEvents(text: string): BackupEventCount[] {
  const out: BackupEventCount[] = [];
  for (const line of text.split('\n')) {
    const m = /^aerospike_backup_service_backup_events_total\{([^}]*)\}\s+(\S+)/.exec(line.trim());
    if (!m) continue;
    const labels = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], (l[2] ?? '').replace(/\\(.)/g, '$1')]));
    const value = Number(m[2]);
    if (labels['routine'] && labels['type'] && labels['outcome'] && Number.isFinite(value)) {
      out.push({ routine: labels['routine'], mode: labels['type'], outcome: labels['outcome'], value });
    }
  }
  return out;
}

/** One counter; Prometheus omits a counter until its first event, so a missing series is zero. */
export function backupEventCount(counts: readonly BackupEventCount[], routine: string, mode: BackupMode, outcome: BackupOutcome): number {
  return counts.find((c) => c.routine === routine && c.mode === mode && c.outcome === outcome)?.value ?? 0;
}

/** The outcome that moved between two scrapes for a routine and mode, or null when none did. */
export function backupOutcomeBetween(before: readonly BackupEventCount[], after: readonly BackupEventCount[], routine: string, mode: BackupMode): BackupOutcome | null {
  const outcomes: BackupOutcome[] = ['success', 'failure', 'canceled', 'skip', 'retry'];
  return outcomes.find((o) => backupEventCount(after, routine, mode, o) > backupEventCount(before, routine, mode, o)) ?? null;
}
