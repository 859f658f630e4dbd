import { readFileSync } from 'node:fs';
import { GatewayError, isGatewayError } from '../../errors.js';
import type { DecodedId } from '../../model/ids.js';
import { isFinal, type OperationSnapshot, type OperationStatus } from '../../model/operation.js';
import type { SourceServices } from '../kind.js';
import { isoTimestamp } from '../decode.js';
import { PolledSource, type Listing, type PolledScope } from '../polled.js';
import { ABS_UPSTREAM, AerospikeClient, type AbsRestoreTarget, type BackupMode, type TimeRange } from './client.js';
import type { AerospikeSourceConfig } from './kind.js';
import {
  BACKUP_RUN_TYPENAME,
  RESTORE_JOB_TYPENAME,
  backupOutcomeBetween,
  backupRunId,
  backupRunSnapshot,
  closeBackupRun,
  closeRestoreJob,
  decodeBackupDetails,
  decodeCluster,
  decodeRestoreJobStatus,
  decodeRoutine,
  decodeRoutineState,
  decodeStorage,
  decodeVersion,
  isBackupRunInFlight,
  listItems,
  mapBackup,
  mapCluster,
  mapEntries,
  mapRoutine,
  mapStorage,
  mapVersion,
  matchesRestoreStatuses,
  parseBackupEvents,
  restoreJobId,
  restoreJobSnapshot,
  restoreStatusFilterValues,
  runningBackups,
  triggerSkipReason,
  type AerospikeBackupModel,
  type AerospikeClusterModel,
  type AerospikeRestoreJobItem,
  type AerospikeRoutineModel,
  type AerospikeRunningBackup,
  type AerospikeStorageModel,
  type AerospikeVersionModel,
  type BackupDetailsWire,
  type BackupEventCount,
  type BackupOutcome,
  type BackupRunDetail,
  type RestoreJobDetail,
  type RoutineStateWire,
} from './map.js';

/**
 * One configured Aerospike Backup Service (docs/upstreams/aerospike-backup-service.md). Scopes:
 * one per routine (`currentBackup/{routine}`: its running full and incremental), one listing of
 * the restore jobs in flight (so that jobs started anywhere show up), and one per restore job
 * being followed (`restore/status/{id}`). A scope's fetch also brings the evidence its close rule
 * needs — the backup list when a run left `currentBackup`, the status of a job that left the
 * in-flight listing — so closing stays a pure decision on what the same look saw.
 */

/** What one look at ABS shows, item by item (PolledSource's Item). */
export type AbsItem =
  | { type: 'state'; routine: string; state: RoutineStateWire }
  | { type: 'backups'; routine: string; mode: BackupMode; backups: BackupDetailsWire[] }
  /** What `/metrics` counted for a run that left `currentBackup`, since the run was first seen. */
  | { type: 'outcome'; runId: string; outcome: BackupOutcome | null }
  | { type: 'restore'; jobId: string; job: AerospikeRestoreJobItem['job'] }
  /** The status call answered 404: ABS no longer knows the job; `last`: what the gateway saw last. */
  | { type: 'gone'; jobId: string; last?: OperationSnapshot | undefined };

/** The raw form fetch() returns; decode() reads the wire payload. */
type RawItem =
  | { type: 'state'; routine: string; raw: unknown }
  | { type: 'backups'; routine: string; mode: BackupMode; raw: unknown }
  | { type: 'outcome'; runId: string; outcome: BackupOutcome | null }
  | { type: 'restore'; jobId: string; raw: unknown }
  | { type: 'gone'; jobId: string; last?: OperationSnapshot | undefined };

export interface RestoreRequest {
  /** A backup's key (`backup-data-path`), restored with the full or incremental endpoint. */
  key?: string | undefined;
  mode?: BackupMode | undefined;
  /** Or a routine and a point in time (epoch ms): the last full before it plus the incrementals up to it. */
  routine?: string | undefined;
  time?: number | undefined;
  disableReordering?: boolean | undefined;
  target: AbsRestoreTarget;
}

export interface RestoreJobsQuery extends TimeRange {
  statuses?: readonly OperationStatus[] | null | undefined;
  excludeStatuses?: readonly OperationStatus[] | null | undefined;
}

/** A config answer's entry: the model, or the error of an entry that could not be read. */
export type Entry<T> = T | GatewayError;

