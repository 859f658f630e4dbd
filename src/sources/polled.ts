import { GatewayError } from '../errors.js';
import type { PollSpec } from '../live/poller.js';
import type { DecodedId } from '../model/ids.js';
import { isFinal, type OperationSnapshot } from '../model/operation.js';
import { HealthTracker } from './health.js';
import type { SourceServices } from './kind.js';
import type { LiveFeed, SourceRuntime } from './source.js';

/**
 * The base of every polled vendor (docs/SOURCES.md). A vendor says what to fetch per scope, how
 * to read one item, which operations the items show and how to close one that vanished; the base
 * owns the mechanics: concurrent listings of a scope share one upstream call, each listing is
 * decoded item by item and reported to the tracker once, malformed items are left out (logged,
 * counted, the source DEGRADED, watchers get an error event) while the rest resolves, runs without
 * a vendor identity get one from their start time, and operations open when the gateway stopped
 * are taken over from history.
 */

/** One decoded upstream listing. */
export interface Listing<Item> {
  items: Item[];
  /** Items that could not be read, one error each (naming the item and what is wrong). */
  failures: GatewayError[];
  /** Something in this listing is in flight (poll fast). */
  active: boolean;
}

/** Start times of runs the vendor gives no identity or timestamp for, by run key. */
export interface RunClock {
  /** When the run on this object started (first seen), ISO 8601; the same until it ends. */
  start(runKey: string): string;
}

/** One polled resource of a source: one upstream call lists everything in it. */
export interface PolledScope<Item> {
  /** Unique within the source, e.g. "project:acme-prod". */
  key: string;
  /** One upstream call; resolves to the raw wire items. */
  fetch(signal?: AbortSignal): Promise<unknown[]>;
  /** One wire item → model; throws when the item is malformed (the error names the field). */
  decode(raw: unknown, index: number): Item;
  /** The operations these items show (in flight, or finished when the vendor shows that). */
  operations(items: Item[], context: { now: string; runs: RunClock }): OperationSnapshot[];
  /** The final state of an open operation the items no longer show, from what they show instead. */
  close(last: OperationSnapshot, items: Item[], now: string): OperationSnapshot;
}

export interface PolledSourceOptions {
  name: string;
  kind: string;
  /** Human name of the upstream ("Aiven API"), for messages. */
  upstream: string;
  poll: { activeMs: number; idleMs: number };
}

export abstract class PolledSource<Item> implements SourceRuntime {
  readonly name: string;
  readonly kind: string;
  readonly health = new HealthTracker();
  protected readonly services: SourceServices;
  private readonly options: PolledSourceOptions;
  private readonly inflight = new Map<string, Promise<Listing<Item>>>();
  /** scope key → run key → start time. */
  private readonly runStarts = new Map<string, Map<string, string>>();
  private readonly adopted = new Set<string>();
  /** Last logged item-failure summary per scope, so a listing polled every second logs a problem once. */
  private readonly loggedFailures = new Map<string, string>();
  /** The wire items of each listing, relayed as they came to instances that follow the loop. */
  private readonly wireItems = new WeakMap<Listing<Item>, unknown[]>();

  constructor(options: PolledSourceOptions, services: SourceServices) {
    this.options = options;
    this.name = options.name;
    this.kind = options.kind;
    this.services = services;
  }

  /** Every scope of this source (may call the upstream to discover them). */
  abstract scopes(signal?: AbortSignal): Promise<PolledScope<Item>[]>;
  /** The scope whose listing shows this operation, if it is one of this source's. */
  protected abstract scopeFor(operation: DecodedId): PolledScope<Item> | undefined;
  /** The scope key of one of this source's operations (to take it over from history). */
  protected abstract scopeKeyOf(operation: OperationSnapshot): string | undefined;
  /** The run key an operation was started under with RunClock, if the vendor needs one. */
  protected runKeyOf(_operation: OperationSnapshot): string | undefined {
    return undefined;
  }

  abstract version(): Promise<string | null>;
  abstract close(): Promise<void>;

  async probe(signal?: AbortSignal): Promise<void> {
    const [first] = await this.scopes(signal);
    if (first) await this.list(first, signal);
  }

  /**
   * The current listing of a scope, reported to the tracker. Callers arriving while a call for the
   * scope is under way share it; the shared call is not tied to one caller's signal (the HTTP
   * budget bounds it), each caller only stops waiting on its own.
   */
  list(scope: PolledScope<Item>, signal?: AbortSignal): Promise<Listing<Item>> {
    let pending = this.inflight.get(scope.key);
    if (!pending) {
      pending = this.load(scope).finally(() => this.inflight.delete(scope.key));
      this.inflight.set(scope.key, pending);
    }
    return signal ? abortable(pending, signal) : pending;
  }

