import { z } from 'zod';
import { globalId } from '../../model/ids.js';
import { isoTimestamp, wireDecoder } from '../decode.js';
import { EMPTY_PROGRESS, isFinal, type OperationKind, type OperationSnapshot, type OperationStatus } from '../../model/operation.js';

/**
 * DocSpace wire items → the gateway's model (docs/upstreams/docspace.md). Pure: no I/O, no clock.
 *
 * Enums arrive as integers (no string enum converter on responses) but are accepted as names too,
 * case-insensitively; an unknown value survives as its raw string.
 */

// ---------------------------------------------------------------------------------------------
// Enums

export const TASK_TYPES = ['BACKUP', 'RESTORE', 'TRANSFER'] as const;
export type DocSpaceTaskType = (typeof TASK_TYPES)[number] | 'UNKNOWN';
/** `backupProgressEnum`: index = wire integer. */
const TASK_TYPE_NAMES = ['Backup', 'Restore', 'Transfer'] as const;

export type DocSpaceTaskStatus = 'CREATED' | 'RUNNING' | 'COMPLETED' | 'CANCELED' | 'FAILED' | 'UNKNOWN';
/** DistributedTaskStatus: index = wire integer; the vendor spells 4 `Failted`. */
const TASK_STATUS_NAMES = ['Created', 'Running', 'Completed', 'Canceled', 'Failted'] as const;
const TASK_STATUSES: DocSpaceTaskStatus[] = ['CREATED', 'RUNNING', 'COMPLETED', 'CANCELED', 'FAILED'];
/** Spellings accepted beyond the vendor's names. */
const STATUS_ALIASES: Record<string, DocSpaceTaskStatus> = { failed: 'FAILED', cancelled: 'CANCELED' };

export const STORAGE_TYPE_NAMES = ['Documents', 'ThridpartyDocuments', 'CustomCloud', 'Local', 'DataStore', 'ThirdPartyConsumer'] as const;
export const BACKUP_PERIODS = ['EVERY_DAY', 'EVERY_WEEK', 'EVERY_MONTH'] as const;
export type BackupPeriod = (typeof BACKUP_PERIODS)[number] | 'UNKNOWN';
const PERIOD_NAMES = ['EveryDay', 'EveryWeek', 'EveryMonth'] as const;

interface EnumReading {
  /** Index in the vendor's table, or -1 when the value is unknown. */
  index: number;
  /** The vendor's name for a known value, the raw value as text otherwise. */
  vendor: string;
}

/** Reads an integer-or-name enum against the vendor's name table. */
function readEnum(raw: number | string, names: readonly string[], aliases: Record<string, number> = {}): EnumReading {
  const text = String(raw).trim();
  const asNumber = typeof raw === 'number' ? raw : /^-?\d+$/.test(text) ? Number(text) : NaN;
  let index = Number.isInteger(asNumber) ? asNumber : names.findIndex((n) => n.toLowerCase() === text.toLowerCase());
  if (index < 0 || index >= names.length) index = aliases[text.toLowerCase()] ?? -1;
  return { index, vendor: index >= 0 ? names[index]! : text };
}

const STATUS_ALIAS_INDEX = Object.fromEntries(Object.entries(STATUS_ALIASES).map(([k, v]) => [k, TASK_STATUSES.indexOf(v)]));

/** Storage type as integer or name → its integer, or null when unknown (used by requests and the schedule). */
export function storageTypeValue(raw: number | string | null | undefined): number | null {
  if (raw === null || raw === undefined) return null;
  const { index } = readEnum(raw, STORAGE_TYPE_NAMES);
  return index >= 0 ? index : null;
}

export function storageTypeName(value: number | null): string | null {
  return value === null ? null : (STORAGE_TYPE_NAMES[value] ?? String(value));
}

// ---------------------------------------------------------------------------------------------
// Decoding (lenient: unknown keys allowed, nullable where the vendor omits nulls)

const intOrName = z.union([z.number().int(), z.string()]);
const blankable = z.string().nullish();

const TaskWire = z.looseObject({
  isCompleted: z.boolean(),
  progress: z.number(),
  error: blankable,
  warning: blankable,
  link: blankable,
  tenantId: z.number().int().nullish(),
  backupProgressEnum: intOrName.nullish(),
  status: intOrName.nullish(),
  taskId: z.string().nullish(),
});

