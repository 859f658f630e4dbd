import { GatewayError } from '../../errors.js';
import { badInput } from '../../errors.js';
import { decodeGlobalId, encodeGlobalId } from '../../model/ids.js';
import type { OperationSnapshot } from '../../model/operation.js';
import type { GatewayContext } from '../../context.js';
import { builder } from '../../schema/builder.js';
import { OperationRef } from '../../schema/operation.js';
import { sourceEntryField, sourceNode } from '../../schema/source.js';
import type { DocSpaceStorageParams } from './client.js';
import {
  BACKUP_PERIODS,
  BACKUP_TYPENAME,
  RESTORE_TYPENAME,
  STORAGE_TYPE_NAMES,
  TASK_TYPES,
  type DocSpaceCronParams,
  type DocSpaceHistoryEntry,
  type DocSpaceSchedule,
  type DocSpaceTaskDetail,
} from './map.js';
import type { DocSpaceSource } from './source.js';

/** DocSpace's part of the API (docs/upstreams/docspace.md): the `docSpace(source:)` entry, tasks, history, schedule. */

function docSpace(ctx: GatewayContext, name: string | null | undefined): DocSpaceSource {
  return ctx.registry.ofKind<DocSpaceSource>('docspace', 'DocSpace', name ?? undefined);
}

const detailOf = (op: OperationSnapshot) => op.detail as DocSpaceTaskDetail;

/** BackupStorageType in the portal's order (the wire integer is the index). */
const STORAGE_TYPES = ['DOCUMENTS', 'THIRD_PARTY_DOCUMENTS', 'CUSTOM_CLOUD', 'LOCAL', 'DATA_STORE', 'THIRD_PARTY_CONSUMER'] as const;
type StorageType = (typeof STORAGE_TYPES)[number];

const StorageTypeEnum = builder.enumType('DocSpaceStorageType', {
  description: `Where a backup is kept (BackupStorageType: ${STORAGE_TYPE_NAMES.join(', ')}).`,
  values: STORAGE_TYPES,
});
const TaskTypeEnum = builder.enumType('DocSpaceTaskType', {
  description: 'backupProgressEnum; UNKNOWN for a value this gateway does not know (see vendorTaskType).',
  values: [...TASK_TYPES, 'UNKNOWN'] as const,
});
const BackupPeriodEnum = builder.enumType('DocSpaceBackupPeriod', {
  description: 'How often a scheduled backup runs; UNKNOWN (output only) for a value this gateway does not know.',
  values: [...BACKUP_PERIODS, 'UNKNOWN'] as const,
});

function storageTypeOut(value: number | null): StorageType | null {
  return value === null ? null : (STORAGE_TYPES[value] ?? null);
}

// --- operations ---------------------------------------------------------------------------------

const DocSpaceTaskRef = builder.interfaceRef<OperationSnapshot>('DocSpaceTask').implement({
  description: 'A task of a DocSpace portal as its progress endpoints report it (BackupProgress).',
  interfaces: [builder.nodeInterfaceRef(), OperationRef],
  resolveType: (op) => op.typename,
  fields: (t) => ({
    taskId: t.string({ nullable: true, description: 'The portal\'s task id (absent on older portals).', resolve: (op) => detailOf(op).taskId }),
    tenantId: t.int({ nullable: true, description: 'The tenant the task reports (a finished restore reports the new one).', resolve: (op) => detailOf(op).tenantId }),
    newTenantId: t.int({ nullable: true, description: 'Set when the portal came back under another tenant id after this task stopped being reported.', resolve: (op) => detailOf(op).newTenantId }),
    taskType: t.field({ type: TaskTypeEnum, resolve: (op) => detailOf(op).taskType }),
    vendorTaskType: t.string({ nullable: true, description: 'backupProgressEnum as the portal names it (Backup, Restore, Transfer) or the raw value.', resolve: (op) => detailOf(op).vendorTaskType }),
    completed: t.boolean({ description: 'isCompleted as reported (true for failures too).', resolve: (op) => detailOf(op).isCompleted }),
    error: t.string({ nullable: true, description: 'The portal\'s error text (also the message of a FAILED task).', resolve: (op) => detailOf(op).error }),
    warning: t.string({ nullable: true, resolve: (op) => detailOf(op).warning }),
    link: t.string({
      nullable: true,
      description: 'Backups: the backup file (a download link that may carry a token: operators only); restores and transfers: the portal address.',
      resolve: (op, _, ctx) => {
        const link = detailOf(op).link;
        if (link === null || ctx.role === 'operator' || op.kind !== 'BACKUP') return link;
        throw new GatewayError('FORBIDDEN', 'A backup link can carry a download token: it is shown to operators only', { source: op.source });
      },
    }),
    dump: t.boolean({ nullable: true, description: 'Whether this is a dump task (the Dump flag it was read with).', resolve: (op) => detailOf(op).dump }),
  }),
});