const RESTORE_JOBS_SCOPE = 'restore-jobs';
const CONFIG_TTL_MS = 30_000;
const VERSION_TTL_MS = 60_000;
/** The in-flight filter, in the spelling every build understands (docs: restore statuses). */
const IN_FLIGHT_EXCLUSION: OperationStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

export class AerospikeSource extends PolledSource<AbsItem> {
  readonly client: AerospikeClient;
  private readonly config: AerospikeSourceConfig;
  private readonly routineScopes = new Map<string, PolledScope<AbsItem>>();
  private readonly jobScopes = new Map<string, PolledScope<AbsItem>>();
  private readonly restoreJobsScope: PolledScope<AbsItem>;
  private routinesCache: { at: number; names: Promise<Array<[string, unknown]>> } | undefined;
  private versionCache: { at: number; value: Promise<AerospikeVersionModel> } | undefined;
  /** `/metrics` counters when each run was first seen (to tell a failure or a cancel at its end). */
  private readonly baselines = new Map<string, BackupEventCount[] | null>();
  /** false once ABS answered 404 on `/metrics` (older builds, or disabled). */
  private metricsAvailable = true;
  /** Runs cancelled through the gateway (their close is CANCELLED). */
  private readonly cancelledRuns = new Set<string>();
  /** The in-flight filter was refused (the `Cancelled` build): list every job instead. */
  private jobsFilterRefused = false;

  constructor(config: AerospikeSourceConfig, services: SourceServices) {
    super({ name: config.name, kind: config.kind, upstream: ABS_UPSTREAM, poll: config.poll }, services);
    this.config = config;
    this.client = new AerospikeClient({
      source: config.name,
      baseUrl: config.baseUrl,
      ...(config.headers ? { headers: config.headers } : {}),
      ...(config.tls ? { tls: readTls(config.tls) } : {}),
      timeouts: config.timeouts,
      health: this.health,
    });
    this.restoreJobsScope = {
      key: RESTORE_JOBS_SCOPE,
      fetch: (signal) => this.fetchRestoreJobs(signal),
      decode: (raw) => this.decodeItem(raw),
      operations: (items, { now }) => this.restoreOperations(items, now),
      close: (last, items, now) => this.closeOperation(last, items, now),
    };
  }

  // ------------------------------------------------------------------ PolledSource

  async version(): Promise<string | null> {
    return (await this.versionInfo()).version;
  }

  /** `/version` (JSON on newer builds, plain text on older ones), cached for a minute. */
  versionInfo(signal?: AbortSignal): Promise<AerospikeVersionModel> {
    if (this.versionCache && Date.now() - this.versionCache.at < VERSION_TTL_MS) return this.versionCache.value;
    const value = this.client.version(signal).then((raw) => {
      try {
        return mapVersion(decodeVersion(raw));
      } catch (error) {
        throw this.badResponse('/version', error);
      }
    });
    this.versionCache = { at: Date.now(), value };
    value.catch(() => {
      if (this.versionCache?.value === value) this.versionCache = undefined;
    });
    return value;
  }

  async scopes(signal?: AbortSignal): Promise<PolledScope<AbsItem>[]> {
    const names = (await this.routineEntries(signal)).map(([name]) => name);
    return [...names.map((name) => this.routineScope(name)), this.restoreJobsScope];
  }

  close(): Promise<void> {
    return this.client.close();
  }

  protected scopeFor(operation: DecodedId): PolledScope<AbsItem> | undefined {
    const [, key] = operation.parts;
    if (typeof key !== 'string') return undefined;
    if (operation.typename === BACKUP_RUN_TYPENAME) return this.routineScope(key);
    if (operation.typename === RESTORE_JOB_TYPENAME && /^\d{1,19}$/.test(key)) return this.jobScope(key);
    return undefined;
  }

  protected scopeKeyOf(operation: OperationSnapshot): string | undefined {
    if (operation.typename === BACKUP_RUN_TYPENAME) return routineKey((operation.detail as BackupRunDetail).routine);
    if (operation.typename === RESTORE_JOB_TYPENAME) return RESTORE_JOBS_SCOPE;
    return undefined;
  }

  // ------------------------------------------------------------------ scopes

