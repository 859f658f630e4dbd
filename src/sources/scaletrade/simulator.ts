/**
 * A faithful fake ScaleTrade command server on TCP (CRLF-delimited JSON) and WebSocket (one JSON
 * message per text frame), 127.0.0.1, ephemeral ports. Protocol, errors and quirks as in
 * docs/upstreams/scaletrade.md:
 * - `__token` on every request: unknown → 401 INVALID_TOKEN; the viewer token → 403 on every
 *   backup command (Subscribe/Unsubscribe stay open to it).
 * - One backup or restore at a time (409 RET_BACKUP_IN_PROGRESS).
 * - StartFullBackup / StartRestoreRun answer only when the run ends; a failed backup answers an
 *   error reply (500 RET_BACKUP_FAILED) carrying its `run_id`.
 * - `backup.progress` pushes go to sessions subscribed with `chanels`; `channels` is accepted and
 *   subscribes to nothing. The final `done`/100 % travels only on the stream: afterwards
 *   GetBackupProgress shows the idle snapshot (a failed run stays shown until the next one).
 * Manual or realtime clock; fault hooks for tests (see ScaleTradeFault and the methods below).
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import type { ScaleTradeProgressWire, ScaleTradeRestoreRunWire, ScaleTradeRunWire } from './client.js';
import { CRLF, encodeLine, FrameOverflowError, LineDecoder } from './framing.js';
import type { ScaleTradeScenario } from './scenarios.js';
import { restoreViewAt, runViewAt, sec, type RestorePlan, type RunPlan } from './timeline.js';

export type * from './scenarios.js';

export interface ScaleTradeSimulatorOptions {
  scenario: ScaleTradeScenario;
  clock?: 'realtime' | 'manual';
  /** Virtual epoch ms at start (default Date.now()). */
  startAt?: number;
  tokens?: { admin: string; viewer: string };
  host?: string;
  /** Path of the WebSocket endpoint (default `/ws`). */
  wsPath?: string;
  /** Longest request line the server accepts before dropping the connection (default 1 MiB). */
  maxRequestBytes?: number;
  /** PEM certificate and key: the WebSocket endpoint then speaks wss://. */
  tls?: { cert: string; key: string };
}

export type ScaleTradeFault =
  /** The reply is written in `pieces` writes (TCP; WS: as fragments of one message), one tick apart. */
  | { kind: 'split'; pieces?: number }
  /** This reply and the next `frames - 1` replies on the same session go out in ONE write, after a compact push. */
  | { kind: 'coalesce'; frames?: number }
  /** The reply is padded to at least `bytes`. */
  | { kind: 'oversize'; bytes: number }
  /** A line that is not JSON is sent before the reply. */
  | { kind: 'malformed' }
  /** An error reply instead of the command's answer. */
  | { kind: 'error'; code: number; error: string; message?: string; detail?: string }
  /** No reply at all. */
  | { kind: 'hang' }
  /** The connection is closed instead of replying. */
  | { kind: 'drop' };

export interface ScaleTradeRequestRecord {
  command: string;
  transport: 'tcp' | 'ws';
  role: 'admin' | 'viewer' | 'invalid';
  at: number;
}

export interface ScaleTradeSimulator {
  tcpUrl: string;
  wsUrl: string;
  tokens: { admin: string; viewer: string };
  advance(ms: number): void;
  now(): number;
  requests: ReadonlyArray<ScaleTradeRequestRecord>;
  /** Requests of one command (all commands when omitted). */
  countRequests(command?: string): number;
  resetRequests(): void;
  fail(fault: ScaleTradeFault, options?: { count?: number; command?: string }): void;
  clearFaults(): void;
  /** Runs started from now on see this participant fail with `error` (null: stop failing it). */
  failParticipant(name: string, error?: string | null): void;
  /** The active run's progress reports this vendor status instead of its own (null: its own again). */
  overrideStatus(status: string | null): void;
  /** While muted the server pushes nothing, however the run progresses. */
  muteStream(muted: boolean): void;
  /** Cuts every client connection (the listeners stay up). */
  dropConnections(): void;
  /** Stops listening and cuts every connection; `abortRun` also fails the active run, as a crash would. */
  stop(options?: { abortRun?: boolean }): Promise<void>;
  /** Listens again on the same ports. */
  restart(): Promise<void>;
  /** Starts a backup run from the server side (as cron does); returns its run_id. */
  startRun(options?: { trigger?: string; participants?: string[] }): string;
  activeRunId(): string | null;
  connectionCount(): number;
  close(): Promise<void>;
}

