import { GatewayError } from '../../errors.js';
import type { DecodedId } from '../../model/ids.js';
import { isFinal, type OperationSnapshot } from '../../model/operation.js';
import type { SourceServices } from '../kind.js';
import { PolledSource, type PolledScope, type RunClock } from '../polled.js';
import { DocSpaceClient, isPortalRestoring, type BackupScheduleInput, type StartBackupInput, type StartRestoreInput } from './client.js';
import type { DocSpaceSourceConfig } from './kind.js';
import {
  BACKUP_TYPENAME,
  RESTORE_TYPENAME,
  backupSnapshot,
  closeTask,
  continuesRun,
  decodeHistoryEntry,
  decodeSchedule,
  decodeServiceState,
  decodeTask,
  isTaskInFlight,
  restoreSnapshot,
  type DocSpaceHistoryEntry,
  type DocSpaceSchedule,
  type DocSpaceTask,
  type DocSpaceTaskDetail,
} from './map.js';

/**
 * One configured DocSpace portal (docs/upstreams/docspace.md). Two scopes, one progress endpoint
 * each: `backup` (authenticated) and `restore` (anonymous: the only thing that answers while the
 * portal is being restored). The portal keeps dump tasks apart (`Dump=true`): a scope asks for
 * them too only while the gateway follows one it started.
 */

type ScopeName = 'backup' | 'restore';

/** One progress answer and the `Dump` flag it was asked with. */
export interface ProgressItem {
  task: DocSpaceTask;
  dump: boolean;
}

interface RawProgress {
  dump: boolean;
  wire: unknown;
}

/** How many finished operations of the source are searched for a taskless run already reported. */
const RECENT_FINISHED = 20;

export class DocSpaceSource extends PolledSource<ProgressItem> {
  readonly client: DocSpaceClient;
  private readonly scopeByName: Record<ScopeName, PolledScope<ProgressItem>>;
  /** Scopes that also ask with `Dump=true` (a dump task started here is in flight). */
  private readonly followDump: Record<ScopeName, boolean> = { backup: false, restore: false };
  /** The last backup progress answer, kept while the portal answers "restoring" to authenticated calls. */
  private lastBackupAnswer: RawProgress[] = [];
  private restoring = false;
  /** The tenant id the portal reported last (any task): the close rule's evidence of a restore. */
  private latestTenantId: number | null = null;
  /** The snapshots the latest listing of each scope showed (what the progress fields answer). */
  private readonly latest = new Map<ScopeName, OperationSnapshot[]>();
  /** Recently finished runs from history, read before each look (mapping a look is synchronous). */
  private recentFinished: OperationSnapshot[] = [];

  constructor(config: DocSpaceSourceConfig, services: SourceServices) {
    super({ name: config.name, kind: config.kind, upstream: 'DocSpace API', poll: config.poll }, services);
    this.client = new DocSpaceClient({
      source: config.name,
      baseUrl: config.baseUrl,
      token: config.token,
      tokenScheme: config.tokenScheme,
      timeouts: config.timeouts,
      health: this.health,
    });
    this.scopeByName = { backup: this.makeScope('backup'), restore: this.makeScope('restore') };
  }

  async version(): Promise<string | null> {
    return null; // the backup API does not report the portal version
  }

  async scopes(): Promise<PolledScope<ProgressItem>[]> {
    return [this.scopeByName.backup, this.scopeByName.restore];
  }

  close(): Promise<void> {
    return this.client.close();
  }

  // --- queries -------------------------------------------------------------------------------

  /** The backup task the portal reports now (a finished one stays until the next start), or null. */
  async backupProgress(dump = false): Promise<OperationSnapshot | null> {
    return this.progress('backup', dump);
  }

  async restoreProgress(dump = false): Promise<OperationSnapshot | null> {
    return this.progress('restore', dump);
  }

  async backupHistory(dump?: boolean): Promise<DocSpaceHistoryEntry[]> {
    const entries: DocSpaceHistoryEntry[] = [];
    (await this.client.getBackupHistory({ dump })).forEach((raw, index) => {
      try {
        entries.push(decodeHistoryEntry(this.name, raw));
      } catch (error) {
        // Like a listing's malformed item: left out, logged (the field names no value).
        this.services.logger.warn({ entry: index, error: (error as Error).message }, 'a backup history entry could not be read and was left out');
      }
    });
    return entries;
  }

  async backupSchedule(dump?: boolean): Promise<DocSpaceSchedule | null> {
    const raw = await this.client.getBackupSchedule({ dump });
    return raw === null ? null : this.read(() => decodeSchedule(raw), 'backup schedule');
  }

  backupsCount(options: { from?: string; to?: string; paid?: boolean }): Promise<number> {
    return this.client.getBackupsCount(options);
  }

  async serviceEnabled(): Promise<boolean> {
    const raw = await this.client.getServiceState();
    return this.read(() => decodeServiceState(raw), 'service state').enabled;
  }

