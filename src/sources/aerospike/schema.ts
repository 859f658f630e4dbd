import { badInput, GatewayError } from '../../errors.js';
import { decodeGlobalId, encodeGlobalId, typenameOfGlobalId } from '../../model/ids.js';
import type { OperationSnapshot, OperationStatus } from '../../model/operation.js';
import type { GatewayContext } from '../../context.js';
import { builder } from '../../schema/builder.js';
import { OperationRef, OperationStatusEnum } from '../../schema/operation.js';
import { sourceEntryField, sourceNode } from '../../schema/source.js';
import type { AbsRestoreTarget, BackupMode } from './client.js';
import {
  BACKUP_RUN_TYPENAME,
  BACKUP_TYPENAME,
  RESTORE_JOB_TYPENAME,
  mapRoutineSchedule,
  type AerospikeBackupModel,
  type AerospikeClusterModel,
  type AerospikeRoutineModel,
  type AerospikeStorageModel,
  type AerospikeVersionModel,
  type BackupRunDetail,
  type RestoreJobDetail,
  type RunningJobDetail,
} from './map.js';
import type { AerospikeSource, RestoreRequest } from './source.js';

/**
 * Aerospike Backup Service's part of the API: AerospikeSource (the `aerospike(source:)` entry),
 * routines, backup runs, finished backups, restore jobs, cluster and storage configuration, and
 * the trigger / cancel / restore mutations. Secrets in configuration answers are `[secret]`
 * (map.ts scrubs them); inline restore credentials go to ABS and nowhere else.
 */

const KIND = 'aerospike-backup-service';
const VENDOR = 'Aerospike Backup Service';

function aerospike(ctx: GatewayContext, name: string | null | undefined): AerospikeSource {
  return ctx.registry.ofKind<AerospikeSource>(KIND, VENDOR, name ?? undefined);
}

function localId(id: string): string {
  return decodeGlobalId(id).id;
}

const toMs = (value: string | null | undefined): number | undefined => (value == null ? undefined : Date.parse(value));
const wireMode = (mode: 'FULL' | 'INCREMENTAL' | null | undefined): BackupMode | undefined => (mode == null ? undefined : mode === 'FULL' ? 'full' : 'incremental');

const BackupModeEnum = builder.enumType('AerospikeBackupMode', {
  description: 'Full or incremental.',
  values: ['FULL', 'INCREMENTAL'] as const,
});

const VersionRef = builder.objectRef<AerospikeVersionModel>('AerospikeVersion').implement({
  description: 'GET /version: JSON with build time and commit on newer builds, the bare version on older ones.',
  fields: (t) => ({
    version: t.exposeString('version'),
    buildTime: t.exposeString('buildTime', { nullable: true }),
    commit: t.exposeString('commit', { nullable: true }),
    format: t.exposeString('format', { description: '`json` or `text`: how this build answers.' }),
  }),
});

const RunningJobRef = builder.objectRef<RunningJobDetail>('AerospikeRunningJob').implement({
  description: 'ABS RunningJob: the live figures of a backup run or of a restore job\'s current-job.',
  fields: (t) => ({
    totalRecords: t.exposeFloat('totalRecords', { nullable: true }),
    doneRecords: t.exposeFloat('doneRecords', { nullable: true }),
    percentageDone: t.exposeFloat('percentageDone', { nullable: true, description: 'As ABS reports it (may be absent).' }),
    startTime: t.field({ type: 'DateTime', nullable: true, resolve: (j) => j.startTime }),
    finishTime: t.field({ type: 'DateTime', nullable: true, resolve: (j) => j.finishTime }),
    estimatedEndTime: t.field({ type: 'DateTime', nullable: true, resolve: (j) => j.estimatedEndTime }),
    durationSeconds: t.exposeFloat('durationSeconds', { nullable: true }),
    recordsPerSecond: t.exposeFloat('recordsPerSecond', { nullable: true }),
    kilobytesPerSecond: t.exposeFloat('kilobytesPerSecond', { nullable: true }),
    pipeline: t.exposeFloat('pipeline', { nullable: true }),
  }),
});