  /** The shared live loop of a scope (one upstream call per interval whatever the watchers). */
  feed(scope: PolledScope<Item>): LiveFeed {
    const spec: PollSpec<Listing<Item>> = {
      key: this.feedKey(scope),
      fetch: (signal) => this.list(scope, signal),
      isActive: (listing) => listing.active,
      problem: (listing) => summarise(listing.failures, this.name),
      activeMs: this.options.poll.activeMs,
      idleMs: this.options.poll.idleMs,
      relay: {
        encode: (listing) => ({ items: this.wireItems.get(listing) ?? [], active: listing.active }),
        decode: (wire) => this.readRelayed(scope, wire),
        onLead: () => this.takeOver(scope),
      },
    };
    return { key: spec.key, watch: (signal) => this.services.poller.watch(spec, signal) };
  }

  /**
   * A listing another instance fetched (it leads this scope's loop): decoded for this instance's
   * watchers, not reported to the tracker (the leader's events are, and reach every instance).
   */
  private readRelayed(scope: PolledScope<Item>, wire: unknown): Listing<Item> {
    const { items: raw, active } = (wire ?? {}) as { items?: unknown; active?: unknown };
    const items: Item[] = [];
    const failures: GatewayError[] = [];
    (Array.isArray(raw) ? raw : []).forEach((entry, index) => {
      try {
        items.push(scope.decode(entry, index));
      } catch (error) {
        failures.push(this.itemError(scope, index, error));
      }
    });
    return { items, failures, active: active === true };
  }

  /**
   * This instance takes a scope's loop over from another: the operations it followed through the
   * other's events become members of the scope, so the next listing continues or closes them.
   */
  private takeOver(scope: PolledScope<Item>): void {
    const open = this.services.tracker.active().filter((op) => op.source === this.name && this.scopeKeyOf(op) === scope.key);
    this.services.tracker.adopt(this.trackerScope(scope), open);
    const starts = this.startsOf(scope.key);
    for (const op of open) {
      const runKey = this.runKeyOf(op);
      if (runKey && op.startedAt && !starts.has(runKey)) starts.set(runKey, op.startedAt);
    }
  }

  /** Scopes a live loop already keeps current are skipped. */
  async refreshOperations(signal?: AbortSignal): Promise<void> {
    const stale = (await this.scopes(signal)).filter((scope) => this.services.poller.peek(this.feedKey(scope)) === undefined);
    await Promise.all(stale.map((scope) => this.list(scope, signal)));
  }

  async feeds(signal?: AbortSignal): Promise<LiveFeed[]> {
    return (await this.scopes(signal)).map((scope) => this.feed(scope));
  }

  feedFor(operation: DecodedId): LiveFeed | undefined {
    if (operation.parts[0] !== this.name) return undefined;
    const scope = this.scopeFor(operation);
    return scope && this.feed(scope);
  }

  /**
   * Items seen outside a listing (a single get, a mutation's answer): their operations are
   * reported, and the scope's open operations they `cover` but no longer show are closed.
   */
  protected observeItems(scope: PolledScope<Item>, items: Item[], covers: (operation: OperationSnapshot) => boolean): OperationSnapshot[] {
    const now = new Date().toISOString();
    const starts = this.startsOf(scope.key);
    const snapshots = scope.operations(items, { now, runs: { start: (key) => starts.get(key) ?? now } });
    const tracker = this.services.tracker;
    for (const snapshot of snapshots) {
      tracker.observeOne(snapshot);
      const runKey = this.runKeyOf(snapshot);
      if (runKey && !isFinal(snapshot.status) && snapshot.startedAt) starts.set(runKey, snapshot.startedAt);
    }
    tracker.include(this.trackerScope(scope), snapshots.filter((s) => !isFinal(s.status)).map((s) => s.id));
    const shown = new Set(snapshots.map((s) => s.id));
    for (const last of tracker.openIn(this.trackerScope(scope))) {
      if (shown.has(last.id) || !covers(last)) continue;
      tracker.observeOne({ ...scope.close(last, items, now), id: last.id });
      const runKey = this.runKeyOf(last);
      if (runKey) starts.delete(runKey);
    }
    return snapshots;
  }

  /** One item read outside a listing (a single get, a mutation's answer); unreadable → UPSTREAM_BAD_RESPONSE. */
  protected decodeOne(scope: PolledScope<Item>, raw: unknown): Item {
    try {
      return scope.decode(raw, 0);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new GatewayError('UPSTREAM_BAD_RESPONSE', `${this.options.upstream}: the answer could not be read: ${why.slice(0, 300)}`, { source: this.name, cause: error });
    }
  }

  /** The start time of the run in flight on an object (RunClock key), if there is one. */
  protected runStartOf(scope: PolledScope<Item>, runKey: string): string | undefined {
    return this.runStarts.get(scope.key)?.get(runKey);
  }