  private routineScope(routine: string): PolledScope<AbsItem> {
    let scope = this.routineScopes.get(routine);
    if (scope) return scope;
    scope = {
      key: routineKey(routine),
      fetch: (signal) => this.fetchRoutine(routine, signal),
      decode: (raw) => this.decodeItem(raw),
      operations: (items, { now }) =>
        items.flatMap((item) => (item.type === 'state' ? shownRuns(routine, item.state).map((run) => backupRunSnapshot(this.name, run, now)) : [])),
      close: (last, items, now) => this.closeOperation(last, items, now),
    };
    this.routineScopes.set(routine, scope);
    return scope;
  }

  private jobScope(jobId: string): PolledScope<AbsItem> {
    let scope = this.jobScopes.get(jobId);
    if (scope) return scope;
    scope = {
      key: `restore:${jobId}`,
      fetch: async (signal) => [await this.jobEvidence(jobId, signal)],
      decode: (raw) => this.decodeItem(raw),
      operations: (items, { now }) => this.restoreOperations(items, now),
      close: (last, items, now) => this.closeOperation(last, items, now),
    };
    this.jobScopes.set(jobId, scope);
    return scope;
  }

  /** currentBackup, plus — only when a run left it — the backup list and `/metrics` that tell how it ended. */
  private async fetchRoutine(routine: string, signal?: AbortSignal): Promise<RawItem[]> {
    const raw = await this.client.currentBackup(routine, signal);
    const items: RawItem[] = [{ type: 'state', routine, raw }];
    let shown: Set<string>;
    try {
      shown = new Set(shownRuns(routine, decodeRoutineState(raw)).map((run) => backupRunId(this.name, run)));
    } catch {
      return items; // decode() reports the malformed answer; nothing closes on a partial listing
    }
    const open = this.services.tracker.openIn(this.trackerKey(routineKey(routine))).filter((op) => op.typename === BACKUP_RUN_TYPENAME);
    // A run without a baseline yet (first seen here, in a mutation's answer, or taken over from history).
    const fresh = [...shown].filter((id) => !this.baselines.has(id));
    const vanished = open.filter((op) => !shown.has(op.id));
    if (fresh.length > 0 || vanished.length > 0) {
      const counts = await this.metricsNow(signal);
      for (const id of fresh) this.baselines.set(id, counts);
      for (const op of vanished) {
        const before = this.baselines.get(op.id);
        const mode = wireMode(op);
        this.baselines.delete(op.id);
        items.push({ type: 'outcome', runId: op.id, outcome: before && counts ? backupOutcomeBetween(before, counts, routine, mode) : null });
      }
    }
    for (const mode of new Set(vanished.map(wireMode))) {
      const starts = vanished.filter((op) => wireMode(op) === mode).map((op) => op.startedAt ?? (op.detail as BackupRunDetail).lastRunAt);
      const from = starts.every((s) => s !== null) ? Math.min(...starts.map((s) => Date.parse(s!))) - 1_000 : undefined;
      const list = await this.client.listBackups(mode, routine, { from: from !== undefined && from > 0 ? from : undefined }, signal);
      items.push({ type: 'backups', routine, mode, raw: list });
    }
    return items;
  }

  /** The restore jobs in flight, plus the status of each open job that left that list. */
  private async fetchRestoreJobs(signal?: AbortSignal): Promise<RawItem[]> {
    const raw = await this.listJobs({ excludeStatuses: IN_FLIGHT_EXCLUSION }, signal);
    const items: RawItem[] = raw.map(([jobId, job]) => ({ type: 'restore', jobId, raw: job }));
    const listed = new Set(raw.map(([jobId]) => restoreJobId(this.name, jobId)));
    const left = this.services.tracker
      .openIn(this.trackerKey(RESTORE_JOBS_SCOPE))
      .filter((op) => op.typename === RESTORE_JOB_TYPENAME && !listed.has(op.id));
    for (const op of left) items.push(await this.jobEvidence((op.detail as RestoreJobDetail).jobId, signal));
    return items;
  }

  private async jobEvidence(jobId: string, signal?: AbortSignal): Promise<RawItem> {
    try {
      return { type: 'restore', jobId, raw: await this.client.restoreStatus(jobId, signal) };
    } catch (error) {
      if (isGatewayError(error) && error.code === 'NOT_FOUND') {
        const id = restoreJobId(this.name, jobId);
        return { type: 'gone', jobId, last: this.services.tracker.current(id) ?? (await this.services.history.get(id)) };
      }
      throw error;
    }
  }

