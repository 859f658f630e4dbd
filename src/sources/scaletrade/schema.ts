import { badInput } from '../../errors.js';
import type { StreamStatus } from '../../live/stream-hub.js';
import { decodeGlobalId, encodeGlobalId } from '../../model/ids.js';
import type { OperationSnapshot } from '../../model/operation.js';
import type { GatewayContext } from '../../context.js';
import { builder } from '../../schema/builder.js';
import { OperationRef } from '../../schema/operation.js';
import { sourceEntryField, sourceNode } from '../../schema/source.js';
import {
  BACKUP_RUN_TYPENAME,
  RESTORE_RUN_TYPENAME,
  type ScaleTradeArtifact,
  type ScaleTradeBackupRunDetail,
  type ScaleTradeParticipant,
  type ScaleTradeRestoreParticipant,
  type ScaleTradeRestoreRunDetail,
} from './map.js';
import type { ScaleTradeSource } from './source.js';

/** ScaleTrade's part of the API: the `scaleTrade(source:)` entry, backup and restore runs, the session. */

function scaleTrade(ctx: GatewayContext, name: string | null | undefined): ScaleTradeSource {
  return ctx.registry.ofKind<ScaleTradeSource>('scaletrade', 'ScaleTrade', name ?? undefined);
}

function localId(id: string): string {
  return decodeGlobalId(id).id;
}

function pageSize(first: number | null | undefined): number {
  const n = first ?? 20;
  if (n < 0 || n > 500) throw badInput('first must be between 0 and 500', { argument: 'first' });
  return n;
}

const backup = (op: OperationSnapshot) => op.detail as ScaleTradeBackupRunDetail;
const restore = (op: OperationSnapshot) => op.detail as ScaleTradeRestoreRunDetail;

export const ScaleTradeArtifactRef = builder.objectRef<ScaleTradeArtifact>('ScaleTradeArtifact').implement({
  description: 'One file a participant produced, with its integrity and validation results.',
  fields: (t) => ({
    logicalName: t.exposeString('logicalName'),
    path: t.exposeString('path', { nullable: true }),
    sizeBytes: t.exposeFloat('sizeBytes', { nullable: true }),
    sha256: t.exposeString('sha256', { nullable: true }),
    integrityOk: t.exposeBoolean('integrityOk', { nullable: true }),
    integrityError: t.exposeString('integrityError', { nullable: true }),
    validationOk: t.exposeBoolean('validationOk', { nullable: true }),
    validationError: t.exposeString('validationError', { nullable: true }),
  }),
});

export const ScaleTradeParticipantRef = builder.objectRef<ScaleTradeParticipant & Partial<ScaleTradeRestoreParticipant>>('ScaleTradeParticipant').implement({
  description:
    'One module of a run (accounts, symbols, trades, …). A progress snapshot knows phase, percent and the artifact count; a run object knows critical, ok, error and the artifacts.',
  fields: (t) => ({
    name: t.exposeString('name'),
    vendorStatus: t.string({ description: 'pending, running, completed, failed, …', resolve: (p) => p.status }),
    phase: t.exposeString('phase', { nullable: true }),
    percent: t.exposeFloat('percent', { nullable: true }),
    message: t.exposeString('message', { nullable: true }),
    critical: t.exposeBoolean('critical', { nullable: true, description: 'A critical participant\'s failure fails the run; an optional one\'s makes it partial.' }),
    ok: t.exposeBoolean('ok', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
    artifactCount: t.exposeInt('artifactCount', { nullable: true }),
    sizeBytes: t.exposeFloat('sizeBytes', { nullable: true }),
    artifacts: t.field({ type: [ScaleTradeArtifactRef], resolve: (p) => p.artifacts }),
    startedAt: t.field({ type: 'DateTime', nullable: true, resolve: (p) => p.startedAt }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (p) => p.finishedAt }),
    safetySnapshotPath: t.string({ nullable: true, description: 'Restores only: where the state before the restore was saved.', resolve: (p) => p.safetySnapshotPath ?? null }),
    safetyArtifacts: t.field({ type: [ScaleTradeArtifactRef], description: 'Restores only.', resolve: (p) => p.safetyArtifacts ?? [] }),
  }),
});

export const ScaleTradeBackupRunRef = builder.objectRef<OperationSnapshot>('ScaleTradeBackupRun');
export const ScaleTradeRestoreRunRef = builder.objectRef<OperationSnapshot>('ScaleTradeRestoreRun');

