import { GatewayError, isGatewayError } from '../../errors.js';
import type { PollSpec } from '../../live/poller.js';
import { StreamHub, type StreamSession, type StreamSink, type StreamSpec, type StreamStatus } from '../../live/stream-hub.js';
import type { DecodedId } from '../../model/ids.js';
import { isFinal, type OperationSnapshot } from '../../model/operation.js';
import { HealthTracker } from '../health.js';
import type { SourceServices } from '../kind.js';
import type { LiveFeed, SourceRuntime } from '../source.js';
import { BACKUP_PROGRESS_CHANNEL, ScaleTradeClient } from './client.js';
import { ScaleTradeConnection, type ScaleTradeConnectionOptions, type ScaleTradePush } from './connection.js';
import type { ScaleTradeSourceConfig } from './kind.js';
import {
  BACKUP_RUN_TYPENAME,
  RESTORE_RUN_TYPENAME,
  backupRunSnapshotFromProgress,
  backupRunSnapshotFromRun,
  closeBackupRun,
  closeRestoreRun,
  decodeProgress,
  decodeRestoreRun,
  decodeRun,
  isBackupRunInFlight,
  isRestoreRunInFlight,
  mergeBackupRunDetail,
  restoreRunSnapshot,
  runStatus,
  type BackupRunEvidence,
  type ScaleTradeBackupRunDetail,
  type ScaleTradeProgress,
  type ScaleTradeRestoreRun,
  type ScaleTradeRestoreRunDetail,
  type ScaleTradeRun,
} from './map.js';

/**
 * One configured ScaleTrade server (docs/upstreams/scaletrade.md). The server pushes, so this is
 * not a PolledSource: backup runs are followed through ONE managed session per source (a StreamHub
 * session: connect, Subscribe to `backup.progress`, resynchronise with GetBackupProgress, poll it
 * while a run is active and the stream is silent), restore runs — never pushed — through the shared
 * poller on GetRestoreRuns. Every state seen goes through one serial pipeline into the tracker, so
 * a run ends exactly once however its end is learnt (the final push, a resync showing idle, the
 * blocking command's answer, GetBackupRun).
 *
 * Connections: the managed session (hub), one lazily opened command connection for everything
 * else, and one connection per blocking StartFullBackup / StartRestoreRun, closed when it answers.
 */
export class ScaleTradeSource implements SourceRuntime {
  readonly name: string;
  readonly kind = 'scaletrade';
  readonly health = new HealthTracker();
  private readonly config: ScaleTradeSourceConfig;
  private readonly services: SourceServices;
  private readonly hub: StreamHub;
  private readonly base: ScaleTradeConnectionOptions;
  private readonly progressSpec: StreamSpec<ScaleTradeProgress>;
  private readonly restoreSpec: PollSpec<ScaleTradeRestoreRun[]>;
  private command: Promise<ScaleTradeClient> | undefined;
  private readonly runners = new Set<ScaleTradeClient>();
  private readonly leases = new Set<AbortController>();
  /** Observations are applied one at a time, in arrival order. */
  private pipeline: Promise<void> = Promise.resolve();
  private adopted = false;
  /** The managed session polls GetBackupProgress because the stream went silent during a run. */
  private stalePolling = false;
  private closed = false;