  private decodeItem(raw: unknown): AbsItem {
    const item = raw as RawItem;
    switch (item.type) {
      case 'state':
        return { type: 'state', routine: item.routine, state: decodeRoutineState(item.raw) };
      case 'backups':
        return { type: 'backups', routine: item.routine, mode: item.mode, backups: listItems(item.raw, 'backup list').map(decodeBackupDetails) };
      case 'restore':
        return { type: 'restore', jobId: item.jobId, job: decodeRestoreJobStatus(item.raw) };
      default:
        return item;
    }
  }

  private restoreOperations(items: AbsItem[], now: string): OperationSnapshot[] {
    return items.flatMap((item) => {
      if (item.type === 'restore') return [restoreJobSnapshot(this.name, item, now)];
      if (item.type !== 'gone') return [];
      // ABS keeps jobs in memory only: one it forgot is closed, with what the gateway saw last.
      const id = restoreJobId(this.name, item.jobId);
      const last = this.services.tracker.current(id) ?? item.last;
      return last && !isFinal(last.status) ? [closeRestoreJob(last, now, { notFound: true })] : [];
    });
  }

  private closeOperation(last: OperationSnapshot, items: AbsItem[], now: string): OperationSnapshot {
    if (last.typename !== BACKUP_RUN_TYPENAME) return closeRestoreJob(last, now, { notFound: true });
    const mode = wireMode(last);
    const backups = items.find((i): i is Extract<AbsItem, { type: 'backups' }> => i.type === 'backups' && i.mode === mode)?.backups ?? [];
    const outcome = items.find((i): i is Extract<AbsItem, { type: 'outcome' }> => i.type === 'outcome' && i.runId === last.id)?.outcome ?? null;
    const cancelledByGateway = this.cancelledRuns.delete(last.id);
    return closeBackupRun(last, now, { backups, cancelledByGateway, metricsOutcome: outcome });
  }

  // ------------------------------------------------------------------ reads

  /** The routine names and raw configs (`/v1/config/routines`), cached briefly; the last good answer survives a failure. */
  private routineEntries(signal?: AbortSignal): Promise<Array<[string, unknown]>> {
    const cached = this.routinesCache;
    if (cached && Date.now() - cached.at < CONFIG_TTL_MS) return cached.names;
    const names = this.client.routines(signal).then((raw) => {
      try {
        return mapEntries(raw, 'routine config');
      } catch (error) {
        throw this.badResponse('/v1/config/routines', error);
      }
    });
    const next = { at: Date.now(), names };
    this.routinesCache = next;
    names.catch(() => {
      if (this.routinesCache === next) this.routinesCache = cached && { at: Date.now() - CONFIG_TTL_MS + 1_000, names: cached.names };
    });
    return cached ? names.catch(() => cached.names) : names;
  }

  async routines(signal?: AbortSignal): Promise<Array<Entry<AerospikeRoutineModel>>> {
    return (await this.routineEntries(signal)).map(([name, raw]) => this.readEntry(() => mapRoutine(name, decodeRoutine(raw)), `routine ${name}`));
  }

  async routine(name: string, signal?: AbortSignal): Promise<AerospikeRoutineModel | null> {
    const entry = (await this.routineEntries(signal)).find(([n]) => n === name);
    if (!entry) return null;
    const model = this.readEntry(() => mapRoutine(name, decodeRoutine(entry[1])), `routine ${name}`);
    if (model instanceof GatewayError) throw model;
    return model;
  }

  /** The routine's state now (shared with its poller's call) and the runs it shows, as the tracker knows them. */
  async routineState(routine: string, signal?: AbortSignal): Promise<{ state: RoutineStateWire; running: OperationSnapshot[] }> {
    const listing = await this.list(this.routineScope(routine), signal);
    const item = listing.items.find((i): i is Extract<AbsItem, { type: 'state' }> => i.type === 'state');
    if (!item) throw listing.failures[0] ?? this.badResponse(`currentBackup/${routine}`, new Error('no routine state'));
    const running = shownRuns(routine, item.state).map((run) => this.services.tracker.current(backupRunId(this.name, run)) ?? backupRunSnapshot(this.name, run, new Date().toISOString()));
    return { state: item.state, running };
  }

