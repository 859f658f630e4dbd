/**
 * One watcher of a shared live loop (the poller's, the stream hub's): an async iterator that gets
 * the loop's events with duplicate values suppressed, and never an unbounded queue — pending
 * events are coalesced to at most the latest error and the latest value, in arrival order.
 */
import type { PollEvent } from './poller.js';

/**
 * Deterministic JSON: object keys sorted, so two structurally equal values serialise identically
 * whatever their key order. Follows JSON semantics otherwise (toJSON, undefined members dropped).
 */
export function stableStringify(value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const source = v as Record<string, unknown>;
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(source).sort()) sorted[k] = source[k];
      return sorted;
    }
    return v;
  });
  // JSON.stringify(undefined) is undefined; give it a distinct marker.
  return text ?? 'undefined';
}


export interface QueuedEvent<T> {
  event: PollEvent<T>;
  /** Serialisation of a value event (for per-watcher duplicate suppression); null for errors. */
  serial: string | null;
}

let unserialisableCounter = 0;

export function serialise(value: unknown): string {
  try {
    return stableStringify(value);
  } catch {
    // Not serialisable (cycle, BigInt): never equal to anything, i.e. always emitted.
    unserialisableCounter += 1;
    return `\u0000unserialisable#${unserialisableCounter}`;
  }
}


export class Watcher<T> implements AsyncIterableIterator<PollEvent<T>> {
  private queue: QueuedEvent<T>[] = [];
  private waiters: Array<(result: IteratorResult<PollEvent<T>>) => void> = [];
  private finished = false;
  /** Serial of the last value handed out, null when the last thing handed out was an error/nothing. */
  private lastDelivered: string | null = null;
  private detachFn: (() => void) | undefined;

  setDetach(fn: () => void): void {
    this.detachFn = fn;
  }

  get done(): boolean {
    return this.finished;
  }

  push(item: QueuedEvent<T>): void {
    if (this.finished) return;
    if (this.waiters.length > 0 && this.queue.length === 0) {
      if (this.isDuplicate(item)) return;
      this.handOut(item);
      this.waiters.shift()!({ value: item.event, done: false });
      return;
    }
    // Coalesce: keep only the latest pending event of each type, in arrival order, so the queue
    // never holds more than two entries and an error followed by a value stays in that order.
    this.queue = this.queue.filter((queued) => queued.event.type !== item.event.type);
    this.queue.push(item);
  }

  private isDuplicate(item: QueuedEvent<T>): boolean {
    return item.serial !== null && item.serial === this.lastDelivered;
  }

  private handOut(item: QueuedEvent<T>): void {
    this.lastDelivered = item.serial;
  }

  private take(): QueuedEvent<T> | undefined {
    for (;;) {
      const item = this.queue.shift();
      if (!item) return undefined;
      if (this.isDuplicate(item)) continue;
      this.handOut(item);
      return item;
    }
  }

  next(): Promise<IteratorResult<PollEvent<T>>> {
    const item = this.take();
    if (item) return Promise.resolve({ value: item.event, done: false });
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  return(): Promise<IteratorResult<PollEvent<T>>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<PollEvent<T>>> {
    this.end();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Ends the iterator: leaves the loop, drops pending events, resolves waiting next() calls. */
  end(): void {
    if (this.finished) return;
    this.finished = true;
    this.queue = [];
    const detach = this.detachFn;
    this.detachFn = undefined;
    detach?.();
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve({ value: undefined, done: true });
  }
}


/**
 * Joins a new watcher to a shared loop's watchers: it leaves on return() or when `signal` aborts,
 * `onLast` runs when the last one has left, and it gets the loop's latest event at once.
 */
export function joinWatcher<T>(owner: { watchers: Set<Watcher<T>>; lastEvent?: QueuedEvent<T> | undefined }, signal: AbortSignal | undefined, onLast: () => void): Watcher<T> {
  const watcher = new Watcher<T>();
  owner.watchers.add(watcher);
  const onAbort = (): void => watcher.end();
  signal?.addEventListener('abort', onAbort, { once: true });
  watcher.setDetach(() => {
    signal?.removeEventListener('abort', onAbort);
    owner.watchers.delete(watcher);
    if (owner.watchers.size === 0) onLast();
  });
  if (owner.lastEvent) watcher.push(owner.lastEvent);
  return watcher;
}