  constructor(config: ScaleTradeSourceConfig, services: SourceServices) {
    this.name = config.name;
    this.config = config;
    this.services = services;
    this.hub = new StreamHub({ initialBackoffMs: Math.min(1_000, config.poll.activeMs), maxBackoffMs: 30_000, ...(services.election ? { election: services.election } : {}) });
    this.base = {
      url: config.url,
      token: config.token,
      source: config.name,
      ...(config.tls ? { tls: config.tls } : {}),
      ...(config.timeouts ? { timeouts: config.timeouts } : {}),
      onMalformed: (frame) => services.logger.warn({ reason: frame.reason, bytes: frame.bytes }, 'unreadable ScaleTrade message skipped'),
      onListenerError: (error) => services.logger.error({ err: error }, 'ScaleTrade event handling failed'),
    };
    this.progressSpec = {
      key: `scaletrade:${config.name}:progress`,
      source: config.name,
      health: this.health,
      open: (sink, signal) => this.openSession(sink, signal),
      // Several instances: the session's holder relays each progress state (plain JSON) to the others.
      relay: { encode: (value) => value, decode: (wire) => wire as ScaleTradeProgress, onLead: () => this.takeOver(this.backupScope, BACKUP_RUN_TYPENAME) },
    };
    this.restoreSpec = {
      key: `scaletrade:${config.name}:restores`,
      fetch: () => this.listRestoreRuns(),
      isActive: (rows) => rows.some(isRestoreRunInFlight),
      activeMs: config.poll.activeMs,
      idleMs: config.poll.idleMs,
      relay: { encode: (rows) => rows, decode: (wire) => wire as ScaleTradeRestoreRun[], onLead: () => this.takeOver(`${config.name}:restores`, RESTORE_RUN_TYPENAME) },
    };
  }

  /** This instance takes a session or loop over from another: the runs it followed through the other's events continue here. */
  private takeOver(scope: string, typename: string): void {
    const open = this.services.tracker.active().filter((op) => op.source === this.name && op.typename === typename);
    this.services.tracker.adopt(scope, open);
  }

  // --- SourceRuntime ----------------------------------------------------------------------------

  async version(): Promise<string | null> {
    return null; // the command set has no version command
  }

  async probe(): Promise<void> {
    await (await this.commands()).getBackupProgress();
  }

  async refreshOperations(): Promise<void> {
    const streamed = this.hub.peek(this.progressSpec.key) !== undefined;
    await Promise.all([streamed ? undefined : this.fetchProgress(), this.services.poller.peek(this.restoreSpec.key) ? undefined : this.listRestoreRuns()]);
  }

  async feeds(): Promise<LiveFeed[]> {
    return [this.progressFeed(), this.restoreFeed()];
  }

  feedFor(operation: DecodedId): LiveFeed | undefined {
    if (operation.parts[0] !== this.name) return undefined;
    if (operation.typename === BACKUP_RUN_TYPENAME) return this.progressFeed();
    if (operation.typename === RESTORE_RUN_TYPENAME) return this.restoreFeed();
    return undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.hub.close();
    for (const lease of this.leases) lease.abort();
    const command = this.command;
    this.command = undefined;
    await Promise.allSettled([...[...this.runners].map((r) => r.close()), command?.then((c) => c.close())]);
  }

  // --- what the schema asks ---------------------------------------------------------------------

  /** The managed session's state. */
  session(): StreamStatus & { polling: boolean } {
    return { ...this.hub.status(this.progressSpec.key), polling: this.stalePolling };
  }

  /** The backup run in flight now, or null. */
  async currentRun(): Promise<OperationSnapshot | null> {
    const progress = this.hub.peek<ScaleTradeProgress>(this.progressSpec.key) ?? (await this.fetchProgress());
    if (!isBackupRunInFlight(progress)) return null;
    const snapshot = backupRunSnapshotFromProgress(this.name, progress, new Date().toISOString());
    return snapshot && (this.services.tracker.current(snapshot.id) ?? snapshot);
  }

  /** GetBackupRuns, newest first; the run in flight as the tracker follows it. */
  async backupRuns(first: number): Promise<OperationSnapshot[]> {
    const rows = await (await this.commands()).getBackupRuns();
    return this.readRows(rows, decodeRun, 'GetBackupRuns')
      .slice(0, first)
      .map((run) => this.withLive(backupRunSnapshotFromRun(this.name, run, new Date().toISOString())));
  }