export const AerospikeBackupRef = builder.objectRef<AerospikeBackupModel>(BACKUP_TYPENAME);
export const AerospikeRoutineRef = builder.objectRef<AerospikeRoutineModel & { source: string }>('AerospikeRoutine');
export const AerospikeBackupRunRef = builder.objectRef<OperationSnapshot>(BACKUP_RUN_TYPENAME);
export const AerospikeRestoreJobRef = builder.objectRef<OperationSnapshot>(RESTORE_JOB_TYPENAME);

builder.node(AerospikeBackupRef, {
  description: 'A finished backup (one namespace of one run); its `key` is the input of a restore.',
  id: { resolve: (b) => localId(b.id) },
  isTypeOf: (value) => typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string' && typenameOfGlobalId((value as { id: string }).id) === BACKUP_TYPENAME,
  loadOne: async (id, ctx) => {
    const [source, key] = JSON.parse(id) as [string, string];
    return aerospike(ctx, source).backup(key);
  },
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The backup-data-path: pass it as `key` to restoreAerospikeBackup.' }),
    routine: t.exposeString('routine'),
    mode: t.field({ type: BackupModeEnum, resolve: (b) => b.mode }),
    namespace: t.exposeString('namespace', { nullable: true }),
    createdAt: t.field({ type: 'DateTime', nullable: true, resolve: (b) => b.createdAt }),
    timestamp: t.exposeFloat('timestamp', { nullable: true, description: 'Creation time in epoch ms, as sent.' }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (b) => b.finishedAt }),
    finishedTimestamp: t.exposeFloat('finishedTimestamp', { nullable: true, description: 'Epoch ms (newest builds).' }),
    durationSeconds: t.exposeFloat('durationSeconds', { nullable: true }),
    from: t.field({ type: 'DateTime', nullable: true, description: 'Lower bound of an incremental; null for fulls.', resolve: (b) => b.from }),
    recordCount: t.exposeFloat('recordCount', { nullable: true }),
    byteCount: t.exposeFloat('byteCount', { nullable: true }),
    fileCount: t.exposeInt('fileCount', { nullable: true }),
    secondaryIndexCount: t.exposeInt('secondaryIndexCount', { nullable: true }),
    udfCount: t.exposeInt('udfCount', { nullable: true }),
    compression: t.exposeString('compression', { nullable: true, description: 'ZSTD or NONE.' }),
    encryption: t.exposeString('encryption', { nullable: true, description: 'NONE, AES128 or AES256.' }),
    storage: t.field({ type: 'JSON', nullable: true, description: 'Where it is stored (secrets replaced by [secret]).', resolve: (b) => b.storage }),
  }),
});

/** A run, with the routine's schedule read from the same (shared) currentBackup call. */
async function routineNow(routine: AerospikeRoutineModel & { source: string }, ctx: GatewayContext) {
  return aerospike(ctx, routine.source).routineState(routine.name);
}

