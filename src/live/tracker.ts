/**
 * The operation tracker: the one place that turns what the upstreams report (listings from shared
 * pollers, stream updates, mutation results) into operation events.
 *
 * - Diffs every reported snapshot against the last one of the same id: new → STARTED, structurally
 *   changed → PROGRESSED, or FINISHED when the new status is final. An operation that is final when
 *   first observed is FINISHED once. A finished operation is not reported again for the same final
 *   state; if it comes back non-final it starts again.
 * - Closes operations that vanish from a scope listing with the source's final state (docs/ARCHITECTURE.md, "Live updates":
 *   the final state is never lost).
 * - Fills in rate/ETA from successive samples when the vendor does not give them.
 * - With `progressGapMs`, publishes changes of progress alone (same status, vendor status and
 *   message) at most once per gap per operation: a change that comes sooner is held and published
 *   when the gap has passed, with the state current then. Status changes, final states and new
 *   operations are never held, and settled() publishes what is held. Listings fetched for queries
 *   can come a thousand times a second, and each would otherwise be a recorded, published event.
 * - Records events in history (with a transition row when status or percent changed), then
 *   publishes them with their event id, one at a time in the order observed. An event the history
 *   says is a duplicate (another instance recorded the same change) is not published again.
 * - With several instances on one event bus, absorbs the events other instances publish, so that
 *   its own view stays current without polling (docs/ARCHITECTURE.md, "Several instances").
 *
 * "Structurally changed" compares what the vendor reported — status, vendorStatus, progress,
 * message, detail — never the gateway's own figures nor timestamps, so an unchanged upstream never
 * produces events however often it is polled.
 */
import { createHash } from 'node:crypto';
import {
  isFinal,
  type OperationEvent,
  type OperationSnapshot,
  type OperationTransition,
} from '../model/operation.js';
import { stableStringify } from './poller.js';
import { addSample, applyEstimate, sampleOf, type ProgressSample } from './progress-estimator.js';
import type { GatewayPubSub } from './pubsub.js';
import type { RecordInput, RecordResult } from '../history/history.js';

export interface HistorySink {
  record(input: RecordInput): Promise<RecordResult>;
}

export interface OperationTrackerOptions {
  pubsub: GatewayPubSub;
  history?: HistorySink;
  now?: () => number;
  /** Sliding window of the rate/ETA estimator (default 60 000 ms). */
  estimatorWindowMs?: number;
  /**
   * Finished operations no scope lists any more are kept in memory (to suppress duplicate FINISHED
   * events and answer current()) up to this many, oldest forgotten first (default 10 000).
   */
  maxFinished?: number;
  /** Called when the history sink or the pubsub throws (events keep flowing). */
  onError?: (error: unknown) => void;
  /** Called for every event published (metrics). */
  onEvent?: (event: OperationEvent) => void;
  /** This instance's name on a shared event bus (events it publishes carry it as `origin`). */
  instanceId?: string;
  /** Minimum time between two events of one operation that differ only in progress (default 0: none). */
  progressGapMs?: number;
}

interface Tracked {
  /** Latest state, with the gateway's figures. */
  snapshot: OperationSnapshot;
  /** What the vendor reported last time (compared with sameReport). */
  reported: OperationSnapshot;
  /** The last published/recorded snapshot (for transitions). */
  published: OperationSnapshot;
  /** What the vendor had reported when it was published. */
  publishedReport: OperationSnapshot;
  /** When the last event was emitted (the tracker's clock). */
  emittedAt: number;
  /** A progress change held back (progressGapMs), published when this fires. */
  held?: NodeJS.Timeout | undefined;
  samples: ProgressSample[];
  finished: boolean;
}

/**
 * Whether the vendor reported the same thing twice: structuralKey(a) === structuralKey(b), without
 * building either (an observation that changed nothing is the common case and needs no string).
 */
function sameReport(a: OperationSnapshot, b: OperationSnapshot): boolean {
  if (!sameHeadline(a, b)) return false;
  try {
    return jsonEqual(a.progress, b.progress) && jsonEqual(a.detail, b.detail);
  } catch {
    return false; // too deep, or a cycle: as structuralKey, a change
  }
}