const DEFAULT_TOKENS = { admin: 'st-admin-token-0001', viewer: 'st-viewer-token-0002' };
const EVENT_TYPE_BACKUP_PROGRESS = 3;
const OPEN_COMMANDS = new Set(['Subscribe', 'Unsubscribe']);

interface Session {
  transport: 'tcp' | 'ws';
  subscriptions: Set<string>;
  /** Writes texts (each one whole message) in one go: one socket write / one WS message each. */
  write(texts: string[]): void;
  writeSplit(text: string, pieces: number): void;
  close(): void;
  coalescing?: { remaining: number; texts: string[] };
}

class CommandError extends Error {
  constructor(readonly code: number, readonly error: string, message: string, readonly extra: Record<string, unknown> = {}) {
    super(message);
  }
}

const invalid = (message: string): CommandError => new CommandError(400, 'INVALID_DATA', message);

type Reply = Record<string, unknown>;

interface Waiter { session: Session; extID: unknown }
interface ActiveRun { kind: 'backup'; plan: RunPlan; endMs: number; lastSent: string; waiters: Waiter[] }
interface ActiveRestore { kind: 'restore'; plan: RestorePlan; endMs: number; waiters: Waiter[] }

export async function startScaleTradeSimulator(options: ScaleTradeSimulatorOptions): Promise<ScaleTradeSimulator> {
  const scenario = options.scenario;
  const tokens = options.tokens ?? DEFAULT_TOKENS;
  const manual = options.clock === 'manual';
  const realStart = Date.now();
  const startAt = options.startAt ?? realStart;
  let offset = 0;
  const now = (): number => startAt + offset + (manual ? 0 : Date.now() - realStart);

  // --- state ----------------------------------------------------------------------------------
  const runs: ScaleTradeRunWire[] = []; // newest first
  const restores: ScaleTradeRestoreRunWire[] = []; // newest first
  let active: ActiveRun | ActiveRestore | undefined;
  let shown: ScaleTradeProgressWire = idleProgress(undefined, sec(startAt));
  let idSequence = 0;
  let cursor = startAt;
  let muted = false;
  let statusOverride: string | null = null;
  const participantFailures = new Map<string, string>();
  let cronCount = 0;
  let nextCronAt = scenario.schedule ? startAt : Infinity;

  function nextId(atMs: number): string {
    idSequence += 1;
    const d = new Date(atMs).toISOString();
    return `${d.slice(0, 10).replaceAll('-', '')}-${d.slice(11, 19).replaceAll(':', '')}-${String(idSequence).padStart(6, '0')}`;
  }

  function idleProgress(last: ScaleTradeRunWire | undefined, updatedAt: number): ScaleTradeProgressWire {
    return {
      active: false, run_id: '', type: last?.type ?? 'full', trigger: last?.trigger ?? 'manual', status: last?.status ?? '',
      phase: 'idle', message: 'no active backup', current_participant: '', overall_percent: 0, participants_total: 0,
      participants_done: 0, remote_total: 0, remote_done: 0, started_at: 0, updated_at: updatedAt, finished_at: 0, participants: [],
    };
  }

  for (let i = scenario.historyRuns ?? 0; i >= 1; i--) {
    const startMs = startAt - i * 3_600_000;
    const plan = makePlan(nextId(startMs), 'cron', [], startMs, new Map());
    runs.unshift(runViewAt(plan, Infinity).record);
  }

  function makePlan(runId: string, trigger: string, requested: string[], startMs: number, failures: ReadonlyMap<string, string>): RunPlan {
    const seeds = requested.length > 0 ? scenario.participants.filter((p) => requested.includes(p.name)) : scenario.participants;
    return {
      runId, type: requested.length > 0 ? 'scoped' : 'full', trigger, requested: [...requested], startMs,
      participants: seeds.map((seed) => ({ seed, ...(failures.has(seed.name) ? { error: failures.get(seed.name)! } : {}) })),
      validateMs: scenario.validateMs, finalizeMs: scenario.finalizeMs, remoteTargets: scenario.remoteTargets, remoteStepMs: scenario.remoteStepMs,
    };
  }

  function beginRun(trigger: string, requested: string[], startMs: number, failures: ReadonlyMap<string, string>): ActiveRun {
    const plan = makePlan(nextId(startMs), trigger, requested, startMs, failures);
    const run: ActiveRun = { kind: 'backup', plan, endMs: runViewAt(plan, Infinity).endMs, lastSent: '', waiters: [] };
    active = run;
    runs.unshift(runViewAt(plan, startMs).record);
    observe(cursor);
    return run;
  }

  // --- engine: everything moves on the virtual clock ---------------------------------------------
  function observe(at: number): void {
    if (!active) return;
    if (active.kind === 'restore') {
      const view = restoreViewAt(active.plan, at);
      restores[0] = view.record;
      if (view.finished) {
        const done = active;
        active = undefined;
        for (const w of done.waiters) reply(w.session, { extID: w.extID, ...view.record });
      }
      return;
    }
    const run = active;
    const view = runViewAt(run.plan, at);
    runs[0] = view.record;
    if (statusOverride !== null && !view.finished) view.progress = { ...view.progress, status: statusOverride };
    shown = view.progress;
    const { updated_at: _updated, ...comparable } = view.progress;
    const key = JSON.stringify(comparable);
    if (key !== run.lastSent) {
      run.lastSent = key;
      broadcast(view.progress);
    }
    if (!view.finished) return;
    active = undefined;
    // The final state goes out on the stream only; polling then shows idle (a failure stays shown).
    if (view.record.status !== 'failed') shown = idleProgress(view.record, sec(view.endMs));
    for (const w of run.waiters) {
      if (view.record.status === 'failed') {
        reply(w.session, errorReply(w.extID, new CommandError(500, 'RET_BACKUP_FAILED', 'backup run failed', {
          detail: view.record.error_summary, run_id: view.record.run_id,
        })));
      } else reply(w.session, { extID: w.extID, ...view.record });
    }
  }

  function step(to: number): void {
    for (;;) {
      if (cursor >= nextCronAt) startCron();
      if (cursor >= to) return;
      // Stop at every tick, at the active operation's end and at the next cron time.
      cursor = Math.min(to, cursor + scenario.tickMs, nextCronAt, active?.endMs ?? Infinity);
      observe(cursor);
    }
  }

  function startCron(): void {
    const schedule = scenario.schedule!;
    const at = nextCronAt;
    nextCronAt += schedule.everyMs;
    if (active) return; // skipped: one operation at a time
    cronCount += 1;
    const failures = new Map(participantFailures);
    if (schedule.failEvery && cronCount % schedule.failEvery === 0) {
      const critical = scenario.participants.find((p) => p.critical);
      if (critical) failures.set(critical.name, 'snapshot write failed: no space left on device');
    } else if (schedule.partialEvery && cronCount % schedule.partialEvery === 0) {
      const optional = scenario.participants.find((p) => !p.critical);
      if (optional) failures.set(optional.name, 'report export timed out');
    }
    const headStart = cronCount === 1 ? (schedule.headStartMs ?? 0) : 0;
    beginRun('cron', [], at - headStart, failures);
  }

  // --- pushes and replies -------------------------------------------------------------------------
  const sessions = new Set<Session>();

  function broadcast(progress: ScaleTradeProgressWire): void {
    if (muted) return;
    const text = JSON.stringify({ event: 'backup.progress', type: EVENT_TYPE_BACKUP_PROGRESS, data: progress });
    for (const s of sessions) if (s.subscriptions.has('backup.progress')) send(s, text);
  }

  function send(session: Session, text: string): void {
    if (session.coalescing) {
      session.coalescing.texts.push(text);
      return;
    }
    session.write([text]);
  }

  function reply(session: Session, body: Reply, fault?: ScaleTradeFault): void {
    if (!sessions.has(session)) return;
    if (fault?.kind === 'oversize') body = { ...body, padding: 'x'.repeat(fault.bytes) };
    const text = JSON.stringify(body);
    if (fault?.kind === 'malformed') session.write(['{"extID": "oops", this is not json']);
    if (fault?.kind === 'split') return session.writeSplit(text, Math.max(2, fault.pieces ?? 4));
    if (fault?.kind === 'coalesce') {
      session.coalescing = { remaining: Math.max(1, fault.frames ?? 2), texts: [JSON.stringify(['t', 'EURUSD', 1.0841, 1.0843, sec(now())])] };
    }
    const group = session.coalescing;
    if (group) {
      group.texts.push(text);
      group.remaining -= 1;
      if (group.remaining > 0) return;
      session.coalescing = undefined;
      session.write(group.texts);
      return;
    }
    session.write([text]);
  }

  function errorReply(extID: unknown, error: CommandError): Reply {
    return { ...(extID === undefined ? {} : { extID }), error: error.error, message: error.message, ...error.extra, code: error.code };
  }

  // --- commands -----------------------------------------------------------------------------------
  const requests: ScaleTradeRequestRecord[] = [];
  let faults: Array<{ fault: ScaleTradeFault; remaining: number; command: string | undefined }> = [];

  function takeFault(command: string): ScaleTradeFault | undefined {
    const index = faults.findIndex((f) => f.command === undefined || f.command === command);
    const entry = faults[index];
    if (!entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) faults.splice(index, 1);
    return entry.fault;
  }

  function handleLine(session: Session, line: string): void {
    step(now());
    let request: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      request = parsed as Record<string, unknown>;
    } catch {
      reply(session, errorReply(undefined, invalid('request is not a JSON object')));
      return;
    }
    const extID = request['extID'];
    const command = typeof request['command'] === 'string' ? request['command'] : '';
    const token = request['__token'];
    const role = token === tokens.admin ? 'admin' : token === tokens.viewer ? 'viewer' : 'invalid';
    requests.push({ command, transport: session.transport, role, at: now() });
    const fault = takeFault(command);
    if (fault?.kind === 'hang') return;
    if (fault?.kind === 'drop') return session.close();
    try {
      if (fault?.kind === 'error') throw new CommandError(fault.code, fault.error, fault.message ?? 'injected error', fault.detail ? { detail: fault.detail } : {});
      if (role === 'invalid') throw new CommandError(401, 'INVALID_TOKEN', 'Invalid or expired token');
      if (role === 'viewer' && !OPEN_COMMANDS.has(command)) throw new CommandError(403, 'RET_ACCESS_DENIED', 'Session does not have backup access');
      const data = typeof request['data'] === 'object' && request['data'] !== null ? (request['data'] as Record<string, unknown>) : {};
      const answer = execute(session, command, data, extID);
      if (answer) reply(session, { extID, ...answer }, fault);
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      reply(session, errorReply(extID, error), fault);
    }
  }

  /** The command's answer, or undefined when it answers later (blocking commands). */
  function execute(session: Session, command: string, data: Record<string, unknown>, extID: unknown): Reply | undefined {
    switch (command) {
      case 'Subscribe':
      case 'Unsubscribe': {
        // Only the vendor's spelling counts; `channels` is accepted and does nothing.
        const channels = Array.isArray(data['chanels']) ? data['chanels'].filter((c): c is string => typeof c === 'string') : [];
        for (const c of channels) {
          if (command === 'Subscribe') session.subscriptions.add(c);
          else session.subscriptions.delete(c);
        }
        return { status: 200, data: { chanels: [...session.subscriptions] } };
      }
      case 'GetBackupProgress':
        return { ...shown };
      case 'StartFullBackup':
      case 'StartBackupServer': {
        const requested = participantList(data['participants']);
        if (active) throw new CommandError(409, 'RET_BACKUP_IN_PROGRESS', 'A backup or restore is already running');
        beginRun('manual', requested, cursor, participantFailures).waiters.push({ session, extID });
        return undefined;
      }
      case 'GetBackupRuns':
      case 'GetBackupsList':
        return { rows: runs.map((r) => ({ ...r })) };
      case 'GetBackupRun':
        return { ...findRun(requiredId(data['run_id'], 'run_id')) };
      case 'StartRestoreRun':
        startRestore(data).waiters.push({ session, extID });
        return undefined;
      case 'GetRestoreRuns':
        return { rows: restores.map((r) => ({ ...r })) };
      case 'GetRestoreRun': {
        const restoreId = requiredId(data['restore_id'], 'restore_id');
        const found = restores.find((r) => r.restore_id === restoreId);
        if (!found) throw new CommandError(404, 'RESTORE_RUN_NOT_FOUND', 'Restore run was not found');
        return { ...found };
      }
      case 'StopBackupServer':
        throw new CommandError(501, 'RET_CFG_NO_BACKUP_MODULE', 'No backup module configured', { detail: 'Backup transport/cancel runtime is not implemented yet' });
      default:
        throw new CommandError(400, 'INVALID_COMMAND', `Unknown command ${JSON.stringify(command).slice(0, 60)}`);
    }
  }

  function participantList(value: unknown): string[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw invalid('participants must be an array of names');
    const unknown = value.find((v) => !scenario.participants.some((p) => p.name === v));
    if (unknown !== undefined) throw invalid(`unknown participant ${unknown}`);
    return value as string[];
  }

  function requiredId(value: unknown, field: string): string {
    if (typeof value !== 'string' || value === '') throw invalid(`${field} is missing or is not a string`);
    return value;
  }

  function findRun(runId: string): ScaleTradeRunWire {
    const found = runs.find((r) => r.run_id === runId);
    if (!found) throw new CommandError(404, 'BACKUP_RUN_NOT_FOUND', 'Backup run was not found');
    return found;
  }

  function startRestore(data: Record<string, unknown>): ActiveRestore {
    const source = findRun(requiredId(data['run_id'], 'run_id'));
    if (source.status !== 'completed') throw invalid('source backup run must have status completed');
    const available = (source.participants ?? []).map((p) => p.name);
    const requested = participantList(data['participants']);
    const missing = requested.find((name) => !available.includes(name));
    if (missing !== undefined) throw invalid(`participant ${missing} is not in backup run ${source.run_id}`);
    if (active) throw new CommandError(409, 'RET_BACKUP_IN_PROGRESS', 'A backup or restore is already running');
    const plan: RestorePlan = {
      restoreId: nextId(cursor), source, participants: requested.length > 0 ? requested : available,
      dryRun: data['dry_run'] === true, force: data['force'] === true, stepMs: scenario.restoreStepMs, startMs: cursor,
    };
    const restore: ActiveRestore = { kind: 'restore', plan, endMs: restoreViewAt(plan, Infinity).endMs, waiters: [] };
    active = restore;
    restores.unshift(restoreViewAt(plan, cursor).record);
    return restore;
  }

  // --- transports -----------------------------------------------------------------------------
  const host = options.host ?? '127.0.0.1';
  const wsPath = options.wsPath ?? '/ws';
  const maxRequestBytes = options.maxRequestBytes ?? 1024 * 1024;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  function later(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    timers.add(timer);
  }

  function tcpSession(socket: Socket): void {
    sockets.add(socket);
    socket.setNoDelay(true);
    const session: Session = {
      transport: 'tcp',
      subscriptions: new Set(),
      write: (texts) => {
        if (!socket.destroyed) socket.write(texts.map((t) => t + CRLF).join(''));
      },
      writeSplit: (text, pieces) => {
        // Cut points spread over the frame, the last one between `\r` and `\n`.
        const frame = Buffer.from(text + CRLF);
        const cuts = Array.from({ length: pieces - 1 }, (_, i) => Math.floor(((i + 1) * (frame.length - 1)) / pieces));
        cuts[cuts.length - 1] = frame.length - 1;
        const parts = [0, ...cuts].map((from, i) => frame.subarray(from, cuts[i] ?? frame.length));
        parts.forEach((part, i) => later(() => !socket.destroyed && socket.write(part), i * 5));
      },
      close: () => socket.destroy(),
    };
    sessions.add(session);
    const decoder = new LineDecoder(maxRequestBytes);
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const line of decoder.push(chunk)) handleLine(session, line);
      } catch (error) {
        if (error instanceof FrameOverflowError) socket.destroy();
        else throw error;
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      sessions.delete(session);
    });
  }

  function wsSession(ws: WebSocket): void {
    const session: Session = {
      transport: 'ws',
      subscriptions: new Set(),
      write: (texts) => {
        for (const t of texts) if (ws.readyState === WebSocket.OPEN) ws.send(t);
      },
      writeSplit: (text, pieces) => {
        const size = Math.ceil(text.length / pieces);
        for (let i = 0; i < pieces; i++) {
          if (ws.readyState === WebSocket.OPEN) ws.send(text.slice(i * size, (i + 1) * size), { fin: i === pieces - 1 });
        }
      },
      close: () => ws.terminate(),
    };
    sessions.add(session);
    ws.on('message', (data) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      handleLine(session, bytes.toString('utf8'));
    });
    ws.on('error', () => undefined);
    ws.on('close', () => sessions.delete(session));
  }

  let tcpServer: TcpServer;
  let httpServer: HttpServer;
  let wss: WebSocketServer;
  let tcpPort = 0;
  let wsPort = 0;

  async function listen(): Promise<void> {
    tcpServer = createTcpServer(tcpSession);
    const upgradeRequired = (_req: unknown, res: { writeHead(status: number): { end(): void } }): void => res.writeHead(426).end();
    httpServer = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, upgradeRequired) : createHttpServer(upgradeRequired);
    wss = new WebSocketServer({ server: httpServer, path: wsPath, maxPayload: maxRequestBytes });
    wss.on('connection', wsSession);
    const bind = (server: TcpServer | HttpServer, port: number): Promise<number> =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
    tcpPort = await bind(tcpServer, tcpPort);
    wsPort = await bind(httpServer, wsPort);
  }

  function dropConnections(): void {
    for (const s of [...sessions]) s.close();
  }

  async function stopListening(): Promise<void> {
    dropConnections();
    for (const client of wss.clients) client.terminate();
    await Promise.all([
      new Promise<void>((resolve) => tcpServer.close(() => resolve())),
      new Promise<void>((resolve) => {
        wss.close();
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      }),
    ]);
  }

  await listen();
  let ticker: NodeJS.Timeout | undefined;
  if (!manual) {
    ticker = setInterval(() => step(now()), Math.min(250, scenario.tickMs));
    ticker.unref();
  }
  step(now());

  return {
    tcpUrl: `tcp://${host}:${tcpPort}`,
    wsUrl: `${options.tls ? 'wss' : 'ws'}://${host}:${wsPort}${wsPath}`,
    tokens,
    advance(ms) {
      if (!(ms >= 0)) throw new RangeError('advance(ms) needs ms >= 0');
      offset += ms;
      step(now());
    },
    now,
    requests,
    countRequests: (command) => requests.filter((r) => command === undefined || r.command === command).length,
    resetRequests() {
      requests.length = 0;
    },
    fail(fault, o = {}) {
      faults.push({ fault, remaining: o.count ?? 1, command: o.command });
    },
    clearFaults() {
      faults = [];
    },
    failParticipant(name, error = 'participant backup callback failed') {
      if (error === null) participantFailures.delete(name);
      else participantFailures.set(name, error);
    },
    overrideStatus(status) {
      statusOverride = status;
      step(now());
      if (active?.kind === 'backup') {
        active.lastSent = '';
        observe(cursor);
      }
    },
    muteStream(value) {
      muted = value;
    },
    dropConnections,
    async stop(o = {}) {
      step(now());
      if (o.abortRun && active?.kind === 'backup') {
        const record = { ...runViewAt(active.plan, cursor).record, status: 'failed', finished_at: sec(cursor), error_summary: 'server stopped during the run' };
        record.path = `backups/failed/${record.run_id}`;
        runs[0] = record;
        shown = { ...shown, active: false, status: 'failed', phase: 'failed', message: 'server stopped during the run', finished_at: sec(cursor) };
        active = undefined;
      }
      await stopListening();
    },
    restart: listen,
    startRun(o = {}) {
      step(now());
      if (active) throw new Error('a backup or restore is already running');
      return beginRun(o.trigger ?? 'cron', o.participants ?? [], cursor, participantFailures).plan.runId;
    },
    activeRunId: () => (active?.kind === 'backup' ? active.plan.runId : null),
    connectionCount: () => sessions.size,
    async close() {
      if (ticker) clearInterval(ticker);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await stopListening();
    },
  };
}