builder.node(AerospikeRoutineRef, {
  description: 'A backup routine (`/v1/config/routines`) with its schedule and running runs (`currentBackup`).',
  id: { resolve: (r) => JSON.stringify([r.source, r.name]) },
  isTypeOf: (value) => typeof value === 'object' && value !== null && 'intervalCron' in value && 'sourceCluster' in value,
  loadOne: async (id, ctx) => {
    const [source, name] = JSON.parse(id) as [string, string];
    const routine = await aerospike(ctx, source).routine(name);
    return routine && { ...routine, source };
  },
  fields: (t) => ({
    name: t.exposeString('name'),
    sourceCluster: t.exposeString('sourceCluster'),
    storage: t.exposeString('storage'),
    intervalCron: t.exposeString('intervalCron'),
    incrementalIntervalCron: t.exposeString('incrementalIntervalCron', { nullable: true }),
    namespaces: t.exposeStringList('namespaces'),
    backupPolicy: t.exposeString('backupPolicy', { nullable: true }),
    setList: t.exposeStringList('setList'),
    binList: t.exposeStringList('binList'),
    nodeList: t.field({ type: 'JSON', resolve: (r) => r.nodeList }),
    partitionList: t.exposeString('partitionList', { nullable: true }),
    rackList: t.field({ type: 'JSON', resolve: (r) => r.rackList }),
    preferRacks: t.field({ type: 'JSON', resolve: (r) => r.preferRacks }),
    filterExp: t.exposeString('filterExp', { nullable: true }),
    disabled: t.exposeBoolean('disabled'),
    secretAgent: t.exposeString('secretAgent', { nullable: true }),
    scheduleTimezone: t.exposeString('scheduleTimezone', { nullable: true }),
    config: t.field({ type: 'JSON', description: 'The whole routine as ABS sends it (secrets replaced).', resolve: (r) => r.config }),
    lastFullAt: t.field({ type: 'DateTime', nullable: true, resolve: async (r, _, ctx) => mapRoutineSchedule((await routineNow(r, ctx)).state).lastFullAt }),
    lastIncrementalAt: t.field({ type: 'DateTime', nullable: true, resolve: async (r, _, ctx) => mapRoutineSchedule((await routineNow(r, ctx)).state).lastIncrementalAt }),
    nextFullAt: t.field({ type: 'DateTime', nullable: true, resolve: async (r, _, ctx) => mapRoutineSchedule((await routineNow(r, ctx)).state).nextFullAt }),
    nextIncrementalAt: t.field({ type: 'DateTime', nullable: true, resolve: async (r, _, ctx) => mapRoutineSchedule((await routineNow(r, ctx)).state).nextIncrementalAt }),
    running: t.field({
      type: [AerospikeBackupRunRef],
      description: 'Runs in progress now: a full and an incremental may run at once.',
      resolve: async (r, _, ctx) => (await routineNow(r, ctx)).running,
    }),
    backups: t.field({
      type: [AerospikeBackupRef],
      nullable: { list: false, items: true },
      description: 'Finished backups of this routine, oldest first; one ABS sent that cannot be read is null with an error.',
      args: { mode: t.arg({ type: BackupModeEnum }), from: t.arg({ type: 'DateTime' }), to: t.arg({ type: 'DateTime' }) },
      resolve: (r, args, ctx) =>
        aerospike(ctx, r.source).backups({ routine: r.name, mode: wireMode(args.mode), from: toMs(args.from), to: toMs(args.to) }) as Promise<AerospikeBackupModel[]>,
    }),
  }),
});

builder.node(AerospikeBackupRunRef, {
  description: 'A running full or incremental backup of one routine, from `currentBackup`; SUCCEEDED once it left it and its backup is listed.',
  interfaces: [OperationRef],
  id: { resolve: (op) => localId(op.id) },
  isTypeOf: (op) => (op as OperationSnapshot).typename === BACKUP_RUN_TYPENAME,
  loadOne: async (id, ctx) => {
    const gid = encodeGlobalId(BACKUP_RUN_TYPENAME, id);
    return ctx.tracker.current(gid) ?? (await ctx.history.get(gid)) ?? null;
  },
  fields: (t) => ({
    routineName: t.string({ resolve: (op) => (op.detail as BackupRunDetail).routine }),
    routine: t.field({
      type: AerospikeRoutineRef,
      nullable: true,
      description: 'The routine now (null when it is no longer configured).',
      resolve: async (op, _, ctx) => {
        const routine = await aerospike(ctx, op.source).routine((op.detail as BackupRunDetail).routine);
        return routine && { ...routine, source: op.source };
      },
    }),
    mode: t.field({ type: BackupModeEnum, resolve: (op) => (op.detail as BackupRunDetail).mode }),
    job: t.field({ type: RunningJobRef, description: 'The RunningJob as ABS last reported it.', resolve: (op) => op.detail as BackupRunDetail }),
    recordsPerSecond: t.float({ nullable: true, resolve: (op) => (op.detail as BackupRunDetail).recordsPerSecond }),
    kilobytesPerSecond: t.float({ nullable: true, resolve: (op) => (op.detail as BackupRunDetail).kilobytesPerSecond }),
    pipeline: t.float({ nullable: true, resolve: (op) => (op.detail as BackupRunDetail).pipeline }),
    previousRunAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'The routine\'s last run of this mode when this one was seen (identifies a run ABS gave no start time).',
      resolve: (op) => (op.detail as BackupRunDetail).lastRunAt,
    }),
    backupKeys: t.stringList({ description: 'Keys of the backups this run produced (once SUCCEEDED).', resolve: (op) => (op.detail as BackupRunDetail).backupKeys }),
  }),
});