const HistoryWire = z.looseObject({
  id: z.string().min(1),
  fileName: z.string().nullish(),
  storageType: intOrName.nullish(),
  createdOn: z.string().nullish(),
  expiresOn: z.string().nullish(),
});

const ScheduleWire = z.looseObject({
  storageType: intOrName.nullish(),
  storageParams: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).nullable()).nullish(),
  cronParams: z.looseObject({ period: intOrName.nullish(), hour: z.number().int().nullish(), day: z.number().int().nullish() }).nullish(),
  backupsStored: z.number().int().nullish(),
  lastBackupTime: z.string().nullish(),
  dump: z.boolean().nullish(),
});

const ServiceStateWire = z.looseObject({ enabled: z.boolean() });

const readTask = wireDecoder(TaskWire);
const readHistoryEntry = wireDecoder(HistoryWire);
const readSchedule = wireDecoder(ScheduleWire);
const readServiceState = wireDecoder(ServiceStateWire);

/** A backup, restore or transfer task as the progress endpoints report it (BackupProgress). */
export interface DocSpaceTask {
  taskId: string | null;
  tenantId: number | null;
  taskType: DocSpaceTaskType;
  /** `backupProgressEnum` as the vendor names it (`Backup`, …) or the raw unknown value. */
  vendorTaskType: string | null;
  taskStatus: DocSpaceTaskStatus | null;
  /** `status` as the vendor names it (`Failted`, …) or the raw unknown value; null when absent (older portals). */
  vendorTaskStatus: string | null;
  isCompleted: boolean;
  /** 0..100. */
  progress: number;
  /** `""` and null both mean no error. */
  error: string | null;
  warning: string | null;
  link: string | null;
}

const nonBlank = (value: string | null | undefined): string | null => (typeof value === 'string' && value.trim() !== '' ? value : null);

export function decodeTask(raw: unknown): DocSpaceTask {
  const wire = readTask(raw);
  const type = wire.backupProgressEnum == null ? null : readEnum(wire.backupProgressEnum, TASK_TYPE_NAMES);
  const status = wire.status == null ? null : readEnum(wire.status, TASK_STATUS_NAMES, STATUS_ALIAS_INDEX);
  return {
    taskId: nonBlank(wire.taskId),
    tenantId: wire.tenantId ?? null,
    taskType: type && type.index >= 0 ? TASK_TYPES[type.index]! : 'UNKNOWN',
    vendorTaskType: type?.vendor ?? null,
    taskStatus: status === null ? null : status.index >= 0 ? TASK_STATUSES[status.index]! : 'UNKNOWN',
    vendorTaskStatus: status?.vendor ?? null,
    isCompleted: wire.isCompleted,
    progress: Math.min(100, Math.max(0, wire.progress)),
    error: nonBlank(wire.error),
    warning: nonBlank(wire.warning),
    link: nonBlank(wire.link),
  };
}

export interface DocSpaceHistoryEntry {
  /** Relay id of the entry. */
  id: string;
  backupId: string;
  fileName: string | null;
  storageType: number | null;
  storageTypeName: string | null;
  createdOn: string | null;
  expiresOn: string | null;
}

export function historyEntryId(source: string, backupId: string): string {
  return globalId('DocSpaceHistoryEntry', [source, backupId]);
}

export function decodeHistoryEntry(source: string, raw: unknown): DocSpaceHistoryEntry {
  const wire = readHistoryEntry(raw);
  const storageType = storageTypeValue(wire.storageType);
  return {
    id: historyEntryId(source, wire.id),
    backupId: wire.id,
    fileName: nonBlank(wire.fileName),
    storageType,
    storageTypeName: storageTypeName(storageType),
    createdOn: isoTimestamp(wire.createdOn),
    expiresOn: isoTimestamp(wire.expiresOn),
  };
}

export interface DocSpaceCronParams {
  period: BackupPeriod;
  /** The vendor's name (`EveryWeek`) or the raw unknown value. */
  vendorPeriod: string | null;
  hour: number | null;
  /** Day of the week (weekly) or of the month (monthly); null for daily. */
  day: number | null;
}

export interface DocSpaceSchedule {
  storageType: number | null;
  storageTypeName: string | null;
  storageParams: Record<string, string | null>;
  cronParams: DocSpaceCronParams;
  backupsStored: number | null;
  lastBackupTime: string | null;
  dump: boolean | null;
}