  /** Finished backups; each backup ABS sent that cannot be read is an error in its place. */
  async backups(options: { routine?: string | undefined; mode?: BackupMode | undefined } & TimeRange, signal?: AbortSignal): Promise<Array<Entry<AerospikeBackupModel>>> {
    const modes: BackupMode[] = options.mode ? [options.mode] : ['full', 'incremental'];
    const range = { from: options.from, to: options.to };
    const perMode = await Promise.all(
      modes.map(async (mode): Promise<Array<[string, unknown]>> => {
        if (options.routine) return listItems(await this.client.listBackups(mode, options.routine, range, signal), 'backup list').map((raw) => [options.routine!, raw]);
        const all = this.readAnswer(await this.client.listAllBackups(mode, range, signal), (raw) => mapEntries(raw, 'backup lists'), `/v1/backups/${mode}`);
        return all.flatMap(([routine, list]) => this.readAnswer(list, (raw) => listItems(raw, 'backup list'), `/v1/backups/${mode}`).map((raw): [string, unknown] => [routine, raw]));
      }),
    );
    const entries = perMode.flatMap((list, i) =>
      list.map(([routine, raw], index) => this.readEntry(() => mapBackup(this.name, routine, modes[i]!, decodeBackupDetails(raw)), `backup ${index + 1} of routine ${routine}`)),
    );
    return entries.sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
  }

  /** One backup by key (for the node interface): looked up in both lists. */
  async backup(key: string, signal?: AbortSignal): Promise<AerospikeBackupModel | null> {
    const all = await this.backups({}, signal);
    return all.find((b): b is AerospikeBackupModel => !(b instanceof GatewayError) && b.key === key) ?? null;
  }

  /**
   * Restore jobs, optionally by status and start time. ABS filters first where it can (a `running`
   * selection is sent as the exclusion of the other states, because one build maps `running` to
   * successful jobs); every job is then checked here again.
   */
  async restoreJobs(query: RestoreJobsQuery, signal?: AbortSignal): Promise<Array<Entry<OperationSnapshot>>> {
    const include = query.statuses?.length ? query.statuses : null;
    const exclude = query.excludeStatuses?.length ? query.excludeStatuses : null;
    const entries = await this.listJobs({ ...upstreamFilter(include, exclude), from: query.from, to: query.to }, signal);
    const out: Array<Entry<OperationSnapshot>> = [];
    for (const [jobId, raw] of entries) {
      const scope = this.jobScope(jobId);
      let item: AbsItem;
      try {
        item = this.decodeOne(scope, { type: 'restore', jobId, raw } satisfies RawItem);
      } catch (error) {
        out.push(error as GatewayError);
        continue;
      }
      if (item.type !== 'restore' || !matchesRestoreStatuses(item.job, include, exclude)) continue;
      const [snapshot] = this.observeItems(scope, [item], () => false);
      if (snapshot) out.push(this.services.tracker.current(snapshot.id) ?? snapshot);
    }
    return out.sort((a, b) => jobSortKey(a).localeCompare(jobSortKey(b)));
  }

  /** One job now; null when ABS does not know it and the gateway never saw it (a job ABS forgot comes from history, closed). */
  async restoreJob(jobId: string, signal?: AbortSignal): Promise<OperationSnapshot | null> {
    const listing = await this.list(this.jobScope(jobId), signal);
    if (listing.failures.length > 0) throw listing.failures[0];
    const id = restoreJobId(this.name, jobId);
    return this.services.tracker.current(id) ?? (await this.services.history.get(id)) ?? null;
  }

  async clusters(signal?: AbortSignal): Promise<Array<Entry<AerospikeClusterModel>>> {
    const entries = this.readAnswer(await this.client.clusters(signal), (raw) => mapEntries(raw, 'cluster config'), '/v1/config/clusters');
    return entries.map(([name, raw]) => this.readEntry(() => mapCluster(name, decodeCluster(raw)), `cluster ${name}`));
  }

  async storage(signal?: AbortSignal): Promise<Array<Entry<AerospikeStorageModel>>> {
    const entries = this.readAnswer(await this.client.storage(signal), (raw) => mapEntries(raw, 'storage config'), '/v1/config/storage');
    return entries.map(([name, raw]) => this.readEntry(() => mapStorage(name, decodeStorage(raw)), `storage ${name}`));
  }

  // ------------------------------------------------------------------ mutations

