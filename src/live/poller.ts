/**
 * Shared, adaptive, deduplicated polling (docs/ARCHITECTURE.md, "Live updates").
 *
 * One loop per resource key, whatever the number of watchers: the first watcher starts it, the last
 * one leaving stops it (and aborts an in-flight fetch). The loop fetches at once, then every
 * `activeMs` while the resource reports something in flight and every `idleMs` otherwise, with
 * jitter. Failures are delivered to every watcher as `error` events, back off exponentially and
 * honour a `retryAfterMs` hint (GatewayError from 429/503 Retry-After); the loop recovers by itself.
 *
 * Watchers get the latest cached event at once, then only changes (structural deep equality).
 * A slow watcher never accumulates an unbounded queue: pending events are coalesced to at most the
 * latest error and the latest value, in their arrival order.
 *
 * Several instances (an `election`, src/cluster/leases.ts): a loop whose spec can be relayed runs
 * on the one instance holding its lease; the others stop calling the upstream and give their
 * watchers what the leader relays, and take over when it goes.
 */

import { joinShared, type LoopElection, type Relay, type SharedPlace } from '../cluster/leases.js';
import { joinWatcher, serialise, Watcher, type QueuedEvent } from './watcher.js';

export { stableStringify } from './watcher.js';

export interface PollSpec<T> {
  /** Resource identity: all watchers with the same key share ONE loop. */
  key: string;
  /** One upstream call. */
  fetch: (signal: AbortSignal) => Promise<T>;
  /** Something in flight → poll at activeMs, else idleMs. */
  isActive: (value: T) => boolean;
  activeMs: number;
  idleMs: number;
  /** Called once per successful fetch (feeds the operation tracker), even if unchanged. */
  onValue?: (value: T) => void;
  onError?: (error: unknown) => void;
  /**
   * A fetched value that is usable but partly broken (e.g. one malformed item): the error it
   * returns is delivered to watchers as an error event right after the value.
   */
  problem?: (value: T) => unknown;
  /**
   * How this loop's answers travel to the instances that follow it (several instances). Without
   * it, every instance polls for its own watchers.
   */
  relay?: Relay<T>;
}

export type PollEvent<T> = { type: 'value'; value: T } | { type: 'error'; error: unknown };

export interface PollerOptions {
  /** Fraction of the interval, ± (default 0.1). */
  jitter?: number;
  /** Cap of the error backoff (default 60 000 ms). A larger `retryAfterMs` still wins. */
  maxBackoffMs?: number;
  /** Source of randomness for the jitter (default Math.random). */
  random?: () => number;
  /** A spec callback threw (a bug, e.g. in a vendor's mapping): the loop goes on, this reports it. */
  onCallbackError?: (key: string, error: unknown) => void;
  /** Runs each tick (tracing makes it a root trace of its own); default: just run it. */
  onTick?: (key: string, tick: () => Promise<void>) => Promise<void>;
  /** Several instances: who runs which loop. Absent: every loop runs here. */
  election?: LoopElection;
}

function retryAfterOf(error: unknown): number | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const value = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

class Loop<T> {
  readonly watchers = new Set<Watcher<T>>();
  private timer: NodeJS.Timeout | undefined;
  private controller: AbortController | undefined;
  private inflight: Promise<void> | undefined;
  private stopped = false;
  private failures = 0;
  private failed = false;
  private lastEmittedSerial: string | null = null;
  lastValue: { value: T } | undefined;
  lastEvent: QueuedEvent<T> | undefined;
  /** Several instances: this instance's place in the election for this loop. */
  private place: SharedPlace<T> | undefined;
  /** The upstream loop runs here (always, without an election). */
  private leading = false;

  constructor(
    readonly spec: PollSpec<T>,
    private readonly options: PollerOptions & Required<Omit<PollerOptions, 'election'>>,
  ) {}

  start(after: Promise<unknown> | undefined): void {
    this.place = joinShared(this.options.election, this.spec.key, this.spec.relay, {
      lead: () => this.lead(after),
      follow: () => this.follow(),
      value: (value) => this.onValue(value),
      error: (error) => this.onError(error),
      bug: (error) => this.options.onCallbackError(this.spec.key, error),
    });
  }

  private lead(after: Promise<unknown> | undefined): void {
    if (this.leading || this.stopped) return;
    this.leading = true;
    if (!after) {
      this.inflight = this.run();
      return;
    }
    // A previous loop for this key is still settling an aborted fetch: never two in flight.
    this.inflight = after.then(() => this.run());
  }

  /** Another instance runs the upstream loop: stop calling the upstream. */
  private follow(): void {
    if (!this.leading) return;
    this.leading = false;
    this.halt();
  }

  /** Stops the loop; returns the promise of a fetch still settling, if any. */
  stop(): Promise<void> | undefined {
    if (this.stopped) return undefined;
    this.stopped = true;
    this.place?.release();
    return this.halt();
  }

  private halt(): Promise<void> | undefined {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const controller = this.controller;
    this.controller = undefined;
    controller?.abort(new DOMException('Polling stopped', 'AbortError'));
    return controller ? this.inflight : undefined;
  }

  private run(): Promise<void> {
    return this.options.onTick(this.spec.key, () => this.tick());
  }

  private async tick(): Promise<void> {
    if (this.stopped || !this.leading) return;
    this.timer = undefined;
    const controller = new AbortController();
    this.controller = controller;
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, value: await this.spec.fetch(controller.signal) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    if (this.controller === controller) this.controller = undefined;
    if (this.stopped || !this.leading) return;
    const delay = outcome.ok ? this.onValue(outcome.value) : this.onError(outcome.error);
    this.relayOutcome(outcome, delay);
    this.schedule(delay);
  }