builder.node(AerospikeRestoreJobRef, {
  description: 'An ABS restore job (`/v1/restore/status/{jobId}`) with every counter ABS reports.',
  interfaces: [OperationRef],
  id: { resolve: (op) => localId(op.id) },
  isTypeOf: (op) => (op as OperationSnapshot).typename === RESTORE_JOB_TYPENAME,
  loadOne: async (id, ctx) => {
    const gid = encodeGlobalId(RESTORE_JOB_TYPENAME, id);
    return ctx.tracker.current(gid) ?? (await ctx.history.get(gid)) ?? null;
  },
  fields: (t) => {
    const detail = (op: OperationSnapshot) => op.detail as RestoreJobDetail;
    const count = (name: keyof RestoreJobDetail, description?: string) =>
      t.float({ ...(description ? { description } : {}), resolve: (op) => detail(op)[name] as number });
    return {
      jobId: t.string({ description: 'ABS\'s job id (int64, as a decimal string).', resolve: (op) => detail(op).jobId }),
      error: t.string({ nullable: true, description: 'ABS\'s error text for a failed job.', resolve: (op) => detail(op).error }),
      readRecords: count('readRecords'),
      insertedRecords: count('insertedRecords'),
      existedRecords: count('existedRecords'),
      fresherRecords: count('fresherRecords'),
      skippedRecords: count('skippedRecords'),
      ignoredRecords: count('ignoredRecords'),
      expiredRecords: count('expiredRecords'),
      totalBytes: count('totalBytes'),
      indexCount: count('indexCount'),
      udfCount: count('udfCount'),
      errorsInDoubt: count('errorsInDoubt'),
      currentJob: t.field({ type: RunningJobRef, nullable: true, resolve: (op) => detail(op).currentJob }),
      recordsPerSecond: t.float({ nullable: true, resolve: (op) => detail(op).recordsPerSecond }),
      kilobytesPerSecond: t.float({ nullable: true, resolve: (op) => detail(op).kilobytesPerSecond }),
      pipeline: t.float({ nullable: true, resolve: (op) => detail(op).pipeline }),
      forgotten: t.boolean({ description: 'ABS no longer knows the job (it keeps jobs in memory only); its outcome is unknown.', resolve: (op) => detail(op).forgotten }),
    };
  },
});

const SeedNodeRef = builder.objectRef<AerospikeClusterModel['seedNodes'][number]>('AerospikeSeedNode').implement({
  fields: (t) => ({
    hostName: t.exposeString('hostName'),
    port: t.exposeInt('port'),
    tlsName: t.exposeString('tlsName', { nullable: true }),
  }),
});

const CredentialsRef = builder.objectRef<NonNullable<AerospikeClusterModel['credentials']>>('AerospikeCredentials').implement({
  fields: (t) => ({
    user: t.exposeString('user', { nullable: true }),
    password: t.exposeString('password', { nullable: true, description: 'Never the password: `[secret]` when one is set, else null.' }),
    passwordPath: t.exposeString('passwordPath', { nullable: true }),
    authMode: t.exposeString('authMode', { nullable: true }),
  }),
});

const ClusterRef = builder.objectRef<AerospikeClusterModel>('AerospikeCluster').implement({
  description: 'A cluster from `/v1/config/clusters`; passwords and other secrets are `[secret]`.',
  fields: (t) => ({
    name: t.exposeString('name'),
    label: t.exposeString('label', { nullable: true }),
    seedNodes: t.field({ type: [SeedNodeRef], resolve: (c) => c.seedNodes }),
    credentials: t.field({ type: CredentialsRef, nullable: true, resolve: (c) => c.credentials }),
    connTimeoutMs: t.exposeFloat('connTimeoutMs', { nullable: true }),
    maxParallelScans: t.exposeInt('maxParallelScans', { nullable: true }),
    useServicesAlternate: t.exposeBoolean('useServicesAlternate', { nullable: true }),
    tls: t.field({ type: 'JSON', nullable: true, resolve: (c) => c.tls }),
    config: t.field({ type: 'JSON', description: 'The whole cluster object, secrets replaced.', resolve: (c) => c.config }),
  }),
});