export function decodeSchedule(raw: unknown): DocSpaceSchedule {
  const wire = readSchedule(raw);
  const storageType = storageTypeValue(wire.storageType);
  const period = wire.cronParams?.period == null ? null : readEnum(wire.cronParams.period, PERIOD_NAMES);
  return {
    storageType,
    storageTypeName: storageTypeName(storageType),
    storageParams: Object.fromEntries(Object.entries(wire.storageParams ?? {}).map(([k, v]) => [k, v === null ? null : String(v)])),
    cronParams: {
      period: period && period.index >= 0 ? BACKUP_PERIODS[period.index]! : 'UNKNOWN',
      vendorPeriod: period?.vendor ?? null,
      hour: wire.cronParams?.hour ?? null,
      day: wire.cronParams?.day ?? null,
    },
    backupsStored: wire.backupsStored ?? null,
    lastBackupTime: isoTimestamp(wire.lastBackupTime),
    dump: wire.dump ?? null,
  };
}

export function decodeServiceState(raw: unknown): { enabled: boolean } {
  return { enabled: readServiceState(raw).enabled };
}

// ---------------------------------------------------------------------------------------------
// Operations

export const BACKUP_TYPENAME = 'DocSpaceBackup';
export const RESTORE_TYPENAME = 'DocSpaceRestore';

/** What DocSpaceBackup / DocSpaceRestore resolvers and history read. */
export interface DocSpaceTaskDetail extends DocSpaceTask {
  /** The `Dump` flag the task was read (or started) with; null when the request did not say. */
  dump: boolean | null;
  /** When the task has no id: the time the gateway first saw this run (part of its id). */
  runStartedAt: string | null;
  /** Set by the close rule when the portal came back under another tenant id. */
  newTenantId: number | null;
}

export interface TaskContext {
  dump?: boolean | null;
  /**
   * Only for tasks without a `taskId`: when the gateway first saw this run. The caller keeps it
   * across polls (see `continuesRun`) so the id stays the same for the whole run.
   */
  runStartedAt?: string | null;
}

/**
 * The operation status of a task. An error text always means FAILED; `isCompleted` without one
 * means SUCCEEDED unless the status says cancelled or failed.
 */
export function taskStatus(task: DocSpaceTask): OperationStatus {
  if (task.error !== null || task.taskStatus === 'FAILED') return 'FAILED';
  if (task.taskStatus === 'CANCELED') return 'CANCELLED';
  if (task.taskStatus === 'COMPLETED' || task.isCompleted) return 'SUCCEEDED';
  switch (task.taskStatus) {
    case 'CREATED':
      return 'PENDING';
    case 'RUNNING':
    case null: // older portals send no status: a reported, incomplete task is running
      return 'RUNNING';
    default:
      return 'UNKNOWN';
  }
}

/** The one in-flight test for every DocSpace task (backup, restore, transfer). */
export function isTaskInFlight(task: DocSpaceTask): boolean {
  return !isFinal(taskStatus(task));
}
export const isBackupInFlight = isTaskInFlight;
export const isRestoreInFlight = isTaskInFlight;

function taskKind(task: DocSpaceTask, endpointKind: OperationKind): OperationKind {
  return task.taskType === 'UNKNOWN' ? endpointKind : task.taskType;
}

/**
 * Id of one run: the portal's task id when it gives one (a new start gets a new id); otherwise the
 * kind and first-seen time, since a taskless progress object says nothing else per run. The tenant
 * id is left out: a restore changes it while the run goes on.
 */
export function taskOperationId(typename: string, source: string, task: DocSpaceTask, kind: OperationKind, runStartedAt: string | null): string {
  if (task.taskId !== null) return globalId(typename, [source, task.taskId]);
  return globalId(typename, [source, 'run', kind, runStartedAt ?? 'current']);
}

function message(task: DocSpaceTask, status: OperationStatus): string | null {
  if (task.error !== null) return task.error;
  if (status === 'FAILED') return `the portal reports the task as ${task.vendorTaskStatus ?? 'failed'} without an error text`;
  if (status === 'CANCELLED') return 'the task was cancelled';
  return task.warning;
}