function taskNode(typename: string, description: string) {
  const ref = builder.objectRef<OperationSnapshot>(typename);
  builder.node(ref, {
    description,
    interfaces: [OperationRef, DocSpaceTaskRef],
    id: { resolve: (op) => decodeGlobalId(op.id).id },
    isTypeOf: (op) => (op as OperationSnapshot).typename === typename,
    loadOne: async (id, ctx) => {
      const gid = encodeGlobalId(typename, id);
      return ctx.tracker.current(gid) ?? (await ctx.history.get(gid)) ?? null;
    },
    fields: () => ({}),
  });
  return ref;
}

export const DocSpaceBackupRef = taskNode(BACKUP_TYPENAME, 'A backup of a DocSpace portal (getbackupprogress); kind BACKUP.');
export const DocSpaceRestoreRef = taskNode(RESTORE_TYPENAME, 'A restore (kind RESTORE) or portal transfer (kind TRANSFER) of a DocSpace portal (getrestoreprogress, anonymous).');

// --- history and schedule -----------------------------------------------------------------------

const HistoryEntryRef = builder.objectRef<DocSpaceHistoryEntry>('DocSpaceHistoryEntry').implement({
  description: 'A backup the portal keeps (getbackuphistory); backupId is what startDocSpaceRestore and deleteDocSpaceBackup take.',
  fields: (t) => ({
    id: t.exposeID('id'),
    backupId: t.exposeString('backupId'),
    fileName: t.exposeString('fileName', { nullable: true }),
    storageType: t.field({ type: StorageTypeEnum, nullable: true, resolve: (e) => storageTypeOut(e.storageType) }),
    storageTypeValue: t.exposeInt('storageType', { nullable: true, description: 'The wire integer (kept when the gateway does not know it).' }),
    createdOn: t.field({ type: 'DateTime', nullable: true, resolve: (e) => e.createdOn }),
    expiresOn: t.field({ type: 'DateTime', nullable: true, resolve: (e) => e.expiresOn }),
  }),
});

const CronParamsRef = builder.objectRef<DocSpaceCronParams>('DocSpaceCronParams').implement({
  fields: (t) => ({
    period: t.field({ type: BackupPeriodEnum, resolve: (c) => c.period }),
    vendorPeriod: t.exposeString('vendorPeriod', { nullable: true }),
    hour: t.exposeInt('hour', { nullable: true, description: '0–23, portal time.' }),
    day: t.exposeInt('day', { nullable: true, description: 'Day of the week (EVERY_WEEK) or of the month (EVERY_MONTH); null for EVERY_DAY.' }),
  }),
});

const ScheduleRef = builder.objectRef<DocSpaceSchedule>('DocSpaceBackupSchedule').implement({
  fields: (t) => ({
    storageType: t.field({ type: StorageTypeEnum, nullable: true, resolve: (s) => storageTypeOut(s.storageType) }),
    storageTypeValue: t.exposeInt('storageType', { nullable: true }),
    storageParams: t.field({ type: 'JSON', description: 'Storage parameters as a map (folderId, module, …).', resolve: (s) => s.storageParams }),
    cronParams: t.field({ type: CronParamsRef, resolve: (s) => s.cronParams }),
    backupsStored: t.exposeInt('backupsStored', { nullable: true, description: 'How many scheduled backups are kept (1–30).' }),
    lastBackupTime: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.lastBackupTime }),
    dump: t.exposeBoolean('dump', { nullable: true }),
  }),
});

// --- the source ---------------------------------------------------------------------------------

export const DocSpaceSourceRef = builder.objectRef<DocSpaceSource>('DocSpaceSource');