const StorageRef = builder.objectRef<AerospikeStorageModel>('AerospikeStorage').implement({
  description: 'A storage from `/v1/config/storage`; keys and secrets are `[secret]`.',
  fields: (t) => ({
    name: t.exposeString('name'),
    type: t.exposeString('type', { nullable: true, description: 'local, s3, azure, gcp (or the raw kind).' }),
    path: t.exposeString('path', { nullable: true }),
    bucket: t.exposeString('bucket', { nullable: true }),
    region: t.exposeString('region', { nullable: true }),
    config: t.field({ type: 'JSON', resolve: (s) => s.config }),
  }),
});

export const AerospikeSourceRef = builder.objectRef<AerospikeSource>('AerospikeSource');

builder.node(AerospikeSourceRef, {
  ...sourceNode<AerospikeSource>(KIND),
  description: 'A configured Aerospike Backup Service: routines, runs, backups, restore jobs and configuration.',
  fields: (t) => ({
    versionInfo: t.field({ type: VersionRef, nullable: true, description: 'Version, build time and commit.', resolve: (s) => s.versionInfo() }),
    routines: t.field({
      type: [AerospikeRoutineRef],
      nullable: { list: false, items: true },
      description: 'Every configured routine; one ABS sent that cannot be read is null with an error.',
      resolve: async (s) => (await s.routines()).map((r) => (r instanceof GatewayError ? r : { ...r, source: s.name })) as Array<AerospikeRoutineModel & { source: string }>,
    }),
    routine: t.field({
      type: AerospikeRoutineRef,
      nullable: true,
      args: { name: t.arg.string({ required: true }) },
      resolve: async (s, args) => {
        const routine = await s.routine(args.name);
        return routine && { ...routine, source: s.name };
      },
    }),
    backups: t.field({
      type: [AerospikeBackupRef],
      nullable: { list: false, items: true },
      description: 'Finished backups (of one routine, or all), oldest first; `from`/`to` bound their creation time.',
      args: {
        routine: t.arg.string(),
        mode: t.arg({ type: BackupModeEnum, description: 'Default: both.' }),
        from: t.arg({ type: 'DateTime' }),
        to: t.arg({ type: 'DateTime' }),
      },
      resolve: (s, args) =>
        s.backups({ routine: args.routine ?? undefined, mode: wireMode(args.mode), from: toMs(args.from), to: toMs(args.to) }) as Promise<AerospikeBackupModel[]>,
    }),
    restoreJobs: t.field({
      type: [AerospikeRestoreJobRef],
      nullable: { list: false, items: true },
      description: 'Restore jobs ABS knows (it forgets them on restart), by start time; `excludeStatuses` is ABS\'s `!` filter. Statuses are re-checked by the gateway.',
      args: {
        statuses: t.arg({ type: [OperationStatusEnum] }),
        excludeStatuses: t.arg({ type: [OperationStatusEnum] }),
        from: t.arg({ type: 'DateTime', description: 'Started at or after.' }),
        to: t.arg({ type: 'DateTime', description: 'Started at or before.' }),
      },
      resolve: (s, args) =>
        s.restoreJobs({
          statuses: args.statuses as OperationStatus[] | null,
          excludeStatuses: args.excludeStatuses as OperationStatus[] | null,
          from: toMs(args.from),
          to: toMs(args.to),
        }) as Promise<OperationSnapshot[]>,
    }),
    restoreJob: t.field({
      type: AerospikeRestoreJobRef,
      nullable: true,
      description: 'One job; null when neither ABS nor the history knows it.',
      args: { jobId: t.arg.string({ required: true }) },
      resolve: (s, args) => s.restoreJob(args.jobId),
    }),
    clusters: t.field({ type: [ClusterRef], nullable: { list: false, items: true }, resolve: async (s) => (await s.clusters()) as AerospikeClusterModel[] }),
    storage: t.field({ type: [StorageRef], nullable: { list: false, items: true }, resolve: async (s) => (await s.storage()) as AerospikeStorageModel[] }),
  }),
});

sourceEntryField('aerospike', KIND, AerospikeSourceRef, VENDOR);

// ------------------------------------------------------------------ mutations

const SeedNodeInput = builder.inputType('AerospikeSeedNodeInput', {
  fields: (t) => ({
    hostName: t.string({ required: true }),
    port: t.int({ required: true }),
    tlsName: t.string(),
  }),
});