  /** GetBackupRun; null when the server does not know the run. */
  async backupRun(runId: string): Promise<OperationSnapshot | null> {
    try {
      const run = this.decodeAnswer(await (await this.commands()).getBackupRun(runId), decodeRun);
      return this.withLive(backupRunSnapshotFromRun(this.name, run, new Date().toISOString()));
    } catch (error) {
      if (isGatewayError(error) && error.code === 'NOT_FOUND') return null;
      throw error;
    }
  }

  async restoreRuns(first: number): Promise<OperationSnapshot[]> {
    const rows = await (await this.commands()).getRestoreRuns();
    return this.readRows(rows, decodeRestoreRun, 'GetRestoreRuns')
      .slice(0, first)
      .map((restore) => this.withLive(restoreRunSnapshot(this.name, restore, new Date().toISOString())));
  }

  async restoreRun(restoreId: string): Promise<OperationSnapshot | null> {
    try {
      const restore = this.decodeAnswer(await (await this.commands()).getRestoreRun(restoreId), decodeRestoreRun);
      return this.withLive(restoreRunSnapshot(this.name, restore, new Date().toISOString()));
    } catch (error) {
      if (isGatewayError(error) && error.code === 'NOT_FOUND') return null;
      throw error;
    }
  }

  /**
   * Starts a backup on a connection of its own (StartFullBackup answers only when the run ends)
   * and returns the run as soon as the server shows it. Until the answer comes the managed session
   * is held open, so the run is followed to its end even when nobody subscribes.
   */
  async startBackup(participants?: readonly string[]): Promise<OperationSnapshot> {
    const release = this.hold(this.progressFeed());
    try {
      const before = this.hub.peek<ScaleTradeProgress>(this.progressSpec.key) ?? (await this.fetchProgress());
      const runner = await this.openRunner();
      const outcome = settle(runner.startFullBackup(participants === undefined ? {} : { participants }));
      const started = await this.waitFor(outcome, async () => {
        const progress = this.hub.peek<ScaleTradeProgress>(this.progressSpec.key) ?? (await this.fetchProgress());
        return progress.run_id !== '' && progress.run_id !== before.run_id && (progress.active === true || before.active !== true) ? progress : undefined;
      });
      void outcome
        .then((result) => this.backupAnswered(result))
        .catch((error: unknown) => this.services.logger.error({ err: error }, 'ScaleTrade backup answer could not be recorded'))
        .finally(() => {
          release();
          this.dropRunner(runner);
        });
      if ('run' in started) return this.observeRunObject(this.decodeAnswer(started.run, decodeRun));
      await this.enqueue(started.value);
      const snapshot = backupRunSnapshotFromProgress(this.name, started.value, new Date().toISOString())!;
      return this.services.tracker.current(snapshot.id) ?? snapshot;
    } catch (error) {
      release();
      throw error;
    }
  }

  /** Starts a restore like startBackup; its progress is polled (restores are never pushed). */
  async startRestore(input: { runId: string; participants?: readonly string[]; dryRun?: boolean; force?: boolean }): Promise<OperationSnapshot> {
    const release = this.hold(this.restoreFeed());
    try {
      const client = await this.commands();
      const known = new Set(this.readRows(await client.getRestoreRuns(), decodeRestoreRun, 'GetRestoreRuns').map((r) => r.restore_id));
      const runner = await this.openRunner();
      const outcome = settle(
        runner.startRestoreRun({
          run_id: input.runId,
          ...(input.participants !== undefined ? { participants: input.participants } : {}),
          ...(input.dryRun != null ? { dry_run: input.dryRun } : {}),
          ...(input.force != null ? { force: input.force } : {}),
        }),
      );
      const started = await this.waitFor(outcome, async () => {
        const rows = this.readRows(await client.getRestoreRuns(), decodeRestoreRun, 'GetRestoreRuns');
        return rows.find((r) => !known.has(r.restore_id));
      });
      void outcome
        .then((result) => this.restoreAnswered(result))
        .catch((error: unknown) => this.services.logger.error({ err: error }, 'ScaleTrade restore answer could not be recorded'))
        .finally(() => {
          release();
          this.dropRunner(runner);
        });
      const restore = 'run' in started ? this.decodeAnswer(started.run, decodeRestoreRun) : started.value;
      return this.serially(() => {
        const snapshot = restoreRunSnapshot(this.name, restore, new Date().toISOString());
        const current = this.services.tracker.current(snapshot.id);
        if (!current || !isFinal(current.status)) this.services.tracker.observeOne(snapshot);
        return this.services.tracker.current(snapshot.id) ?? snapshot;
      });
    } catch (error) {
      release();
      throw error;
    }
  }