builder.node(ScaleTradeBackupRunRef, {
  description: 'A ScaleTrade backup run: live from the backup.progress stream, or from GetBackupRun(s).',
  interfaces: [OperationRef],
  id: { resolve: (op) => localId(op.id) },
  isTypeOf: (op) => (op as OperationSnapshot).typename === BACKUP_RUN_TYPENAME,
  loadOne: async (id, ctx) => {
    const gid = encodeGlobalId(BACKUP_RUN_TYPENAME, id);
    const known = ctx.tracker.current(gid) ?? (await ctx.history.get(gid));
    if (known) return known;
    const [source, runId] = JSON.parse(id) as [string, string];
    return ctx.registry.has(source) ? scaleTrade(ctx, source).backupRun(runId) : null;
  },
  fields: (t) => ({
    runId: t.string({ resolve: (op) => backup(op).runId }),
    type: t.string({ nullable: true, description: 'full or scoped.', resolve: (op) => backup(op).type }),
    trigger: t.string({ nullable: true, description: 'manual, cron, pre_update, shutdown.', resolve: (op) => backup(op).trigger }),
    phase: t.string({ nullable: true, description: 'backup, validate, finalize, publish_remote, done, failed.', resolve: (op) => backup(op).phase }),
    active: t.boolean({ nullable: true, resolve: (op) => backup(op).active }),
    currentParticipant: t.string({ nullable: true, resolve: (op) => backup(op).currentParticipant }),
    overallPercent: t.float({ nullable: true, description: 'The vendor\'s own figure (progress.percent is 100 once completed).', resolve: (op) => backup(op).overallPercent }),
    participantsDone: t.int({ nullable: true, resolve: (op) => backup(op).participantsDone }),
    participantsTotal: t.int({ nullable: true, resolve: (op) => backup(op).participantsTotal }),
    remoteDone: t.int({ nullable: true, description: 'Uploads to remote backup servers done (publish_remote).', resolve: (op) => backup(op).remoteDone }),
    remoteTotal: t.int({ nullable: true, resolve: (op) => backup(op).remoteTotal }),
    path: t.string({ nullable: true, resolve: (op) => backup(op).path }),
    errorSummary: t.string({ nullable: true, resolve: (op) => backup(op).errorSummary }),
    requestedParticipants: t.stringList({ nullable: true, description: 'Empty for a full run.', resolve: (op) => backup(op).requestedParticipants }),
    participants: t.field({ type: [ScaleTradeParticipantRef], resolve: (op) => backup(op).participants }),
    artifacts: t.field({ type: [ScaleTradeArtifactRef], description: 'Every participant\'s artifacts (known once the run object was read).', resolve: (op) => backup(op).participants.flatMap((p) => p.artifacts) }),
  }),
});

builder.node(ScaleTradeRestoreRunRef, {
  description: 'A ScaleTrade restore run (GetRestoreRun(s), polled: restores are not pushed).',
  interfaces: [OperationRef],
  id: { resolve: (op) => localId(op.id) },
  isTypeOf: (op) => (op as OperationSnapshot).typename === RESTORE_RUN_TYPENAME,
  loadOne: async (id, ctx) => {
    const gid = encodeGlobalId(RESTORE_RUN_TYPENAME, id);
    const known = ctx.tracker.current(gid) ?? (await ctx.history.get(gid));
    if (known) return known;
    const [source, restoreId] = JSON.parse(id) as [string, string];
    return ctx.registry.has(source) ? scaleTrade(ctx, source).restoreRun(restoreId) : null;
  },
  fields: (t) => ({
    restoreId: t.string({ resolve: (op) => restore(op).restoreId }),
    sourceRunId: t.string({ nullable: true, resolve: (op) => restore(op).sourceRunId }),
    dryRun: t.boolean({ nullable: true, resolve: (op) => restore(op).dryRun }),
    force: t.boolean({ nullable: true, resolve: (op) => restore(op).force }),
    preRestorePath: t.string({ nullable: true, resolve: (op) => restore(op).preRestorePath }),
    errorSummary: t.string({ nullable: true, resolve: (op) => restore(op).errorSummary }),
    participantsDone: t.int({ resolve: (op) => restore(op).participantsDone }),
    participantsTotal: t.int({ resolve: (op) => restore(op).participantsTotal }),
    participants: t.field({ type: [ScaleTradeParticipantRef], resolve: (op) => restore(op).participants }),
  }),
});