  /**
   * Triggers a run and answers once ABS shows it started: a new run in `currentBackup`, or a new
   * backup in the list when it finished between two looks. ABS answers 202 even when it will skip
   * the run, so without either within the delay plus `triggerConfirmMs` (or once `/metrics`
   * counted a skip) this fails with NOT_STARTED and the reason ABS had.
   */
  async triggerBackup(routine: string, mode: BackupMode, delayMs?: number): Promise<OperationSnapshot> {
    const scope = this.routineScope(routine);
    const readState = async (): Promise<RoutineStateWire> => {
      const item = this.decodeOne(scope, { type: 'state', routine, raw: await this.client.currentBackup(routine) } satisfies RawItem);
      return (item as Extract<AbsItem, { type: 'state' }>).state;
    };
    const before = await readState(); // an unknown routine fails here, NOT_FOUND
    const runningBefore = new Set(shownRuns(routine, before).map((run) => backupRunId(this.name, run)));
    const lastField = mode === 'full' ? 'last-full' : 'last-incremental';
    const since = isoTimestamp(before[lastField]);
    const knownKeys = new Set((await this.backupsSince(routine, mode, since)).map((b) => b.key));
    const countsBefore = await this.metricsNow();

    await this.client.triggerBackup(routine, mode, delayMs);
    const windowMs = (delayMs ?? 0) + this.config.triggerConfirmMs;
    const deadline = Date.now() + windowMs;
    const lookEveryMs = Math.max(20, Math.min(this.config.poll.activeMs, 1_000));
    let state = before;
    for (;;) {
      await sleep(Math.max(0, Math.min(lookEveryMs, deadline - Date.now())));
      state = await readState();
      const started = shownRuns(routine, state).find((run) => run.mode === mode && !runningBefore.has(backupRunId(this.name, run)));
      if (started) {
        const [snapshot] = this.observeItems(scope, [{ type: 'state', routine, state }], () => false).filter((s) => s.id === backupRunId(this.name, started));
        return this.services.tracker.current(snapshot!.id) ?? snapshot!;
      }
      const last = Date.now() >= deadline;
      if (last || isoTimestamp(state[lastField]) !== since) {
        const fresh = (await this.backupsSince(routine, mode, since)).filter((b) => !knownKeys.has(b.key));
        if (fresh.length > 0) return this.finishedBetweenLooks(routine, mode, fresh);
      }
      const outcome = countsBefore ? backupOutcomeBetween(countsBefore, (await this.metricsNow()) ?? countsBefore, routine, mode) : null;
      if (outcome === 'failure') return this.failedBetweenLooks(routine, mode, state);
      if (outcome === 'skip' || last) throw await this.notStarted(routine, mode, state, outcome === 'skip', windowMs);
    }
  }

  async cancelBackups(routine: string): Promise<void> {
    const scope = this.routineScope(routine);
    const open = () => this.services.tracker.openIn(this.trackerKey(scope.key)).filter((op) => op.typename === BACKUP_RUN_TYPENAME);
    await this.list(scope); // the runs this cancels are open in the scope now
    for (const op of open()) this.cancelledRuns.add(op.id);
    await this.client.cancelBackups(routine);
    // A listing already under way may predate the cancel: one more look closes them.
    const look = () => this.list(scope).catch((error: unknown) => this.services.logger.warn({ err: error, routine }, 'could not look at the routine after a cancel; the live loop will'));
    await look();
    if (open().some((op) => this.cancelledRuns.has(op.id))) await look();
  }

  async restore(request: RestoreRequest): Promise<OperationSnapshot> {
    const jobId =
      request.key !== undefined
        ? await this.client.restore(request.mode ?? 'full', { ...request.target, 'backup-data-path': request.key })
        : await this.client.restoreByTimestamp({
            ...request.target,
            routine: request.routine!,
            time: request.time!,
            ...(request.disableReordering !== undefined ? { 'disable-reordering': request.disableReordering } : {}),
          });
    return this.followJob(jobId);
  }

  async cancelRestore(jobId: string): Promise<OperationSnapshot> {
    await this.client.cancelRestore(jobId);
    return this.followJob(jobId);
  }

  // ------------------------------------------------------------------ helpers