  private async load(scope: PolledScope<Item>): Promise<Listing<Item>> {
    await this.adoptOnce(scope);
    const raw = await scope.fetch();
    if (!Array.isArray(raw)) {
      const error = new GatewayError('UPSTREAM_BAD_RESPONSE', `${this.options.upstream}: the listing of ${scope.key} is not a list`, { source: this.name });
      this.health.failure(error);
      throw error;
    }
    const items: Item[] = [];
    const failures: GatewayError[] = [];
    raw.forEach((entry, index) => {
      try {
        items.push(scope.decode(entry, index));
      } catch (error) {
        failures.push(this.itemError(scope, index, error));
      }
    });
    const listing: Listing<Item> = { items, failures, active: this.observe(scope, items, failures) };
    this.wireItems.set(listing, raw);
    return listing;
  }

  /** Reports one listing to the tracker; returns whether anything is in flight. */
  private observe(scope: PolledScope<Item>, items: Item[], failures: GatewayError[]): boolean {
    const now = new Date().toISOString();
    const starts = this.startsOf(scope.key);
    const touched = new Set<string>();
    const runs: RunClock = {
      start: (key) => {
        touched.add(key);
        let at = starts.get(key);
        if (at === undefined) starts.set(key, (at = now));
        return at;
      },
    };
    const snapshots = scope.operations(items, { now, runs });
    const partial = failures.length > 0;
    this.services.tracker.observe(this.trackerScope(scope), snapshots, (last) => scope.close(last, items, now), { partial });
    // A run no longer shown has ended: the next one on the same object is a new run.
    if (!partial) for (const key of starts.keys()) if (!touched.has(key)) starts.delete(key);
    this.reportFailures(scope, items.length, failures);
    return snapshots.some((s) => !isFinal(s.status));
  }

  private reportFailures(scope: PolledScope<Item>, readable: number, failures: GatewayError[]): void {
    if (failures.length === 0) {
      this.health.itemsOk(scope.key);
      this.loggedFailures.delete(scope.key);
      return;
    }
    const summary = failures.map((f) => f.message).join('; ');
    this.health.itemsFailed(scope.key, failures.length, failures[0]!.message);
    if (this.loggedFailures.get(scope.key) === summary) return;
    this.loggedFailures.set(scope.key, summary);
    this.services.logger.warn({ scope: scope.key, malformed: failures.length, readable, errors: failures.map((f) => f.message) }, 'upstream items could not be read and were left out');
  }

  /** Operations open when the gateway last stopped continue (or are closed) with the first listing. */
  private async adoptOnce(scope: PolledScope<Item>): Promise<void> {
    if (this.adopted.has(scope.key)) return;
    this.adopted.add(scope.key);
    let listed: OperationSnapshot[];
    try {
      listed = (await this.services.history.list({ active: true, sources: [this.name] }, { first: 500 })).items;
    } catch (error) {
      this.services.logger.error({ err: error, scope: scope.key }, 'open operations could not be read from history');
      return;
    }
    const open = listed.filter((op) => this.scopeKeyOf(op) === scope.key);
    if (open.length === 0) return;
    this.services.tracker.adopt(this.trackerScope(scope), open);
    const starts = this.startsOf(scope.key);
    for (const op of open) {
      const runKey = this.runKeyOf(op);
      if (runKey && op.startedAt) starts.set(runKey, op.startedAt);
    }
  }

  private itemError(scope: PolledScope<Item>, index: number, error: unknown): GatewayError {
    const why = error instanceof Error ? error.message : String(error);
    return new GatewayError('UPSTREAM_BAD_RESPONSE', `${this.options.upstream}: item ${index + 1} of ${scope.key} could not be read: ${why.slice(0, 300)}`, {
      source: this.name,
      details: { scope: scope.key, item: index },
      cause: error,
    });
  }

  private startsOf(scopeKey: string): Map<string, string> {
    let starts = this.runStarts.get(scopeKey);
    if (!starts) this.runStarts.set(scopeKey, (starts = new Map()));
    return starts;
  }

  private feedKey(scope: PolledScope<Item>): string {
    return `${this.kind}:${this.name}:${scope.key}`;
  }

  private trackerScope(scope: PolledScope<Item>): string {
    return `${this.name}:${scope.key}`;
  }
}

/** One error for a listing's unreadable items (delivered to live watchers). */
function summarise(failures: GatewayError[], source: string): GatewayError | undefined {
  if (failures.length === 0) return undefined;
  if (failures.length === 1) return failures[0];
  const first = failures[0]!;
  return new GatewayError('UPSTREAM_BAD_RESPONSE', `${failures.length} items could not be read; first: ${first.message}`, {
    source,
    details: { malformed: failures.length },
  });
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