const SessionStateEnum = builder.enumType('ScaleTradeSessionState', {
  values: {
    IDLE: { description: 'Nobody watches: no session is held.' },
    CONNECTING: {},
    CONNECTED: { description: 'Connected and subscribed to backup.progress.' },
    RECONNECTING: { description: 'The session dropped or could not be opened; retrying with backoff.' },
    FOLLOWING: { description: 'Another gateway instance holds the session and relays its events to this one.' },
    CLOSED: { description: 'The gateway is shutting down.' },
  },
});

const ScaleTradeSessionRef = builder.objectRef<StreamStatus & { polling: boolean }>('ScaleTradeSession').implement({
  description: 'The managed session that follows backup.progress for this source.',
  fields: (t) => ({
    state: t.field({ type: SessionStateEnum, resolve: (s) => s.state }),
    connectedAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.connectedAt }),
    lastEventAt: t.field({ type: 'DateTime', nullable: true, description: 'The last progress state received (pushed, resynchronised or polled).', resolve: (s) => s.lastEventAt }),
    reconnects: t.exposeInt('reconnects'),
    polling: t.exposeBoolean('polling', { description: 'A run is active and the stream is silent: GetBackupProgress is polled meanwhile.' }),
  }),
});

export const ScaleTradeSourceRef = builder.objectRef<ScaleTradeSource>('ScaleTradeSource');

builder.node(ScaleTradeSourceRef, {
  ...sourceNode<ScaleTradeSource>('scaletrade'),
  description: 'A configured ScaleTrade command server: its backup and restore runs and the managed progress session.',
  fields: (t) => ({
    current: t.field({ type: ScaleTradeBackupRunRef, nullable: true, description: 'The backup run in flight, or null.', resolve: (s) => s.currentRun() }),
    runs: t.field({
      type: [ScaleTradeBackupRunRef],
      description: 'GetBackupRuns, newest first (the run in flight first).',
      args: { first: t.arg.int() },
      resolve: (s, args) => s.backupRuns(pageSize(args.first)),
    }),
    run: t.field({ type: ScaleTradeBackupRunRef, nullable: true, args: { runId: t.arg.string({ required: true }) }, resolve: (s, args) => s.backupRun(args.runId) }),
    restoreRuns: t.field({
      type: [ScaleTradeRestoreRunRef],
      description: 'GetRestoreRuns, newest first.',
      args: { first: t.arg.int() },
      resolve: (s, args) => s.restoreRuns(pageSize(args.first)),
    }),
    restoreRun: t.field({ type: ScaleTradeRestoreRunRef, nullable: true, args: { restoreId: t.arg.string({ required: true }) }, resolve: (s, args) => s.restoreRun(args.restoreId) }),
    session: t.field({ type: ScaleTradeSessionRef, resolve: (s) => s.session() }),
  }),
});

sourceEntryField<ScaleTradeSource>('scaleTrade', 'scaletrade', ScaleTradeSourceRef, 'ScaleTrade');

function participantNames(value: readonly string[] | null | undefined): string[] | undefined {
  if (value == null) return undefined;
  if (value.some((name) => name.trim() === '')) throw badInput('participants must be participant names', { argument: 'participants' });
  return [...value];
}

builder.mutationFields((t) => ({
  startScaleTradeBackup: t.field({
    type: ScaleTradeBackupRunRef,
    description:
      'Starts a backup (StartFullBackup; scoped when participants are given) and returns the run as soon as the server shows it, RUNNING — not when it ends. Follow it with operationUpdated. A run already in progress is CONFLICT.',
    args: { source: t.arg.string(), participants: t.arg.stringList() },
    resolve: (_, args, ctx) => scaleTrade(ctx, args.source).startBackup(participantNames(args.participants)),
  }),
  startScaleTradeRestore: t.field({
    type: ScaleTradeRestoreRunRef,
    description: 'Starts a restore from a completed backup run (StartRestoreRun) and returns it as soon as the server shows it.',
    args: {
      source: t.arg.string(),
      runId: t.arg.string({ required: true }),
      participants: t.arg.stringList(),
      dryRun: t.arg.boolean(),
      force: t.arg.boolean(),
    },
    resolve: (_, args, ctx) => {
      const participants = participantNames(args.participants);
      return scaleTrade(ctx, args.source).startRestore({
        runId: args.runId,
        ...(participants ? { participants } : {}),
        ...(args.dryRun != null ? { dryRun: args.dryRun } : {}),
        ...(args.force != null ? { force: args.force } : {}),
      });
    },
  }),
}));