builder.node(DocSpaceSourceRef, {
  ...sourceNode<DocSpaceSource>('docspace'),
  description: 'A configured ONLYOFFICE DocSpace portal: its backup and restore tasks, backup history and schedule.',
  fields: (t) => ({
    backupProgress: t.field({
      type: DocSpaceBackupRef,
      nullable: true,
      description: 'The backup task the portal reports (a finished one stays until the next start); null when there is none. Fails with UPSTREAM_UNAVAILABLE (restoring: true) only before anything was seen while the portal is being restored.',
      args: { dump: t.arg.boolean({ description: 'The dump task instead (Dump=true).' }) },
      resolve: (source, args) => source.backupProgress(args.dump ?? false),
    }),
    restoreProgress: t.field({
      type: DocSpaceRestoreRef,
      nullable: true,
      description: 'The restore or transfer the portal reports; asked without credentials, so it answers while the portal is being restored.',
      args: { dump: t.arg.boolean() },
      resolve: (source, args) => source.restoreProgress(args.dump ?? false),
    }),
    backupHistory: t.field({
      type: [HistoryEntryRef],
      nullable: true,
      args: { dump: t.arg.boolean() },
      resolve: (source, args) => source.backupHistory(args.dump ?? undefined),
    }),
    backupSchedule: t.field({
      type: ScheduleRef,
      nullable: true,
      description: 'null when no schedule is set.',
      args: { dump: t.arg.boolean() },
      resolve: (source, args) => source.backupSchedule(args.dump ?? undefined),
    }),
    backupsCount: t.int({
      nullable: true,
      description: 'Backups made in the period (getbackupscount).',
      args: { from: t.arg({ type: 'DateTime' }), to: t.arg({ type: 'DateTime' }), paid: t.arg.boolean() },
      resolve: (source, args) =>
        source.backupsCount({
          ...(args.from ? { from: isoArg(args.from, 'from') } : {}),
          ...(args.to ? { to: isoArg(args.to, 'to') } : {}),
          ...(args.paid != null ? { paid: args.paid } : {}),
        }),
    }),
    serviceEnabled: t.boolean({ nullable: true, description: 'Whether the portal\'s backup service is enabled.', resolve: (source) => source.serviceEnabled() }),
  }),
});

sourceEntryField('docSpace', 'docspace', DocSpaceSourceRef, 'DocSpace');

// --- mutations ----------------------------------------------------------------------------------

const StartBackupInput = builder.inputType('StartDocSpaceBackupInput', {
  fields: (t) => ({
    storageType: t.field({ type: StorageTypeEnum, description: 'Default: the portal\'s (DOCUMENTS).' }),
    storageParams: t.field({ type: 'JSON', description: 'A map of storage parameters, e.g. {"folderId": "12"}.' }),
    dump: t.boolean({ description: 'A dump of the whole installation (server portals only).' }),
  }),
});

const StartRestoreInput = builder.inputType('StartDocSpaceRestoreInput', {
  fields: (t) => ({
    backupId: t.string({ required: true, description: 'A backupId from backupHistory.' }),
    storageType: t.field({ type: StorageTypeEnum }),
    storageParams: t.field({ type: 'JSON' }),
    notify: t.boolean({ description: 'Notify the portal\'s users when the restore ends.' }),
    dump: t.boolean(),
  }),
});

const ScheduleInput = builder.inputType('SetDocSpaceBackupScheduleInput', {
  fields: (t) => ({
    storageType: t.field({ type: StorageTypeEnum }),
    storageParams: t.field({ type: 'JSON' }),
    backupsStored: t.int({ description: '1–30.' }),
    period: t.field({ type: BackupPeriodEnum, required: true }),
    hour: t.int({ required: true, description: '0–23.' }),
    day: t.int({ description: 'EVERY_WEEK: day of the week (0–7); EVERY_MONTH: day of the month (1–31).' }),
    dump: t.boolean(),
  }),
});

function isoArg(value: string | Date, argument: string): string {
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (Number.isNaN(ms)) throw badInput(`${argument} must be a date-time`, { argument });
  return new Date(ms).toISOString();
}

function storageTypeIn(value: StorageType | null | undefined): number | undefined {
  return value == null ? undefined : STORAGE_TYPES.indexOf(value);
}

function storageParamsIn(value: unknown, argument: string): DocSpaceStorageParams | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw badInput(`${argument} must be a JSON object of storage parameters`, { argument });
  const params: Record<string, string> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw badInput(`${argument}.${key} must be a string, number or boolean`, { argument: `${argument}.${key}` });
    }
    params[key] = String(v);
  }
  return params;
}

function checkRange(value: number, min: number, max: number, argument: string): number {
  if (!Number.isInteger(value) || value < min || value > max) throw badInput(`${argument} must be between ${min} and ${max}`, { argument });
  return value;
}