/**
 * Equality as JSON sees it (member order aside), for plain data: anything else, and the few values
 * JSON writes alike (undefined members, NaN, Infinity and null), are compared through stableStringify.
 */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    const approximate = a === undefined || b === undefined || (typeof a === 'number' && !Number.isFinite(a)) || (typeof b === 'number' && !Number.isFinite(b));
    return approximate && stableStringify(a) === stableStringify(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  const keysA = Object.keys(a);
  if (!isPlainObject(a) || !isPlainObject(b) || keysA.length !== Object.keys(b).length) return stableStringify(a) === stableStringify(b);
  for (const key of keysA) {
    if (!Object.hasOwn(b, key)) return stableStringify(a) === stableStringify(b);
    if (!jsonEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false;
  }
  return true;
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

function structuralKey(snapshot: OperationSnapshot): string {
  try {
    return stableStringify([
      snapshot.status,
      snapshot.vendorStatus,
      snapshot.progress,
      snapshot.message,
      snapshot.detail,
    ]);
  } catch {
    return `\u0000unique#${Math.random()}`;
  }
}

/**
 * A deep copy, so that what the tracker keeps and what it publishes cannot be changed by anyone
 * else. Snapshots are plain JSON-like data (history stores them as JSON), which this copies about
 * six times faster than structuredClone; anything else still goes through structuredClone.
 */
function clone<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(clone) as T;
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return structuredCloneOrJson(value);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = clone((value as Record<string, unknown>)[key]);
  return copy as T;
}

/** Same status, vendor status and message: two states that differ, if at all, in progress and detail only. */
function sameHeadline(a: OperationSnapshot, b: OperationSnapshot): boolean {
  return a.status === b.status && a.vendorStatus === b.vendorStatus && a.message === b.message;
}

/** Drops a held progress change (a newer event supersedes it). */
function release(tracked: Tracked): void {
  if (tracked.held) clearTimeout(tracked.held);
  tracked.held = undefined;
}

function structuredCloneOrJson<T>(value: T): T {
  try {
    return structuredClone(value);
  } catch {
    return JSON.parse(JSON.stringify(value)) as T;
  }
}

export class OperationTracker {
  private readonly pubsub: GatewayPubSub;
  private readonly history: HistorySink | undefined;
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly maxFinished: number;
  private readonly onError: (error: unknown) => void;
  private readonly onEvent: (event: OperationEvent) => void;
  private readonly ops = new Map<string, Tracked>();
  /** Ids in the latest listing of each scope. */
  private readonly scopes = new Map<string, Set<string>>();
  /** How many scope listings each id is in. */
  private readonly listed = new Map<string, number>();
  /** Ids no scope lists (observeOne, vanished), oldest first (Map keeps insertion order). */
  private readonly unlisted = new Map<string, true>();
  private readonly instanceId: string | undefined;
  private readonly progressGapMs: number;
  /** Recording and publishing, one event after the other. */
  private pipeline: Promise<void> = Promise.resolve();

  constructor(options: OperationTrackerOptions) {
    this.instanceId = options.instanceId;
    this.pubsub = options.pubsub;
    this.history = options.history;
    this.now = options.now ?? Date.now;
    this.windowMs = options.estimatorWindowMs ?? 60_000;
    this.maxFinished = Math.max(0, options.maxFinished ?? 10_000);
    this.onError = options.onError ?? (() => undefined);
    this.onEvent = options.onEvent ?? (() => undefined);
    this.progressGapMs = Math.max(0, options.progressGapMs ?? 0);
  }

  /**
   * Report everything currently visible in `scope` (one upstream listing). Ids seen before in this
   * scope but now absent are closed with `closeMissing(last)`. Returns the events emitted.
   */
  observe(
    scope: string,
    snapshots: OperationSnapshot[],
    closeMissing: (last: OperationSnapshot) => OperationSnapshot,
    options: { partial?: boolean } = {},
  ): OperationEvent[] {
    const events: OperationEvent[] = [];
    const previous = this.scopes.get(scope) ?? new Set<string>();
    const present = new Set<string>();
    for (const snapshot of snapshots) {
      if (present.has(snapshot.id)) continue; // a listing naming an id twice: first one wins
      present.add(snapshot.id);
      const event = this.apply(snapshot);
      if (event) events.push(event);
    }
    for (const id of previous) {
      if (present.has(id)) continue;
      if (options.partial) {
        // Some items of this listing could not be read: an absent operation may be one of them,
        // so it stays open (and in the scope) until a complete listing says otherwise.
        present.add(id);
        continue;
      }
      const tracked = this.ops.get(id);
      if (!tracked || tracked.finished) continue;
      let closed: OperationSnapshot;
      try {
        closed = closeMissing(clone(tracked.snapshot));
      } catch (error) {
        this.onError(error);
        continue;
      }
      const event = this.apply({ ...closed, id });
      if (event) events.push(event);
    }
    this.setScope(scope, previous, present);
    return events;
  }

  /** Report one operation outside a scope listing (e.g. a mutation's result). Same diff rules. */
  observeOne(snapshot: OperationSnapshot): OperationEvent | null {
    const event = this.apply(snapshot);
    if (!this.listed.has(snapshot.id)) this.touchUnlisted(snapshot.id);
    return event;
  }

  /**
   * Takes over open operations as members of `scope`, without events: those open when the gateway
   * last stopped (from history), or those another instance was following (absorbed) when this one
   * takes its loop over. The next listing continues them or closes them as vanished.
   */
  adopt(scope: string, snapshots: OperationSnapshot[]): void {
    const previous = this.scopes.get(scope) ?? new Set<string>();
    const present = new Set(previous);
    for (const snapshot of snapshots) {
      if (isFinal(snapshot.status)) continue;
      const known = this.ops.get(snapshot.id);
      if (known?.finished) continue;
      if (!known) {
        const reported = clone(snapshot);
        this.ops.set(snapshot.id, { snapshot: clone(snapshot), reported, published: clone(snapshot), publishedReport: reported, emittedAt: Number.NEGATIVE_INFINITY, samples: [], finished: false });
      }
      present.add(snapshot.id);
    }
    this.setScope(scope, previous, present);
  }

  /**
   * An event another instance published: this instance's view follows it, without an event of its
   * own (so its next observation of the same state is no change, and a later takeover continues
   * from there).
   */
  absorb(event: OperationEvent): void {
    if (this.instanceId === undefined || event.origin === this.instanceId) return;
    const snapshot = event.operation;
    const final = isFinal(snapshot.status);
    const tracked = this.ops.get(snapshot.id);
    // The other instance published a newer state: what this one held back is older.
    if (tracked) release(tracked);
    const reported = clone(snapshot);
    const entry: Tracked = { snapshot: clone(snapshot), reported, published: clone(snapshot), publishedReport: reported, emittedAt: this.now(), samples: tracked?.samples ?? [], finished: final };
    if (final) entry.samples = [];
    this.ops.set(snapshot.id, entry);
    if (!this.listed.has(snapshot.id)) this.touchUnlisted(snapshot.id);
  }

  /** Resolves when every event observed so far is recorded and published (held ones included). */
  settled(): Promise<void> {
    for (const [id, tracked] of this.ops) if (tracked.held) this.publishHeld(id);
    return this.pipeline;
  }

  /**
   * Makes operations reported outside a listing (observeOne) members of `scope`, so the scope's
   * next listing continues them or closes them as vanished.
   */
  include(scope: string, ids: readonly string[]): void {
    const previous = this.scopes.get(scope) ?? new Set<string>();
    const present = new Set(previous);
    for (const id of ids) if (this.ops.has(id)) present.add(id);
    this.setScope(scope, previous, present);
  }

  /** The open operations of one scope, as last observed. */
  openIn(scope: string): OperationSnapshot[] {
    const ids = this.scopes.get(scope) ?? new Set<string>();
    return [...ids].flatMap((id) => {
      const tracked = this.ops.get(id);
      return tracked && !tracked.finished ? [clone(tracked.snapshot)] : [];
    });
  }

  /** Latest known (live) state. */
  current(id: string): OperationSnapshot | undefined {
    const tracked = this.ops.get(id);
    return tracked ? clone(tracked.snapshot) : undefined;
  }

  /** Every operation currently not final. */
  active(): OperationSnapshot[] {
    const result: OperationSnapshot[] = [];
    for (const tracked of this.ops.values()) if (!tracked.finished) result.push(clone(tracked.snapshot));
    return result;
  }

  private apply(input: OperationSnapshot): OperationEvent | null {
    const reported = clone(input);
    const at = this.now();
    const final = isFinal(reported.status);
    const tracked = this.ops.get(reported.id);

    if (!tracked || (tracked.finished && !final)) {
      // New, or a finished operation that came back non-final: it starts (again).
      const samples = final ? [] : addSample([], sampleOf(reported.progress, at), this.windowMs);
      const snapshot = { ...reported, progress: applyEstimate(reported.progress, samples, final) };
      if (tracked) release(tracked);
      const entry: Tracked = { snapshot, reported, published: snapshot, publishedReport: reported, emittedAt: at, samples, finished: final };
      this.ops.set(reported.id, entry);
      return this.emit(final ? 'FINISHED' : 'STARTED', entry, null, at);
    }

    if (tracked.finished) {
      // Final → final: only a different final state is worth an event.
      if (sameReport(reported, tracked.reported)) return null;
      const snapshot = { ...reported, progress: applyEstimate(reported.progress, [], true) };
      const before = tracked.published;
      Object.assign(tracked, { snapshot, reported, published: snapshot, publishedReport: reported, samples: [] });
      return this.emit('FINISHED', tracked, before, at);
    }

    // Live operation.
    const samples = final ? [] : addSample(tracked.samples, sampleOf(reported.progress, at), this.windowMs);
    const snapshot = { ...reported, progress: applyEstimate(reported.progress, samples, final) };
    tracked.samples = samples;
    tracked.snapshot = snapshot;
    if (sameReport(reported, tracked.reported)) return null; // unchanged upstream: current() refreshed, no event
    tracked.reported = reported;
    const before = tracked.published;
    if (!final && at - tracked.emittedAt < this.progressGapMs && sameHeadline(before, snapshot)) {
      // Held: published once the gap has passed, with the state current then (publishHeld).
      tracked.held ??= setTimeout(() => this.publishHeld(reported.id), tracked.emittedAt + this.progressGapMs - at);
      return null;
    }
    release(tracked);
    tracked.published = snapshot;
    tracked.publishedReport = reported;
    tracked.finished = final;
    return this.emit(final ? 'FINISHED' : 'PROGRESSED', tracked, before, at);
  }

  /** Publishes a held progress change with the operation's state now (unless it is back where it was). */
  private publishHeld(id: string): void {
    const tracked = this.ops.get(id);
    if (!tracked?.held) return;
    release(tracked);
    if (tracked.finished || sameReport(tracked.reported, tracked.publishedReport)) return;
    const before = tracked.published;
    tracked.published = tracked.snapshot;
    tracked.publishedReport = tracked.reported;
    this.emit('PROGRESSED', tracked, before, this.now());
  }

  private emit(
    change: OperationEvent['change'],
    tracked: Tracked,
    before: OperationSnapshot | null,
    at: number,
  ): OperationEvent {
    const operation = tracked.snapshot;
    tracked.emittedAt = at;
    const event: OperationEvent = { change, operation: clone(operation), ...(this.instanceId === undefined ? {} : { origin: this.instanceId }) };
    const transitioned =
      !before ||
      before.status !== operation.status ||
      before.progress.percent !== operation.progress.percent ||
      change === 'STARTED';
    const transition: OperationTransition | null = transitioned
      ? { at: new Date(at).toISOString(), status: operation.status, percent: operation.progress.percent, message: operation.message }
      : null;
    // Only events need the key (another instance's identical change has the same digest).
    const digest = structuralKey(tracked.reported);
    // In order: an event is published only once recorded (it then has its id), and never before
    // the events observed earlier.
    this.pipeline = this.pipeline.then(() => this.deliver(event, transition, digest));
    return event;
  }

  private async deliver(event: OperationEvent, transition: OperationTransition | null, digest: string): Promise<void> {
    if (this.history) {
      try {
        const recorded = await this.history.record({ event, transition, digest: createHash('sha256').update(digest).digest('base64url') });
        if (recorded.duplicate) return;
        event.eventId = recorded.eventId;
      } catch (error) {
        // Live subscribers still get it (without an id): a history outage loses no final state.
        this.onError(error);
      }
    }
    try {
      this.pubsub.publish('operation', event.operation.id, event);
      this.pubsub.publish('operations', event);
    } catch (error) {
      this.onError(error);
    }
    this.onEvent(event);
  }

  private setScope(scope: string, previous: Set<string>, present: Set<string>): void {
    for (const id of previous) {
      if (present.has(id)) continue;
      const count = (this.listed.get(id) ?? 1) - 1;
      if (count > 0) this.listed.set(id, count);
      else {
        this.listed.delete(id);
        this.touchUnlisted(id);
      }
    }
    for (const id of present) {
      if (previous.has(id)) continue;
      this.listed.set(id, (this.listed.get(id) ?? 0) + 1);
      this.unlisted.delete(id);
    }
    if (present.size === 0) this.scopes.delete(scope);
    else this.scopes.set(scope, present);
    this.evictFinished();
  }

  /** Remembers an id no scope lists; it is forgotten (oldest first) once finished and over the cap. */
  private touchUnlisted(id: string): void {
    this.unlisted.delete(id);
    this.unlisted.set(id, true);
    this.evictFinished();
  }

  private evictFinished(): void {
    if (this.unlisted.size <= this.maxFinished) return;
    for (const id of this.unlisted.keys()) {
      if (this.unlisted.size <= this.maxFinished) break;
      const tracked = this.ops.get(id);
      if (tracked && !tracked.finished) continue; // live operations are never forgotten
      this.unlisted.delete(id);
      this.ops.delete(id);
    }
  }
}