  // --- mutations -----------------------------------------------------------------------------

  /** Starts a backup; the answer (usually Created at 0 %) is the operation to subscribe to. */
  async startBackup(input: StartBackupInput): Promise<OperationSnapshot> {
    const dump = input.dump ?? false;
    const raw = await this.client.startBackup({ ...input, dump });
    return this.started('backup', dump, raw);
  }

  async startRestore(input: StartRestoreInput): Promise<OperationSnapshot> {
    const dump = input.dump ?? false;
    const raw = await this.client.startRestore({ ...input, dump });
    return this.started('restore', dump, raw);
  }

  /** The portal drops the task; the next listing closes it as CANCELLED (done at once here). */
  async cancelBackup(): Promise<boolean> {
    const cancelled = await this.client.cancelBackup();
    await this.list(this.scopeByName.backup).catch((error: unknown) => this.services.logger.debug({ error: describe(error) }, 'backup progress after cancel failed'));
    return cancelled;
  }

  deleteBackup(backupId: string): Promise<boolean> {
    return this.client.deleteBackup(backupId);
  }

  clearBackupHistory(dump?: boolean): Promise<boolean> {
    return this.client.deleteBackupHistory({ dump });
  }

  /** Creates (replaces) the schedule and answers it as the portal now reports it. */
  async setBackupSchedule(input: BackupScheduleInput): Promise<DocSpaceSchedule | null> {
    await this.client.createBackupSchedule(input);
    return this.backupSchedule(input.dump ?? false);
  }

  deleteBackupSchedule(dump?: boolean): Promise<boolean> {
    return this.client.deleteBackupSchedule({ dump });
  }

  // --- PolledSource --------------------------------------------------------------------------

  protected scopeFor(operation: DecodedId): PolledScope<ProgressItem> | undefined {
    const name = scopeOfTypename(operation.typename);
    return name && this.scopeByName[name];
  }

  protected scopeKeyOf(operation: OperationSnapshot): string | undefined {
    return scopeOfTypename(operation.typename);
  }

  protected override runKeyOf(operation: OperationSnapshot): string | undefined {
    if (!scopeOfTypename(operation.typename)) return undefined;
    return runKey((operation.detail as DocSpaceTaskDetail).taskId, operation.kind);
  }

  private makeScope(name: ScopeName): PolledScope<ProgressItem> {
    return {
      key: name,
      fetch: () => (name === 'backup' ? this.fetchBackups() : this.fetchProgress('restore')),
      decode: (raw) => {
        const { dump, wire } = raw as RawProgress;
        return { task: decodeTask(wire), dump };
      },
      operations: (items, { now, runs }) => {
        const snapshots = items.map((item) => this.snapshotOf(name, item, now, runs));
        this.latest.set(name, snapshots);
        return snapshots;
      },
      close: (last, items, now) => {
        const dump = (last.detail as DocSpaceTaskDetail).dump;
        const current = items.find((item) => item.dump === dump)?.task ?? null;
        return closeTask(last, now, { current, tenantId: this.latestTenantId });
      },
    };
  }

  /** One progress endpoint: `Dump=false`, and `Dump=true` while a dump task is followed. */
  private async fetchProgress(name: ScopeName): Promise<RawProgress[]> {
    const call = (dump: boolean) => (name === 'backup' ? this.client.getBackupProgress({ dump }) : this.client.getRestoreProgress({ dump }));
    const answers: RawProgress[] = [];
    await this.readRecentFinished();
    const plain = await call(false);
    if (plain !== null) answers.push({ dump: false, wire: plain });
    if (this.followDump[name]) {
      const dumped = await call(true);
      if (dumped !== null) answers.push({ dump: true, wire: dumped });
      // A finished task stays visible until the next start: following it ends with its end.
      if (dumped === null || (dumped as { isCompleted?: unknown }).isCompleted === true) this.followDump[name] = false;
    }
    return answers;
  }

  /**
   * While the portal is being restored every authenticated call answers "restoring": the backup
   * listing keeps its last answer (no backup can run then), so nothing is closed for it and live
   * watchers see no error storm; the progress fields and other calls still say "restoring".
   */
  private async fetchBackups(): Promise<RawProgress[]> {
    try {
      const answers = await this.fetchProgress('backup');
      this.lastBackupAnswer = answers;
      this.noteRestoring(false);
      return answers;
    } catch (error) {
      if (!isPortalRestoring(error)) throw error;
      this.noteRestoring(true);
      return this.lastBackupAnswer;
    }
  }

  private noteRestoring(now: boolean): void {
    if (now === this.restoring) return;
    this.restoring = now;
    if (now) this.services.logger.info('the portal is being restored: authenticated calls answer 403 until it is back; backup progress is kept from its last answer');
    else this.services.logger.info('the portal answers authenticated calls again');
  }