  private async followJob(jobId: string): Promise<OperationSnapshot> {
    const job = await this.restoreJob(jobId);
    if (!job) throw new GatewayError('NOT_FOUND', `${ABS_UPSTREAM} does not know restore job ${jobId}`, { source: this.name });
    return job;
  }

  private async backupsSince(routine: string, mode: BackupMode, since: string | null): Promise<BackupDetailsWire[]> {
    const from = since ? Date.parse(since) - 1_000 : undefined;
    const raw = await this.client.listBackups(mode, routine, { from: from !== undefined && from > 0 ? from : undefined });
    return this.readAnswer(raw, (r) => listItems(r, 'backup list'), `/v1/backups/${mode}/${routine}`).flatMap((item) => {
      try {
        return [decodeBackupDetails(item)];
      } catch (error) {
        this.services.logger.warn({ routine, mode, problem: (error as Error).message }, 'a backup in the list could not be read and was left out');
        return [];
      }
    });
  }

  /** The run ended between two looks: its backups tell when it started; it is reported SUCCEEDED. */
  private finishedBetweenLooks(routine: string, mode: BackupMode, backups: BackupDetailsWire[]): OperationSnapshot {
    const now = new Date().toISOString();
    const started = backups.map((b) => isoTimestamp(b.created)).filter((t): t is string => t !== null).sort()[0] ?? null;
    const records = backups.reduce((sum, b) => sum + (b['record-count'] ?? 0), 0);
    const run: AerospikeRunningBackup = {
      routine,
      mode,
      job: { 'start-time': started, 'total-records': records, 'done-records': records, 'percentage-done': 100 },
      lastRunAt: null,
    };
    const closed = closeBackupRun(backupRunSnapshot(this.name, run, now), now, { backups });
    this.services.tracker.observeOne(closed);
    return this.services.tracker.current(closed.id) ?? closed;
  }

  /** `/metrics` counted a failure of a run the gateway never saw running. */
  private failedBetweenLooks(routine: string, mode: BackupMode, state: RoutineStateWire): OperationSnapshot {
    const now = new Date().toISOString();
    const lastRunAt = isoTimestamp(state[mode === 'full' ? 'last-full' : 'last-incremental']);
    const closed = closeBackupRun(backupRunSnapshot(this.name, { routine, mode, job: {}, lastRunAt }, now), now, { backups: [], metricsOutcome: 'failure' });
    this.services.tracker.observeOne(closed);
    return this.services.tracker.current(closed.id) ?? closed;
  }

  private async notStarted(routine: string, mode: BackupMode, state: RoutineStateWire, skipCounted: boolean, windowMs: number): Promise<GatewayError> {
    const hasCompletedFull = mode === 'full' || isoTimestamp(state['last-full']) !== null || (await this.backupsSince(routine, 'full', null).catch(() => [])).length > 0;
    const why = triggerSkipReason(this.name, routine, mode, state, hasCompletedFull);
    const counted = skipCounted ? 'ABS counted the run as skipped' : `no run started within ${Math.round(windowMs / 100) / 10} s`;
    const message = `${ABS_UPSTREAM} accepted the ${mode} backup of routine ${routine} but did not start it: ${why ? why.reason : counted}`;
    return new GatewayError('NOT_STARTED', why?.runningId ? `${message} (running: ${why.runningId})` : message, {
      source: this.name,
      details: { routine, mode: mode.toUpperCase(), ...(why?.runningId ? { runningId: why.runningId } : {}) },
    });
  }

  /** Backup event counters from `/metrics`, or null where ABS does not expose them (or the scrape failed). */
  private async metricsNow(signal?: AbortSignal): Promise<BackupEventCount[] | null> {
    if (!this.metricsAvailable) return null;
    try {
      return parseBackupEvents(await this.client.metrics(signal));
    } catch (error) {
      if (isGatewayError(error) && error.code === 'NOT_FOUND') this.metricsAvailable = false;
      else this.services.logger.debug({ err: error }, '/metrics could not be read');
      return null;
    }
  }

