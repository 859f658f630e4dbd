/**
 * Shared upstream sessions for pushing upstreams: the stream counterpart of the PollerHub
 * (poller.ts), with the same watcher semantics (docs/SOURCES.md, "A pushing source").
 *
 * One session per key, whatever the number of watchers: the first watcher opens it, the last one
 * leaving closes it. A session that cannot be opened, or drops, is an `error` event for every
 * watcher (never silence) and is reopened after an exponential backoff with jitter. Watchers get
 * the latest event at once, then only changes (structural deep equality); a slow watcher's queue
 * is coalesced to at most the latest error and the latest value. The session state (connecting,
 * connected, reconnecting…) is kept per key and fed to a HealthTracker when the spec gives one.
 *
 * Several instances (an `election`, src/cluster/leases.ts): a session whose spec can be relayed is
 * held by the one instance holding its lease (FOLLOWING elsewhere); the leader relays every value
 * and error, and another instance opens the session when the leader goes.
 */
import { joinShared, type LoopElection, type Relay, type SharedPlace } from '../cluster/leases.js';
import { GatewayError } from '../errors.js';
import type { HealthTracker } from '../sources/health.js';
import type { PollEvent } from './poller.js';
import { joinWatcher, serialise, Watcher, type QueuedEvent } from './watcher.js';

/** What an open session reports to the hub. Calls after the session ended are ignored. */
export interface StreamSink<T> {
  /** The resource's new state (a pushed event, a resynchronisation, a fallback poll). */
  value(value: T): void;
  /** A problem that does not end the session (e.g. one unreadable event). */
  error(error: unknown): void;
}

/** An established session. */
export interface StreamSession {
  /** Settles when the session is over (resolve or reject: the reason, delivered as an error event). */
  ended: Promise<unknown>;
}

export interface StreamSpec<T> {
  /** Resource identity: all watchers with the same key share ONE session. */
  key: string;
  /**
   * Opens one session: connect, subscribe, resynchronise (emitting the current state through the
   * sink), then resolve. Rejects when it cannot. The signal aborts when the hub no longer needs the
   * session (last watcher gone, hub closed): the session must then close itself.
   */
  open(sink: StreamSink<T>, signal: AbortSignal): Promise<StreamSession>;
  /** Fed with the session's state: success on every (re)open, failure on every failed open or drop. */
  health?: HealthTracker;
  /** Source name for the errors the hub makes itself. */
  source?: string;
  /** How this session's values travel to the instances that follow it (several instances); see PollSpec.relay. */
  relay?: Relay<T>;
}

export type StreamState = 'IDLE' | 'CONNECTING' | 'CONNECTED' | 'RECONNECTING' | 'FOLLOWING' | 'CLOSED';

export interface StreamStatus {
  state: StreamState;
  /** ISO 8601: when the current session was established. */
  connectedAt: string | null;
  /** ISO 8601: the last value received (any session). */
  lastEventAt: string | null;
  /** Sessions re-established after a drop or a failed attempt. */
  reconnects: number;
}

export interface StreamHubOptions {
  /** First reconnect delay (default 500 ms); doubles per failed attempt. */
  initialBackoffMs?: number;
  /** Cap of the reconnect delay (default 30 000 ms). */
  maxBackoffMs?: number;
  /** Fraction of the delay, ± (default 0.2). */
  jitter?: number;
  random?: () => number;
  now?: () => number;
  /** Several instances: who holds which session. Absent: every session is held here. */
  election?: LoopElection;
}

/** How long a relayed value stays available to instances that join later. */
const RELAY_KEEP_MS = 60_000;

class Session<T> {
  readonly watchers = new Set<Watcher<T>>();
  status: StreamStatus = { state: 'IDLE', connectedAt: null, lastEventAt: null, reconnects: 0 };
  lastValue: { value: T } | undefined;
  lastEvent: QueuedEvent<T> | undefined;
  private lastSerial: string | null = null;
  /** An error was delivered since the last value: the next value goes out even if unchanged. */
  private failed = false;
  private attempts = 0;
  private controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private place: SharedPlace<T> | undefined;
  private leading = false;

  constructor(
    readonly spec: StreamSpec<T>,
    private readonly options: StreamHubOptions & Required<Omit<StreamHubOptions, 'election'>>,
  ) {}

  start(): void {
    this.place = joinShared(this.options.election, this.spec.key, this.spec.relay, {
      lead: () => {
        if (this.stopped || this.leading) return;
        this.leading = true;
        void this.connect();
      },
      follow: () => {
        this.status = { ...this.status, state: 'FOLLOWING', connectedAt: null };
        if (!this.leading) return;
        this.leading = false;
        this.disconnect();
      },
      value: (value) => this.onValue(value),
      error: (error) => {
        this.failed = true;
        this.broadcast({ event: { type: 'error', error }, serial: null });
      },
      bug: (error) => this.broadcast({ event: { type: 'error', error }, serial: null }),
    });
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.place?.release();
    this.status = { ...this.status, state: 'CLOSED', connectedAt: null };
    this.disconnect();
  }

  private disconnect(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.controller?.abort(new DOMException('Stream stopped', 'AbortError'));
    this.controller = undefined;
  }