function snapshot(typename: string, endpointKind: OperationKind, source: string, task: DocSpaceTask, now: string, context: TaskContext): OperationSnapshot {
  const kind = taskKind(task, endpointKind);
  const status = taskStatus(task);
  const runStartedAt = task.taskId === null ? (context.runStartedAt ?? null) : null;
  const percent = status === 'SUCCEEDED' ? 100 : task.progress;
  const detail: DocSpaceTaskDetail = { ...task, dump: context.dump ?? null, runStartedAt, newTenantId: null };
  return {
    id: taskOperationId(typename, source, task, kind, runStartedAt),
    typename,
    source,
    kind,
    status,
    vendorStatus: task.vendorTaskStatus,
    progress: { ...EMPTY_PROGRESS, percent, done: percent, total: 100, unit: 'percent' },
    message: message(task, status),
    // The portal gives no timestamps: the source sets startedAt when it first sees the run.
    startedAt: null,
    updatedAt: now,
    finishedAt: isFinal(status) ? now : null,
    detail,
  };
}

/** A task read from `getbackupprogress` (or returned by `startbackup`). */
export function backupSnapshot(source: string, task: DocSpaceTask, now: string, context: TaskContext = {}): OperationSnapshot {
  return snapshot(BACKUP_TYPENAME, 'BACKUP', source, task, now, context);
}

/** A task read from `getrestoreprogress` (or returned by `startrestore`); a portal transfer is kind TRANSFER. */
export function restoreSnapshot(source: string, task: DocSpaceTask, now: string, context: TaskContext = {}): OperationSnapshot {
  return snapshot(RESTORE_TYPENAME, 'RESTORE', source, task, now, context);
}

/**
 * For tasks without an id: whether `task` is still the run `last` describes. An unfinished run
 * continues unless its progress went back; a finished run stays visible, unchanged, until the next
 * start, so only an identical final outcome continues it.
 */
export function continuesRun(last: OperationSnapshot | undefined, task: DocSpaceTask): boolean {
  if (!last) return false;
  const previous = last.detail as DocSpaceTaskDetail;
  if (previous.taskId !== null || task.taskId !== null) return previous.taskId === task.taskId;
  if (previous.taskType !== task.taskType) return false;
  if (!isFinal(last.status)) return task.progress >= previous.progress;
  return taskStatus(task) === last.status && task.error === previous.error && task.link === previous.link;
}

/** What the portal shows instead of a task that is no longer reported. */
export interface DocSpaceCloseEvidence {
  /** The task the same endpoint reports now (another run), or null when it reports none. */
  current: DocSpaceTask | null;
  /** The portal's tenant id as seen now (from any task it reports), when known. */
  tenantId?: number | null;
}

/**
 * Final state of a task the portal stopped reporting. A restore or transfer followed by a tenant
 * id change finished: the portal came back as a new tenant (progress is kept per tenant, so the
 * old task is gone). Anything else that vanishes ended without completing: `cancelbackup` dequeues
 * the task, and a new start replaces a finished one.
 */
export function closeTask(last: OperationSnapshot, now: string, evidence: DocSpaceCloseEvidence): OperationSnapshot {
  const previous = last.detail as DocSpaceTaskDetail;
  if (isFinal(last.status)) return last;
  const base = { ...last, updatedAt: now, finishedAt: now, progress: { ...last.progress, ratePerSecond: null, estimatedEndAt: null } };
  const tenantNow = evidence.current?.tenantId ?? evidence.tenantId ?? null;
  const tenantChanged = tenantNow !== null && previous.tenantId !== null && tenantNow !== previous.tenantId;
  if (tenantChanged && (last.kind === 'RESTORE' || last.kind === 'TRANSFER')) {
    const verb = last.kind === 'RESTORE' ? 'restore' : 'transfer';
    return {
      ...base,
      status: 'SUCCEEDED',
      message: `the portal came back as tenant ${tenantNow} (was ${previous.tenantId}); the ${verb} task is no longer reported`,
      progress: { ...base.progress, percent: 100, done: 100 },
      detail: { ...previous, newTenantId: tenantNow } satisfies DocSpaceTaskDetail,
    };
  }
  const why = tenantChanged
    ? `the portal's tenant id changed from ${previous.tenantId} to ${tenantNow} (it was restored)`
    : evidence.current
      ? `the portal now reports another task${evidence.current.taskId ? ` (${evidence.current.taskId})` : ''}`
      : 'the portal no longer reports it (cancelled or dequeued)';
  return {
    ...base,
    status: 'CANCELLED',
    message: `task ended without completing: ${why}`,
    detail: { ...previous, newTenantId: tenantChanged ? tenantNow : null } satisfies DocSpaceTaskDetail,
  };
}