const CredentialsInput = builder.inputType('AerospikeCredentialsInput', {
  description: 'Passed to ABS as is; never logged, stored or returned.',
  fields: (t) => ({
    user: t.string({ required: true }),
    password: t.string(),
    passwordPath: t.string(),
    authMode: t.string({ description: 'INTERNAL, EXTERNAL, EXTERNAL_INSECURE or PKI.' }),
  }),
});

const ClusterInput = builder.inputType('AerospikeClusterInput', {
  description: 'An inline destination cluster (instead of a configured one by name).',
  fields: (t) => ({
    seedNodes: t.field({ type: [SeedNodeInput], required: true }),
    credentials: t.field({ type: CredentialsInput }),
    label: t.string(),
    connTimeoutMs: t.int(),
    useServicesAlternate: t.boolean(),
    tls: t.field({ type: 'JSON', description: 'ABS TLS object, passed through.' }),
  }),
});

const RestoreInput = builder.inputType('AerospikeRestoreInput', {
  description: 'Either `key` (a backup\'s key) or `routine` and `time` (the last full before it plus the incrementals up to it).',
  fields: (t) => ({
    key: t.string({ description: 'AerospikeBackup.key (backup-data-path).' }),
    mode: t.field({ type: BackupModeEnum, description: 'With `key`: the kind of backup it is (default FULL).' }),
    routine: t.string(),
    time: t.field({ type: 'DateTime' }),
    destination: t.string({ description: 'A configured cluster by name.' }),
    destinationCluster: t.field({ type: ClusterInput, description: 'Or an inline cluster.' }),
    storage: t.string({ description: 'With `key`: a configured storage by name.' }),
    sourceStorage: t.field({ type: 'JSON', description: 'With `key`: or an inline storage object (as AerospikeBackup.storage shows it).' }),
    secretAgent: t.string({ description: 'A configured secret agent by name.' }),
    policy: t.field({ type: 'JSON', description: 'ABS restore policy, e.g. {"no-generation": true}.' }),
    disableReordering: t.boolean({ description: 'With `routine` and `time`.' }),
  }),
});

type RestoreInputShape = typeof RestoreInput.$inferInput;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Turns the GraphQL input into ABS's body; every rule ABS would answer with a bare 400 is checked here first. */
export function restoreRequest(input: RestoreInputShape): RestoreRequest {
  const byKey = input.key != null;
  const byTime = input.routine != null || input.time != null;
  if (byKey === byTime) throw badInput('give either key, or routine and time', { argument: 'input' });
  if (byTime && (input.routine == null || input.time == null)) throw badInput('routine and time go together', { argument: input.routine == null ? 'input.routine' : 'input.time' });
  if (input.destination != null && input.destinationCluster != null) throw badInput('give destination or destinationCluster, not both', { argument: 'input.destinationCluster' });
  if (input.storage != null && input.sourceStorage != null) throw badInput('give storage or sourceStorage, not both', { argument: 'input.sourceStorage' });
  if (byKey && input.destination == null && input.destinationCluster == null) throw badInput('a restore by key needs destination or destinationCluster', { argument: 'input.destination' });
  if (byKey && input.storage == null && input.sourceStorage == null) throw badInput('a restore by key needs storage or sourceStorage (AerospikeBackup.storage)', { argument: 'input.storage' });
  if (byTime && (input.storage != null || input.sourceStorage != null)) throw badInput('storage applies to a restore by key; by time, ABS reads the routine\'s storage', { argument: 'input.storage' });
  if (byKey && input.disableReordering != null) throw badInput('disableReordering applies to a restore by routine and time', { argument: 'input.disableReordering' });
  if (input.sourceStorage != null && !isObject(input.sourceStorage)) throw badInput('sourceStorage must be a JSON object', { argument: 'input.sourceStorage' });
  if (input.policy != null && !isObject(input.policy)) throw badInput('policy must be a JSON object', { argument: 'input.policy' });
  if (input.key === '') throw badInput('key cannot be empty', { argument: 'input.key' });

  const target: AbsRestoreTarget = {};
  if (input.destination != null) target['destination-name'] = input.destination;
  if (input.destinationCluster != null) target.destination = clusterBody(input.destinationCluster);
  if (input.storage != null) target['source-name'] = input.storage;
  if (input.sourceStorage != null) target.source = input.sourceStorage as Record<string, unknown>;
  if (input.secretAgent != null) target['secret-agent-name'] = input.secretAgent;
  if (input.policy != null) target.policy = input.policy as Record<string, unknown>;
  return {
    key: input.key ?? undefined,
    mode: wireMode(input.mode),
    routine: input.routine ?? undefined,
    time: toMs(input.time),
    disableReordering: input.disableReordering ?? undefined,
    target,
  };
}