  /**
   * The operation one progress answer shows. The portal gives no timestamps: a run in flight gets
   * its first-seen time from the base's RunClock; a finished task keeps the identity and times of
   * the run it ends (the tracker's or the history's), so repeating it changes nothing.
   */
  private snapshotOf(name: ScopeName, item: ProgressItem, now: string, runs: RunClock): OperationSnapshot {
    const { task, dump } = item;
    if (task.tenantId !== null) this.latestTenantId = task.tenantId;
    const map = name === 'backup' ? backupSnapshot : restoreSnapshot;
    const make = (runStartedAt: string | null) => map(this.name, task, now, { dump, runStartedAt });
    const probe = make(null);
    const key = runKey(task.taskId, probe.kind);
    if (isTaskInFlight(task)) {
      const startedAt = runs.start(key);
      return { ...make(startedAt), startedAt };
    }
    const known = this.knownRun(name, probe, task);
    if (!known) {
      // Finished before the gateway ever saw it run: the start is unknown.
      return { ...make(task.taskId === null ? runs.start(key) : null), startedAt: null };
    }
    const ended = { ...make((known.detail as DocSpaceTaskDetail).runStartedAt), id: known.id, startedAt: known.startedAt };
    return isFinal(known.status) ? { ...ended, finishedAt: known.finishedAt } : ended;
  }

  private async readRecentFinished(): Promise<void> {
    try {
      this.recentFinished = (await this.services.history.list({ sources: [this.name], active: false }, { first: RECENT_FINISHED })).items;
    } catch (error) {
      this.services.logger.error({ err: error }, 'recent runs could not be read from history');
    }
  }

  /** The run a finished task belongs to, as the tracker or the history knows it. */
  private knownRun(name: ScopeName, probe: OperationSnapshot, task: DocSpaceTask): OperationSnapshot | undefined {
    const tracker = this.services.tracker;
    if (task.taskId !== null) return tracker.current(probe.id) ?? this.recentFinished.find((op) => op.id === probe.id);
    const recent = this.recentFinished.filter((op) => op.typename === probe.typename);
    return [...tracker.openIn(`${this.name}:${name}`), ...recent].find((op) => op.kind === probe.kind && continuesRun(op, task));
  }

  private async progress(name: ScopeName, dump: boolean): Promise<OperationSnapshot | null> {
    const scope = this.scopeByName[name];
    let shown: OperationSnapshot[];
    if (dump) {
      // Dump tasks are outside the listing unless followed: asked for once, reported like one.
      const raw = name === 'backup' ? await this.client.getBackupProgress({ dump }) : await this.client.getRestoreProgress({ dump });
      const items = raw === null ? [] : [this.decodeOne(scope, { dump, wire: raw } satisfies RawProgress)];
      shown = this.observeItems(scope, items, (op) => (op.detail as DocSpaceTaskDetail).dump === true);
    } else {
      await this.list(scope);
      shown = (this.latest.get(name) ?? []).filter((op) => (op.detail as DocSpaceTaskDetail).dump === false);
    }
    const snapshot = shown[0];
    return snapshot ? (this.services.tracker.current(snapshot.id) ?? snapshot) : null;
  }

  private async started(name: ScopeName, dump: boolean, raw: unknown): Promise<OperationSnapshot> {
    const scope = this.scopeByName[name];
    const item = this.decodeOne(scope, { dump, wire: raw } satisfies RawProgress);
    if (dump) this.followDump[name] = true;
    const [snapshot] = this.observeItems(scope, [item], (op) => (op.detail as DocSpaceTaskDetail).dump === dump);
    if (!snapshot) throw new GatewayError('UPSTREAM_BAD_RESPONSE', 'DocSpace API answered the start without a task', { source: this.name });
    return this.services.tracker.current(snapshot.id) ?? snapshot;
  }

  private read<T>(decode: () => T, what: string): T {
    try {
      return decode();
    } catch (error) {
      throw new GatewayError('UPSTREAM_BAD_RESPONSE', `DocSpace API: the ${what} could not be read: ${(error as Error).message.slice(0, 300)}`, { source: this.name, cause: error });
    }
  }
}

function scopeOfTypename(typename: string): ScopeName | undefined {
  return typename === BACKUP_TYPENAME ? 'backup' : typename === RESTORE_TYPENAME ? 'restore' : undefined;
}

/** RunClock key: the task id, or for portals that send none the kind (one task of a kind at a time). */
function runKey(taskId: string | null, kind: string): string {
  return taskId === null ? `run:${kind}` : `task:${taskId}`;
}

/** What a log line may say about a caught error: its code and (safe) message, never a stack. */
export function describe(error: unknown): { code?: string; message: string } {
  return error instanceof GatewayError ? { code: error.code, message: error.message } : { message: error instanceof Error ? error.message : String(error) };
}

export function isDocSpaceSource(source: unknown): source is DocSpaceSource {
  return source instanceof DocSpaceSource;
}