  /** `/v1/restore/jobs` as [jobId, raw job] pairs; a filter ABS refuses (400) is dropped and applied here instead. */
  private async listJobs(query: { statuses?: readonly OperationStatus[] | null; excludeStatuses?: readonly OperationStatus[] | null } & TimeRange, signal?: AbortSignal): Promise<Array<[string, unknown]>> {
    const range = { from: query.from, to: query.to };
    const statuses = restoreStatusFilterValues(query.statuses ?? []);
    const excludeStatuses = restoreStatusFilterValues(query.excludeStatuses ?? []);
    const filtered = !this.jobsFilterRefused && (statuses.length > 0 || excludeStatuses.length > 0);
    let raw: unknown;
    try {
      raw = await this.client.restoreJobs(filtered ? { ...range, statuses, excludeStatuses } : range, signal);
    } catch (error) {
      if (!filtered || !isGatewayError(error) || error.code !== 'UPSTREAM_REJECTED' || error.status !== 400) throw error;
      this.services.logger.info({ reason: error.message }, 'ABS refused the restore status filter; listing every job and filtering in the gateway');
      this.jobsFilterRefused = true;
      raw = await this.client.restoreJobs(range, signal);
    }
    return this.readAnswer(raw, (r) => mapEntries(r, 'restore jobs'), '/v1/restore/jobs');
  }

  private readAnswer<T>(raw: unknown, read: (raw: unknown) => T, what: string): T {
    try {
      return read(raw);
    } catch (error) {
      throw this.badResponse(what, error);
    }
  }

  private readEntry<T>(read: () => T, what: string): Entry<T> {
    try {
      return read();
    } catch (error) {
      const failure = this.badResponse(what, error);
      this.services.logger.warn({ item: what, error: failure.message }, 'upstream item could not be read and was left out');
      return failure;
    }
  }

  private badResponse(what: string, error: unknown): GatewayError {
    const why = error instanceof Error ? error.message : String(error);
    return new GatewayError('UPSTREAM_BAD_RESPONSE', `${ABS_UPSTREAM}: ${what} could not be read: ${why.slice(0, 300)}`, { source: this.name, cause: error });
  }

  /** The tracker scope of one of this source's scopes (as PolledSource names it). */
  private trackerKey(scopeKey: string): string {
    return `${this.name}:${scopeKey}`;
  }
}

function routineKey(routine: string): string {
  return `routine:${routine}`;
}

/** The runs a routine state shows in flight (a full and an incremental at once are two). */
function shownRuns(routine: string, state: RoutineStateWire): AerospikeRunningBackup[] {
  return runningBackups(routine, state).filter(isBackupRunInFlight);
}

function wireMode(op: OperationSnapshot): BackupMode {
  return (op.detail as BackupRunDetail).mode === 'FULL' ? 'full' : 'incremental';
}

/**
 * What ABS is asked to filter: a selection, or — when it includes RUNNING, or a status ABS has no
 * name for — the exclusion of the other named states (exact results come from the re-check).
 */
function upstreamFilter(include: readonly OperationStatus[] | null, exclude: readonly OperationStatus[] | null): { statuses?: OperationStatus[]; excludeStatuses?: OperationStatus[] } {
  const named: OperationStatus[] = ['RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];
  if (include) {
    if (include.every((s) => named.includes(s) && s !== 'RUNNING')) return { statuses: [...include] };
    if (include.some((s) => !named.includes(s) && s !== 'UNKNOWN')) return {}; // PENDING, PARTIAL, …: ABS never reports them
    return { excludeStatuses: named.filter((s) => s !== 'RUNNING' && !include.includes(s)) };
  }
  return exclude ? { excludeStatuses: exclude.filter((s) => named.includes(s)) } : {};
}

function sortKey(entry: Entry<AerospikeBackupModel>): string {
  return entry instanceof GatewayError ? '\uffff' : `${entry.createdAt ?? ''}|${entry.routine}|${entry.key}`;
}

function jobSortKey(entry: Entry<OperationSnapshot>): string {
  if (entry instanceof GatewayError) return '\uffff';
  return `${entry.startedAt ?? ''}|${(entry.detail as RestoreJobDetail).jobId.padStart(20, '0')}`;
}

function readTls(tls: { caFile?: string | undefined; certFile?: string | undefined; keyFile?: string | undefined }): { ca?: string; cert?: string; key?: string } {
  const read = (path: string | undefined, what: string): string | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      throw new Error(`tls.${what}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  };
  const ca = read(tls.caFile, 'caFile');
  const cert = read(tls.certFile, 'certFile');
  const key = read(tls.keyFile, 'keyFile');
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function isAerospikeSource(source: unknown): source is AerospikeSource {
  return source instanceof AerospikeSource;
}

export type { Listing };
