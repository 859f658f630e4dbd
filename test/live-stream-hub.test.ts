import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../src/errors.js';
import type { PollEvent } from '../src/live/poller.js';
import { StreamHub, type StreamSink, type StreamSpec } from '../src/live/stream-hub.js';
import { HealthTracker } from '../src/sources/health.js';

/** A fake upstream: every open() is recorded; the test pushes values and drops sessions by hand. */
function fakeUpstream(options: { refuse?: () => boolean } = {}) {
  const sessions: Array<{ sink: StreamSink<number>; signal: AbortSignal; drop(error: unknown): void }> = [];
  const health = new HealthTracker();
  let opens = 0;
  const spec: StreamSpec<number> = {
    key: 'fake',
    health,
    source: 'fake',
    async open(sink, signal) {
      opens += 1;
      if (options.refuse?.()) throw new GatewayError('UPSTREAM_UNAVAILABLE', 'refused', { source: 'fake' });
      let drop!: (error: unknown) => void;
      const ended = new Promise<unknown>((resolve) => (drop = resolve));
      sessions.push({ sink, signal, drop });
      return { ended };
    },
  };
  return { spec, sessions, health, opens: () => opens, latest: () => sessions.at(-1)! };
}

async function next<T>(iterator: AsyncIterator<PollEvent<T>>, ms = 2_000): Promise<PollEvent<T>> {
  const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no event in time')), ms));
  const result = await Promise.race([iterator.next(), timer]);
  if (result.done) throw new Error('iterator ended');
  return result.value;
}

async function until(check: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('StreamHub', () => {
  let hub: StreamHub;
  afterEach(() => hub?.close());

  it('shares one session among watchers', async () => {
    hub = new StreamHub({ initialBackoffMs: 10 });
    const upstream = fakeUpstream();
    const a = hub.watch(upstream.spec);
    const b = hub.watch(upstream.spec);
    await until(() => upstream.sessions.length === 1);
    upstream.latest().sink.value(1);
    expect(await next(a)).toEqual({ type: 'value', value: 1 });
    expect(await next(b)).toEqual({ type: 'value', value: 1 });
    expect(upstream.opens()).toBe(1);
    expect(hub.status('fake').state).toBe('CONNECTED');
  });

  it('delivers only changes: an unchanged value is not repeated', async () => {
    hub = new StreamHub();
    const upstream = fakeUpstream();
    const watcher = hub.watch(upstream.spec);
    await until(() => upstream.sessions.length === 1);
    const first = next(watcher);
    upstream.latest().sink.value(1);
    expect(await first).toEqual({ type: 'value', value: 1 });
    const second = next(watcher);
    upstream.latest().sink.value(1);
    upstream.latest().sink.value(2);
    expect(await second).toEqual({ type: 'value', value: 2 });
    // A slow watcher gets the latest value only (coalesced), never a queue.
    upstream.latest().sink.value(3);
    upstream.latest().sink.value(4);
    expect(await next(watcher)).toEqual({ type: 'value', value: 4 });
  });

  it('reconnects with backoff after a drop, delivering the drop as an error event', async () => {
    hub = new StreamHub({ initialBackoffMs: 20, jitter: 0 });
    let refusing = false;
    const upstream = fakeUpstream({ refuse: () => refusing });
    const watcher = hub.watch(upstream.spec);
    await until(() => upstream.sessions.length === 1);
    upstream.latest().sink.value(1);
    expect(await next(watcher)).toMatchObject({ type: 'value', value: 1 });

    refusing = true;
    upstream.latest().drop(new GatewayError('UPSTREAM_UNAVAILABLE', 'connection lost', { source: 'fake' }));
    const dropped = await next(watcher);
    expect(dropped.type).toBe('error');
    expect((dropped as { error: GatewayError }).error.message).toBe('connection lost');
    expect(upstream.sessions[0]!.signal.aborted).toBe(true);
    expect(hub.status('fake').state).toBe('RECONNECTING');
    expect(upstream.health.snapshot().status).not.toBe('UP');

    // Refused attempts: 20 ms, then 40 ms, then 80 ms apart — each one an error event.
    await until(() => upstream.opens() >= 3);
    refusing = false;
    await until(() => upstream.sessions.length === 2, 3_000);
    expect(hub.status('fake')).toMatchObject({ state: 'CONNECTED', reconnects: 1 });
    expect(upstream.health.snapshot().status).toBe('UP');
    // The same value after the reconnect is delivered again: it ends the error.
    upstream.latest().sink.value(1);
    let event = await next(watcher);
    while (event.type === 'error') event = await next(watcher);
    expect(event).toEqual({ type: 'value', value: 1 });
  });

  it('replays the last value to a late joiner', async () => {
    hub = new StreamHub();
    const upstream = fakeUpstream();
    const first = hub.watch(upstream.spec);
    await until(() => upstream.sessions.length === 1);
    upstream.latest().sink.value(41);
    upstream.latest().sink.value(42);
    expect(await next(first)).toMatchObject({ value: 42 });
    const late = hub.watch(upstream.spec);
    expect(await next(late, 50)).toEqual({ type: 'value', value: 42 });
    expect(hub.peek('fake')).toBe(42);
    expect(upstream.opens()).toBe(1);
  });

  it('stops the session after the last watcher leaves, and opens a new one for the next', async () => {
    hub = new StreamHub();
    const upstream = fakeUpstream();
    const abort = new AbortController();
    const a = hub.watch(upstream.spec, abort.signal);
    const b = hub.watch(upstream.spec);
    await until(() => upstream.sessions.length === 1);
    abort.abort();
    expect(upstream.sessions[0]!.signal.aborted).toBe(false);
    await b.return!();
    expect(upstream.sessions[0]!.signal.aborted).toBe(true);
    expect(hub.activeKeys()).toEqual([]);
    expect(hub.status('fake').state).toBe('IDLE');
    expect(await a.next()).toEqual({ value: undefined, done: true });

    hub.watch(upstream.spec);
    await until(() => upstream.sessions.length === 2);
  });

  it('ignores what a session that ended still sends', async () => {
    hub = new StreamHub({ initialBackoffMs: 10_000 });
    const upstream = fakeUpstream();
    const watcher = hub.watch(upstream.spec);
    await until(() => upstream.sessions.length === 1);
    const old = upstream.latest();
    old.drop(new Error('gone'));
    expect((await next(watcher)).type).toBe('error');
    old.sink.value(7);
    expect(hub.peek('fake')).toBeUndefined();
  });

  it('close() ends every watcher and refuses new ones', async () => {
    hub = new StreamHub();
    const upstream = fakeUpstream();
    const watcher = hub.watch(upstream.spec);
    await until(() => upstream.sessions.length === 1);
    hub.close();
    expect(await watcher.next()).toEqual({ value: undefined, done: true });
    expect(upstream.latest().signal.aborted).toBe(true);
    expect(await hub.watch(upstream.spec).next()).toEqual({ value: undefined, done: true });
    expect(hub.status('fake').state).toBe('CLOSED');
  });
});