  // --- the managed session ----------------------------------------------------------------------

  private progressFeed(): LiveFeed {
    return { key: this.progressSpec.key, watch: (signal) => this.hub.watch(this.progressSpec, signal) };
  }

  private restoreFeed(): LiveFeed {
    return { key: this.restoreSpec.key, watch: (signal) => this.services.poller.watch(this.restoreSpec, signal) };
  }

  /**
   * Connect, Subscribe (`chanels`), resynchronise with GetBackupProgress; then every push is a
   * value. While a run is active and no push came for `staleMs`, GetBackupProgress is polled every
   * `poll.activeMs` until pushes flow again.
   */
  private async openSession(sink: StreamSink<ScaleTradeProgress>, signal: AbortSignal): Promise<StreamSession> {
    const logger = this.services.logger;
    let pushes = 0;
    let active = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number): void => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (!active || signal.aborted) {
        this.stalePolling = false;
        return;
      }
      timer = setTimeout(() => void poll(), ms);
      timer.unref();
    };
    const accept = (progress: ScaleTradeProgress): void => {
      active = isBackupRunInFlight(progress);
      sink.value(progress);
      void this.enqueue(progress);
    };
    const onEvent = (push: ScaleTradePush): void => {
      if (push.event !== BACKUP_PROGRESS_CHANNEL) return;
      let progress: ScaleTradeProgress;
      try {
        progress = decodeProgress(push.data);
      } catch (error) {
        logger.warn({ err: error }, 'unreadable backup.progress event skipped');
        sink.error(this.unreadable('a backup.progress event', error));
        return;
      }
      pushes += 1;
      this.stalePolling = false;
      accept(progress);
      arm(this.config.staleMs);
    };
    const connection = await ScaleTradeConnection.open({ ...this.base, onEvent });
    const client = new ScaleTradeClient(connection);
    const poll = async (): Promise<void> => {
      this.stalePolling = true;
      const seen = pushes;
      try {
        const progress = this.decodeAnswer(await client.getBackupProgress(), decodeProgress);
        if (pushes === seen) accept(progress);
      } catch (error) {
        if (connection.isOpen) sink.error(error);
      }
      if (pushes === seen) arm(this.config.poll.activeMs);
    };
    const onAbort = (): void => void connection.close();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await client.subscribe([BACKUP_PROGRESS_CHANNEL]);
      const progress = this.decodeAnswer(await client.getBackupProgress(), decodeProgress);
      // A push that arrived meanwhile is newer than the resynchronisation.
      if (pushes === 0) accept(progress);
      arm(this.config.staleMs);
    } catch (error) {
      signal.removeEventListener('abort', onAbort);
      await connection.close();
      throw error;
    }
    const ended = connection.closed.then((closed) => {
      if (timer) clearTimeout(timer);
      this.stalePolling = false;
      signal.removeEventListener('abort', onAbort);
      if (!signal.aborted) logger.warn({ err: closed.error }, 'ScaleTrade session ended; reconnecting');
      return closed.error ?? new GatewayError('UPSTREAM_UNAVAILABLE', 'ScaleTrade server ended the session', { source: this.name });
    });
    logger.info('ScaleTrade session established and subscribed to backup.progress');
    return { ended };
  }

  // --- the tracker --------------------------------------------------------------------------------

  private get backupScope(): string {
    return `${this.name}:backup`;
  }

  private enqueue(progress: ScaleTradeProgress): Promise<void> {
    return this.serially(() => this.observeProgress(progress));
  }

  /** Runs `task` after every observation queued before it; a failure is logged, never breaks the queue. */
  private serially<R>(task: () => R | Promise<R>): Promise<R> {
    const result = this.pipeline.then(task);
    this.pipeline = result.then(
      () => undefined,
      (error: unknown) => this.services.logger.error({ err: error }, 'ScaleTrade observation failed'),
    );
    return result;
  }

  /**
   * One progress snapshot into the tracker. A run it no longer shows is closed with the best
   * evidence (GetBackupRun); a run it shows ending is completed with its run object first, so the
   * one FINISHED event carries path, errors and artifacts.
   */
  private async observeProgress(progress: ScaleTradeProgress): Promise<void> {
    await this.adoptOnce();
    const tracker = this.services.tracker;
    const now = new Date().toISOString();
    let snapshot = backupRunSnapshotFromProgress(this.name, progress, now);
    if (snapshot) {
      const known = tracker.current(snapshot.id) ?? (await this.services.history.get(snapshot.id)) ?? undefined;
      if (known && isFinal(known.status) && isFinal(snapshot.status)) snapshot = null; // already ended: once
      else if (known) snapshot = { ...snapshot, detail: mergeBackupRunDetail(known.detail as ScaleTradeBackupRunDetail, snapshot.detail as ScaleTradeBackupRunDetail) };
      if (snapshot && isFinal(snapshot.status)) {
        const evidence = await this.runEvidence(progress.run_id, progress);
        if (evidence.run && isFinal(runStatus(evidence.run.status))) snapshot = { ...closeBackupRun(snapshot, now, evidence), id: snapshot.id };
      }
    }
    const shownId = snapshot?.id;
    const evidence = new Map<string, BackupRunEvidence>();
    for (const last of tracker.openIn(this.backupScope)) {
      if (last.id !== shownId) evidence.set(last.id, await this.runEvidence((last.detail as ScaleTradeBackupRunDetail).runId, progress));
    }
    tracker.observe(this.backupScope, snapshot ? [snapshot] : [], (last) => closeBackupRun(last, now, evidence.get(last.id) ?? { progress }));
  }

  /** GetBackupRun for a run that ended or vanished; a failure leaves the progress as the only evidence. */
  private async runEvidence(runId: string, progress: ScaleTradeProgress): Promise<BackupRunEvidence> {
    try {
      return { run: this.decodeAnswer(await (await this.commands()).getBackupRun(runId), decodeRun), progress };
    } catch (error) {
      if (isGatewayError(error) && error.code === 'NOT_FOUND') return { notFound: true, progress };
      this.services.logger.warn({ err: error, runId }, 'GetBackupRun failed; closing the run from the progress snapshot');
      return { progress };
    }
  }

  /** Backup runs open when the gateway last stopped continue (or are closed) with the first snapshot. */
  private async adoptOnce(): Promise<void> {
    if (this.adopted) return;
    this.adopted = true;
    let listed: OperationSnapshot[];
    try {
      listed = (await this.services.history.list({ active: true, sources: [this.name] }, { first: 500 })).items;
    } catch (error) {
      this.services.logger.error({ err: error }, 'open backup runs could not be read from history');
      return;
    }
    const open = listed.filter((op) => op.typename === BACKUP_RUN_TYPENAME);
    if (open.length > 0) this.services.tracker.adopt(this.backupScope, open);
  }

  /** StartFullBackup answered: the run object (completed / partial) or the failure. */
  private async backupAnswered(result: Settled<unknown>): Promise<void> {
    if (result.ok) {
      await this.observeRunObject(this.decodeAnswer(result.value, decodeRun));
      return;
    }
    const runId = isGatewayError(result.error) ? result.error.details?.['runId'] : undefined;
    if (typeof runId !== 'string') return; // refused, or the connection dropped: the session resynchronises
    const evidence = await this.runEvidence(runId, this.hub.peek<ScaleTradeProgress>(this.progressSpec.key) ?? emptyProgress());
    if (evidence.run) await this.observeRunObject(evidence.run);
  }

  /** A run object seen outside the stream: reported unless the run has already ended for the tracker. */
  private observeRunObject(run: ScaleTradeRun): Promise<OperationSnapshot> {
    return this.serially(() => {
      const now = new Date().toISOString();
      const seen = backupRunSnapshotFromRun(this.name, run, now);
      const tracker = this.services.tracker;
      const current = tracker.current(seen.id);
      if (current && isFinal(current.status)) return current;
      const snapshot = current && isFinal(seen.status) ? { ...closeBackupRun(current, now, { run }), id: seen.id } : current ? { ...seen, detail: mergeBackupRunDetail(current.detail as ScaleTradeBackupRunDetail, seen.detail as ScaleTradeBackupRunDetail) } : seen;
      tracker.observeOne(snapshot);
      return tracker.current(seen.id) ?? snapshot;
    });
  }

  private async restoreAnswered(result: Settled<unknown>): Promise<void> {
    let restore: ScaleTradeRestoreRun | undefined;
    if (result.ok) restore = this.decodeAnswer(result.value, decodeRestoreRun);
    else {
      const restoreId = isGatewayError(result.error) ? result.error.details?.['restoreId'] : undefined;
      if (typeof restoreId !== 'string') return;
      restore = this.decodeAnswer(await (await this.commands()).getRestoreRun(restoreId), decodeRestoreRun);
    }
    const ended = restore;
    await this.serially(() => {
      const snapshot = restoreRunSnapshot(this.name, ended, new Date().toISOString());
      const current = this.services.tracker.current(snapshot.id);
      if (current && isFinal(current.status)) return;
      this.services.tracker.observeOne(current ? closeRestoreRun(current, new Date().toISOString(), { restore: ended }) : snapshot);
    });
  }

  /** GetRestoreRuns: its restores in flight into the tracker, those that ended closed from their rows. */
  private async listRestoreRuns(): Promise<ScaleTradeRestoreRun[]> {
    const rows = this.readRows(await (await this.commands()).getRestoreRuns(), decodeRestoreRun, 'GetRestoreRuns');
    await this.serially(() => {
      const now = new Date().toISOString();
      const inFlight = rows.filter(isRestoreRunInFlight).map((r) => restoreRunSnapshot(this.name, r, now));
      this.services.tracker.observe(`${this.name}:restores`, inFlight, (last) =>
        closeRestoreRun(last, now, { restore: rows.find((r) => r.restore_id === (last.detail as ScaleTradeRestoreRunDetail).restoreId) }),
      );
    });
    return rows;
  }

  private async fetchProgress(): Promise<ScaleTradeProgress> {
    const progress = this.decodeAnswer(await (await this.commands()).getBackupProgress(), decodeProgress);
    await this.enqueue(progress);
    return progress;
  }

  /** What the tracker knows of an operation in flight beats a listing row (it has the live percent). */
  private withLive(snapshot: OperationSnapshot): OperationSnapshot {
    const live = this.services.tracker.current(snapshot.id);
    return live && !isFinal(live.status) && !isFinal(snapshot.status) ? live : snapshot;
  }

  // --- connections --------------------------------------------------------------------------------

  /** The command connection, opened when first needed and again after it dropped. */
  private async commands(): Promise<ScaleTradeClient> {
    if (this.closed) throw new GatewayError('UPSTREAM_UNAVAILABLE', 'the gateway is shutting down', { source: this.name });
    const pending = this.command;
    if (pending) {
      const client = await pending.catch(() => undefined);
      if (client?.connection.isOpen) return client;
      if (this.command === pending) this.command = undefined;
    }
    const opening = (this.command ??= ScaleTradeClient.connect({ ...this.base, health: this.health }));
    try {
      return await opening;
    } catch (error) {
      if (this.command === opening) this.command = undefined;
      this.health.failure(error);
      throw error;
    }
  }

  private async openRunner(): Promise<ScaleTradeClient> {
    try {
      const runner = await ScaleTradeClient.connect({ ...this.base, health: this.health });
      this.runners.add(runner);
      return runner;
    } catch (error) {
      this.health.failure(error);
      throw error;
    }
  }

  private dropRunner(runner: ScaleTradeClient): void {
    this.runners.delete(runner);
    void runner.close();
  }

  /** Keeps a feed watched (its upstream loop running) until the returned function is called. */
  private hold(feed: LiveFeed): () => void {
    const lease = new AbortController();
    this.leases.add(lease);
    const events = feed.watch(lease.signal);
    void (async () => {
      for await (const _event of events) {
        // Only the lease matters: the tracker is fed by the session itself.
      }
    })();
    return () => {
      this.leases.delete(lease);
      lease.abort();
    };
  }

  /**
   * Waits until `look` finds the started run, or the blocking command answers first (a refusal —
   * 403, 409, 400 — or a run so short it already ended). Bounded by the request timeout.
   */
  private async waitFor<T>(outcome: Promise<Settled<unknown>>, look: () => Promise<T | undefined>): Promise<{ value: T } | { run: unknown }> {
    const deadline = Date.now() + (this.config.timeouts?.requestMs ?? 30_000);
    let answered: Settled<unknown> | undefined;
    void outcome.then((result) => (answered = result));
    for (;;) {
      await Promise.race([outcome, sleep(50)]);
      if (answered && !answered.ok) throw answered.error;
      const found = await look();
      if (found !== undefined) return { value: found };
      if (answered?.ok) return { run: answered.value };
      if (Date.now() > deadline) {
        throw new GatewayError('UPSTREAM_TIMEOUT', 'ScaleTrade server accepted the start but did not show the new run in time', { source: this.name });
      }
      await sleep(150);
    }
  }

  private decodeAnswer<T>(raw: unknown, decode: (raw: unknown) => T): T {
    try {
      return decode(raw);
    } catch (error) {
      throw this.unreadable('the answer', error);
    }
  }

  /** Rows that cannot be read are left out (logged, counted, the source DEGRADED); the rest is served. */
  private readRows<T>(rows: unknown[], decode: (raw: unknown) => T, command: string): T[] {
    const read: T[] = [];
    let failed = 0;
    let firstError = '';
    rows.forEach((row) => {
      try {
        read.push(decode(row));
      } catch (error) {
        failed += 1;
        firstError ||= error instanceof Error ? error.message : String(error);
      }
    });
    if (failed === 0) this.health.itemsOk(command);
    else {
      this.health.itemsFailed(command, failed, `ScaleTrade server: ${failed} rows of ${command} could not be read`);
      this.services.logger.warn({ command, malformed: failed, error: firstError.slice(0, 300) }, 'ScaleTrade rows could not be read and were left out');
    }
    return read;
  }

  private unreadable(what: string, error: unknown): GatewayError {
    const why = error instanceof Error ? error.message : String(error);
    return new GatewayError('UPSTREAM_BAD_RESPONSE', `ScaleTrade server: ${what} could not be read: ${why.slice(0, 300)}`, { source: this.name, cause: error });
  }
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function emptyProgress(): ScaleTradeProgress {
  return decodeProgress({ active: false, run_id: '', phase: 'idle' });
}

export function isScaleTradeSource(source: unknown): source is ScaleTradeSource {
  return source instanceof ScaleTradeSource;
}