  /** Leader: the followers get the same outcome (kept for newcomers until the next one is due, and then some). */
  private relayOutcome(outcome: { ok: true; value: T } | { ok: false; error: unknown }, delay: number): void {
    const keepMs = Math.max(delay, this.spec.idleMs) * 2;
    if (outcome.ok) this.place?.relayValue(outcome.value, keepMs);
    else this.place?.relayError(outcome.error, keepMs);
  }

  private schedule(delay: number): void {
    if (this.stopped || !this.leading) return;
    const timer = setTimeout(() => {
      this.inflight = this.run();
    }, Math.max(0, Math.round(delay)));
    timer.unref();
    this.timer = timer;
  }

  private jittered(interval: number): number {
    const { jitter, random } = this.options;
    if (jitter <= 0) return interval;
    return interval * (1 + jitter * (2 * random() - 1));
  }

  /** A failing callback must not break the shared loop; it is reported, and `fallback` used. */
  private safely<R>(fn: () => R, fallback: R): R {
    try {
      return fn();
    } catch (error) {
      this.options.onCallbackError(this.spec.key, error);
      return fallback;
    }
  }

  private onValue(value: T): number {
    this.failures = 0;
    this.lastValue = { value };
    this.safely(() => this.spec.onValue?.(value), undefined);
    const serial = serialise(value);
    const recovering = this.failed;
    this.failed = false;
    if (recovering || serial !== this.lastEmittedSerial) {
      this.lastEmittedSerial = serial;
      this.broadcast({ event: { type: 'value', value }, serial });
    }
    const problem = this.safely(() => this.spec.problem?.(value), undefined);
    if (problem !== undefined) {
      this.failed = true; // the next clean value is delivered again, ending the error
      this.broadcast({ event: { type: 'error', error: problem }, serial: null });
    }
    const active = this.safely(() => this.spec.isActive(value), true);
    return this.jittered(active ? this.spec.activeMs : this.spec.idleMs);
  }

  private onError(error: unknown): number {
    this.failures += 1;
    this.failed = true;
    this.broadcast({ event: { type: 'error', error }, serial: null });
    this.safely(() => this.spec.onError?.(error), undefined);
    const backoff = Math.min(
      this.options.maxBackoffMs,
      this.jittered(this.spec.activeMs * 2 ** Math.min(this.failures, 30)),
    );
    const retryAfter = retryAfterOf(error);
    return retryAfter === undefined ? backoff : Math.max(backoff, retryAfter);
  }

  private broadcast(item: QueuedEvent<T>): void {
    this.lastEvent = item;
    for (const watcher of [...this.watchers]) watcher.push(item);
  }
}

export class PollerHub {
  private readonly options: PollerOptions & Required<Omit<PollerOptions, 'election'>>;
  private readonly loops = new Map<string, Loop<any>>();
  /** Aborted fetches of stopped loops that have not settled yet, by key. */
  private readonly draining = new Map<string, Promise<void>>();
  private closed = false;

  constructor(options: PollerOptions = {}) {
    this.options = {
      jitter: Math.max(0, options.jitter ?? 0.1),
      maxBackoffMs: options.maxBackoffMs ?? 60_000,
      random: options.random ?? Math.random,
      onCallbackError: options.onCallbackError ?? (() => undefined),
      onTick: options.onTick ?? ((_key, tick) => tick()),
      ...(options.election ? { election: options.election } : {}),
    };
  }

  /**
   * Lease on the shared loop for spec.key; the first watcher starts it, the last one leaving
   * (iterator return() or signal abort) stops it and aborts an in-flight fetch.
   */
  watch<T>(spec: PollSpec<T>, signal?: AbortSignal): AsyncIterableIterator<PollEvent<T>> {
    if (this.closed || signal?.aborted) {
      const ended = new Watcher<T>();
      ended.end();
      return ended;
    }
    let loop = this.loops.get(spec.key) as Loop<T> | undefined;
    const starting = !loop;
    if (!loop) {
      loop = new Loop<T>(spec, this.options);
      this.loops.set(spec.key, loop);
    }
    const owner = loop;
    const watcher = joinWatcher(owner, signal, () => this.stopLoop(spec.key, owner));
    if (starting) owner.start(this.drainingFor(spec.key));
    return watcher;
  }

  /** Latest cached value for a key, if a loop is running and has one. */
  peek<T>(key: string): T | undefined {
    const loop = this.loops.get(key) as Loop<T> | undefined;
    return loop?.lastValue?.value;
  }

  activeKeys(): Array<{ key: string; watchers: number }> {
    return [...this.loops].map(([key, loop]) => ({ key, watchers: loop.watchers.size }));
  }

  /** Stops every loop and ends every iterator. Later watch() calls return ended iterators. */
  close(): void {
    this.closed = true;
    for (const loop of [...this.loops.values()]) {
      for (const watcher of [...loop.watchers]) watcher.end();
    }
    for (const [key, loop] of [...this.loops]) this.stopLoop(key, loop);
  }

  private stopLoop<T>(key: string, loop: Loop<T>): void {
    if (this.loops.get(key) === loop) this.loops.delete(key);
    const settling = loop.stop();
    if (!settling) return;
    const done: Promise<void> = settling.then(
      () => undefined,
      () => undefined,
    );
    this.draining.set(key, done);
    void done.then(() => {
      if (this.draining.get(key) === done) this.draining.delete(key);
    });
  }

  /** Wait for a settling fetch of a previous loop, bounded so a hung fetch cannot block the key forever. */
  private drainingFor(key: string): Promise<void> | undefined {
    const settling = this.draining.get(key);
    if (!settling) return undefined;
    const bound = this.options.maxBackoffMs;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, bound);
      timer.unref();
      void settling.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