function clusterBody(cluster: NonNullable<RestoreInputShape['destinationCluster']>): Record<string, unknown> {
  if (cluster.seedNodes.length === 0) throw badInput('destinationCluster.seedNodes needs at least one node', { argument: 'input.destinationCluster.seedNodes' });
  if (cluster.tls != null && !isObject(cluster.tls)) throw badInput('destinationCluster.tls must be a JSON object', { argument: 'input.destinationCluster.tls' });
  const c = cluster.credentials;
  return {
    'seed-nodes': cluster.seedNodes.map((n) => ({ 'host-name': n.hostName, port: n.port, ...(n.tlsName != null ? { 'tls-name': n.tlsName } : {}) })),
    ...(c
      ? {
          credentials: {
            user: c.user,
            ...(c.password != null ? { password: c.password } : {}),
            ...(c.passwordPath != null ? { 'password-path': c.passwordPath } : {}),
            ...(c.authMode != null ? { 'auth-mode': c.authMode } : {}),
          },
        }
      : {}),
    ...(cluster.label != null ? { label: cluster.label } : {}),
    ...(cluster.connTimeoutMs != null ? { 'conn-timeout': cluster.connTimeoutMs } : {}),
    ...(cluster.useServicesAlternate != null ? { 'use-services-alternate': cluster.useServicesAlternate } : {}),
    ...(cluster.tls != null ? { tls: cluster.tls } : {}),
  };
}

builder.mutationFields((t) => ({
  triggerAerospikeBackup: t.field({
    type: AerospikeBackupRunRef,
    description:
      'Triggers a run and returns it once ABS shows it started (in currentBackup, or as a new backup when it finished between two looks). ABS accepts every trigger with 202 but skips some: then NOT_STARTED with the reason. Waits at most delayMs plus the source\'s triggerConfirmMs.',
    args: {
      source: t.arg.string(),
      routine: t.arg.string({ required: true }),
      mode: t.arg({ type: BackupModeEnum, defaultValue: 'FULL' }),
      delayMs: t.arg.int({ description: 'ABS waits this long before it starts (at least 50 ms).' }),
    },
    resolve: (_, args, ctx) => {
      if (args.delayMs != null && (args.delayMs < 0 || args.delayMs > 3_600_000)) throw badInput('delayMs must be between 0 and 3,600,000', { argument: 'delayMs' });
      return aerospike(ctx, args.source).triggerBackup(args.routine, wireMode(args.mode) ?? 'full', args.delayMs ?? undefined);
    },
  }),
  cancelAerospikeBackups: t.boolean({
    description: 'Cancels the routine\'s running full and incremental (ABS deletes their partial backups); they end CANCELLED.',
    args: { source: t.arg.string(), routine: t.arg.string({ required: true }) },
    resolve: async (_, args, ctx) => {
      await aerospike(ctx, args.source).cancelBackups(args.routine);
      return true;
    },
  }),
  restoreAerospikeBackup: t.field({
    type: AerospikeRestoreJobRef,
    description: 'Starts a restore (by backup key, or by routine and time) and returns its job; follow it with operationUpdated.',
    args: { source: t.arg.string(), input: t.arg({ type: RestoreInput, required: true }) },
    resolve: (_, args, ctx) => aerospike(ctx, args.source).restore(restoreRequest(args.input)),
  }),
  cancelAerospikeRestore: t.field({
    type: AerospikeRestoreJobRef,
    description: 'Cancels a restore job (data already restored stays); returns the job as ABS shows it after the cancel.',
    args: { source: t.arg.string(), jobId: t.arg.string({ required: true }) },
    resolve: (_, args, ctx) => aerospike(ctx, args.source).cancelRestore(args.jobId),
  }),
}));