  private async connect(): Promise<void> {
    if (this.stopped || !this.leading) return;
    this.timer = undefined;
    const controller = new AbortController();
    this.controller = controller;
    const live = (): boolean => !this.stopped && this.controller === controller;
    const sink: StreamSink<T> = {
      value: (value) => {
        if (!live()) return;
        this.onValue(value);
        this.place?.relayValue(value, RELAY_KEEP_MS);
      },
      error: (error) => {
        if (!live()) return;
        this.broadcast({ event: { type: 'error', error }, serial: null });
        this.place?.relayError(error, RELAY_KEEP_MS);
      },
    };
    this.status = { ...this.status, state: this.attempts > 0 ? 'RECONNECTING' : 'CONNECTING' };
    const started = performance.now();
    let session: StreamSession;
    try {
      session = await this.spec.open(sink, controller.signal);
    } catch (error) {
      if (live()) this.dropped(error);
      return;
    }
    if (!live()) return;
    if (this.attempts > 0) this.status.reconnects += 1;
    this.attempts = 0;
    this.status = { ...this.status, state: 'CONNECTED', connectedAt: new Date(this.options.now()).toISOString() };
    this.spec.health?.success(performance.now() - started);
    const end = (reason: unknown): void => {
      if (live()) this.dropped(reason ?? this.hubError('the stream session ended'));
    };
    session.ended.then(end, end);
  }

  private dropped(error: unknown): void {
    this.controller?.abort(new DOMException('Stream dropped', 'AbortError'));
    this.controller = undefined;
    this.attempts += 1;
    this.failed = true;
    this.status = { ...this.status, state: 'RECONNECTING', connectedAt: null };
    this.spec.health?.failure(error);
    this.broadcast({ event: { type: 'error', error }, serial: null });
    this.place?.relayError(error, RELAY_KEEP_MS);
    const { initialBackoffMs, maxBackoffMs, jitter, random } = this.options;
    const base = Math.min(maxBackoffMs, initialBackoffMs * 2 ** Math.min(this.attempts - 1, 30));
    const delay = base * (1 + jitter * (2 * random() - 1));
    this.timer = setTimeout(() => void this.connect(), Math.max(0, Math.round(delay)));
    this.timer.unref();
  }

  private onValue(value: T): void {
    this.lastValue = { value };
    this.status = { ...this.status, lastEventAt: new Date(this.options.now()).toISOString() };
    const serial = serialise(value);
    if (!this.failed && serial === this.lastSerial) return;
    this.failed = false;
    this.lastSerial = serial;
    this.broadcast({ event: { type: 'value', value }, serial });
  }

  private broadcast(item: QueuedEvent<T>): void {
    this.lastEvent = item;
    for (const watcher of [...this.watchers]) watcher.push(item);
  }

  private hubError(message: string): GatewayError {
    return new GatewayError('UPSTREAM_UNAVAILABLE', message, { source: this.spec.source });
  }
}

export class StreamHub {
  private readonly options: StreamHubOptions & Required<Omit<StreamHubOptions, 'election'>>;
  private readonly sessions = new Map<string, Session<any>>();
  /** Status of keys whose session stopped, so reconnect counts and last event survive a pause. */
  private readonly past = new Map<string, StreamStatus>();
  private closed = false;

  constructor(options: StreamHubOptions = {}) {
    this.options = {
      initialBackoffMs: options.initialBackoffMs ?? 500,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
      jitter: Math.max(0, options.jitter ?? 0.2),
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
      ...(options.election ? { election: options.election } : {}),
    };
  }

  /**
   * Lease on the shared session for spec.key; the first watcher opens it, the last one leaving
   * (iterator return() or signal abort) closes it.
   */
  watch<T>(spec: StreamSpec<T>, signal?: AbortSignal): AsyncIterableIterator<PollEvent<T>> {
    if (this.closed || signal?.aborted) {
      const ended = new Watcher<T>();
      ended.end();
      return ended;
    }
    let session = this.sessions.get(spec.key) as Session<T> | undefined;
    const starting = !session;
    if (!session) {
      session = new Session<T>(spec, this.options);
      const before = this.past.get(spec.key);
      if (before) session.status = { ...before, state: 'IDLE', connectedAt: null };
      this.sessions.set(spec.key, session);
    }
    const owner = session;
    const watcher = joinWatcher(owner, signal, () => this.stopSession(spec.key, owner));
    if (starting) owner.start();
    return watcher;
  }

  /** Latest value of a running session, if it has one. */
  peek<T>(key: string): T | undefined {
    return (this.sessions.get(key) as Session<T> | undefined)?.lastValue?.value;
  }

  /** The session state of a key (IDLE when nobody watches it). */
  status(key: string): StreamStatus {
    const session = this.sessions.get(key);
    if (session) return { ...session.status };
    const before = this.past.get(key);
    return before ? { ...before } : { state: this.closed ? 'CLOSED' : 'IDLE', connectedAt: null, lastEventAt: null, reconnects: 0 };
  }

  activeKeys(): Array<{ key: string; watchers: number }> {
    return [...this.sessions].map(([key, session]) => ({ key, watchers: session.watchers.size }));
  }

  /** Closes every session and ends every iterator. Later watch() calls return ended iterators. */
  close(): void {
    this.closed = true;
    for (const session of [...this.sessions.values()]) for (const watcher of [...session.watchers]) watcher.end();
    for (const [key, session] of [...this.sessions]) this.stopSession(key, session);
  }

  private stopSession<T>(key: string, session: Session<T>): void {
    if (this.sessions.get(key) === session) this.sessions.delete(key);
    session.stop();
    this.past.set(key, { ...session.status, state: this.closed ? 'CLOSED' : 'IDLE' });
  }
}