builder.mutationFields((t) => ({
  startDocSpaceBackup: t.field({
    type: DocSpaceBackupRef,
    description: 'Starts a backup; answers the task (subscribe with operationUpdated). Starting while one runs answers the running one.',
    args: { source: t.arg.string(), input: t.arg({ type: StartBackupInput }) },
    resolve: (_, { source, input }, ctx) => {
      const storageType = storageTypeIn(input?.storageType);
      const storageParams = storageParamsIn(input?.storageParams, 'input.storageParams');
      return docSpace(ctx, source).startBackup({
        ...(storageType !== undefined ? { storageType } : {}),
        ...(storageParams ? { storageParams } : {}),
        ...(input?.dump != null ? { dump: input.dump } : {}),
      });
    },
  }),
  startDocSpaceRestore: t.field({
    type: DocSpaceRestoreRef,
    description: 'Starts a restore; answers the task to subscribe to. Until it ends the portal answers only its progress (the gateway follows it anonymously).',
    args: { source: t.arg.string(), input: t.arg({ type: StartRestoreInput, required: true }) },
    resolve: (_, { source, input }, ctx) => {
      if (input.backupId.trim() === '') throw badInput('backupId must not be empty', { argument: 'input.backupId' });
      const storageType = storageTypeIn(input.storageType);
      const storageParams = storageParamsIn(input.storageParams, 'input.storageParams');
      return docSpace(ctx, source).startRestore({
        backupId: input.backupId,
        ...(storageType !== undefined ? { storageType } : {}),
        ...(storageParams ? { storageParams } : {}),
        ...(input.notify != null ? { notify: input.notify } : {}),
        ...(input.dump != null ? { dump: input.dump } : {}),
      });
    },
  }),
  cancelDocSpaceBackup: t.boolean({
    description: 'Cancels the running backup; it ends CANCELLED.',
    args: { source: t.arg.string() },
    resolve: (_, args, ctx) => docSpace(ctx, args.source).cancelBackup(),
  }),
  deleteDocSpaceBackup: t.boolean({
    args: { source: t.arg.string(), backupId: t.arg.string({ required: true }) },
    resolve: (_, args, ctx) => docSpace(ctx, args.source).deleteBackup(args.backupId),
  }),
  clearDocSpaceBackupHistory: t.boolean({
    description: 'Deletes every backup in the history (of dump backups with dump: true).',
    args: { source: t.arg.string(), dump: t.arg.boolean() },
    resolve: (_, args, ctx) => docSpace(ctx, args.source).clearBackupHistory(args.dump ?? undefined),
  }),
  setDocSpaceBackupSchedule: t.field({
    type: ScheduleRef,
    nullable: true,
    description: 'Creates or replaces the backup schedule; answers it as the portal now reports it.',
    args: { source: t.arg.string(), input: t.arg({ type: ScheduleInput, required: true }) },
    resolve: (_, { source, input }, ctx) => {
      if (input.period === 'UNKNOWN') throw badInput('period must be EVERY_DAY, EVERY_WEEK or EVERY_MONTH', { argument: 'input.period' });
      const period = BACKUP_PERIODS.indexOf(input.period);
      const hour = checkRange(input.hour, 0, 23, 'input.hour');
      let day: number | null = null;
      if (input.period === 'EVERY_WEEK') day = checkRange(input.day ?? -1, 0, 7, 'input.day');
      if (input.period === 'EVERY_MONTH') day = checkRange(input.day ?? -1, 1, 31, 'input.day');
      const storageType = storageTypeIn(input.storageType);
      const storageParams = storageParamsIn(input.storageParams, 'input.storageParams');
      return docSpace(ctx, source).setBackupSchedule({
        cronParams: { period, hour, day },
        ...(storageType !== undefined ? { storageType } : {}),
        ...(storageParams ? { storageParams } : {}),
        ...(input.backupsStored != null ? { backupsStored: checkRange(input.backupsStored, 1, 30, 'input.backupsStored') } : {}),
        ...(input.dump != null ? { dump: input.dump } : {}),
      });
    },
  }),
  deleteDocSpaceBackupSchedule: t.boolean({
    args: { source: t.arg.string(), dump: t.arg.boolean() },
    resolve: (_, args, ctx) => docSpace(ctx, args.source).deleteBackupSchedule(args.dump ?? undefined),
  }),
}));
