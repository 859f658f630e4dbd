import { afterEach, describe, expect, it, vi } from 'vitest';
import { GatewayError } from '../src/errors.js';
import { PollerHub, stableStringify, type PollEvent, type PollSpec } from '../src/live/poller.js';

/** Resolves once `predicate` holds, polling every few ms; fails after `timeoutMs`. */
async function until(predicate: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Collects every event of an iterator in the background. */
function collect<T>(iterator: AsyncIterableIterator<PollEvent<T>>): { events: PollEvent<T>[]; ended: Promise<void> } {
  const events: PollEvent<T>[] = [];
  const ended = (async () => {
    for await (const event of iterator) events.push(event);
  })();
  return { events, ended };
}

function values<T>(events: PollEvent<T>[]): T[] {
  return events.flatMap((event) => (event.type === 'value' ? [event.value] : []));
}

function spec<T>(overrides: Partial<PollSpec<T>> & Pick<PollSpec<T>, 'fetch'>): PollSpec<T> {
  return { key: 'k', isActive: () => true, activeMs: 20, idleMs: 20, ...overrides };
}

describe('PollerHub (real timers)', () => {
  it('shares one fetch per interval among 50 watchers', async () => {
    const hub = new PollerHub({ jitter: 0 });
    let calls = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const s = spec<number>({
      activeMs: 15,
      isActive: (n) => n < 3, // then idle for a minute: the test sees exactly three upstream calls
      idleMs: 60_000,
      fetch: async () => {
        calls += 1;
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(1);
        inFlight -= 1;
        return calls;
      },
    });
    const watchers = Array.from({ length: 50 }, () => collect(hub.watch(s)));
    expect(hub.activeKeys()).toEqual([{ key: 'k', watchers: 50 }]);
    await until(() => watchers.every((w) => values(w.events).includes(3)));
    hub.close();
    await Promise.all(watchers.map((w) => w.ended));
    // Every watcher saw the same upstream values 1, 2, 3: one shared loop, one call per interval.
    for (const w of watchers) expect(values(w.events)).toEqual([1, 2, 3]);
    expect(calls).toBe(3);
    expect(maxInFlight).toBe(1);
    expect(hub.activeKeys()).toEqual([]);
  });

  it('stops fetching after the last watcher leaves and aborts the fetch in flight', async () => {
    const hub = new PollerHub({ jitter: 0 });
    let calls = 0;
    const signals: AbortSignal[] = [];
    const s = spec<number>({
      activeMs: 10,
      fetch: (signal) => {
        calls += 1;
        signals.push(signal);
        if (calls < 3) return Promise.resolve(calls);
        // The third call hangs until aborted.
        return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      },
    });
    const a = hub.watch(s);
    const controller = new AbortController();
    const b = hub.watch(s, controller.signal);
    expect(await a.next()).toEqual({ value: { type: 'value', value: 1 }, done: false });
    await a.return!();
    expect(hub.activeKeys()).toEqual([{ key: 'k', watchers: 1 }]);
    await until(() => calls === 3);
    expect(signals[2]!.aborted).toBe(false);
    controller.abort();
    expect(signals[2]!.aborted).toBe(true);
    expect(hub.activeKeys()).toEqual([]);
    expect(hub.peek('k')).toBeUndefined();
    // b drains what was pending, then ends.
    const rest: PollEvent<number>[] = [];
    for await (const event of b) rest.push(event);
    expect(rest).toEqual([]);
    await sleep(60);
    expect(calls).toBe(3);
  });

  it('a late watcher gets the current value at once without another fetch', async () => {
    const hub = new PollerHub({ jitter: 0 });
    let calls = 0;
    const s = spec<{ state: string }>({
      isActive: () => false,
      idleMs: 60_000,
      fetch: async () => {
        calls += 1;
        return { state: 'idle' };
      },
    });
    const first = hub.watch(s);
    expect((await first.next()).value).toEqual({ type: 'value', value: { state: 'idle' } });
    const late = hub.watch({ ...s, fetch: () => Promise.reject(new Error('2nd spec must be ignored')) });
    expect((await late.next()).value).toEqual({ type: 'value', value: { state: 'idle' } });
    expect(calls).toBe(1);
    expect(hub.peek('k')).toEqual({ state: 'idle' });
    expect(hub.activeKeys()).toEqual([{ key: 'k', watchers: 2 }]);
    hub.close();
    expect(await first.next()).toEqual({ value: undefined, done: true });
    expect(await late.next()).toEqual({ value: undefined, done: true });
  });

  it('emits only structural changes, whatever the key order, but calls onValue on every fetch', async () => {
    const hub = new PollerHub({ jitter: 0 });
    const script = [{ a: 1, b: { x: 1, y: 2 } }, { b: { y: 2, x: 1 }, a: 1 }, { a: 1, b: { y: 2, x: 1 } }, { a: 2 }];
    let i = 0;
    const seen: unknown[] = [];
    const s = spec<unknown>({
      activeMs: 5,
      fetch: async () => script[Math.min(i++, script.length - 1)],
      onValue: (value) => seen.push(value),
    });
    const w = collect(hub.watch(s));
    await until(() => values(w.events).length === 2 && seen.length >= 5);
    hub.close();
    await w.ended;
    expect(values(w.events)).toEqual([{ a: 1, b: { x: 1, y: 2 } }, { a: 2 }]);
    expect(seen.length).toBeGreaterThanOrEqual(5);
  });

  it('emits an error event to every watcher and recovers', async () => {
    const hub = new PollerHub({ jitter: 0 });
    const script: Array<'ok' | 'fail'> = ['ok', 'fail', 'fail', 'ok'];
    let i = 0;
    const errors: unknown[] = [];
    const s = spec<string>({
      activeMs: 5,
      isActive: () => i < script.length,
      idleMs: 60_000,
      fetch: async () => {
        const step = script[i++];
        if (step === 'fail') throw new GatewayError('UPSTREAM_UNAVAILABLE', `down ${i}`);
        return 'same';
      },
      onError: (error) => errors.push(error),
    });
    const watchers = [collect(hub.watch(s)), collect(hub.watch(s)), collect(hub.watch(s))];
    await until(() => watchers.every((w) => w.events.length === 4));
    for (const w of watchers) {
      expect(w.events.map((e) => (e.type === 'value' ? e.value : (e.error as Error).message))).toEqual([
        'same',
        'down 2',
        'down 3',
        'same', // the recovery is emitted although the value did not change
      ]);
    }
    expect(errors).toHaveLength(2);
    // A watcher arriving now gets the recovered value, not the old error.
    const late = hub.watch(s);
    expect((await late.next()).value).toEqual({ type: 'value', value: 'same' });
    hub.close();
  });

  it('a watcher arriving while the upstream fails gets the error at once', async () => {
    const hub = new PollerHub({ jitter: 0 });
    const s = spec<number>({ activeMs: 1_000, fetch: () => Promise.reject(new Error('boom')) });
    const first = hub.watch(s);
    expect((await first.next()).value).toMatchObject({ type: 'error', error: { message: 'boom' } });
    const late = hub.watch(s);
    expect((await late.next()).value).toMatchObject({ type: 'error', error: { message: 'boom' } });
    hub.close();
  });

  it('never has two fetches in flight for a key, even when a watcher comes back while an aborted fetch settles', async () => {
    const hub = new PollerHub({ jitter: 0 });
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    const s = spec<number>({
      activeMs: 1,
      // Ignores the abort signal on purpose and takes a while.
      fetch: async () => {
        calls += 1;
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(15);
        inFlight -= 1;
        return calls;
      },
    });
    const a = hub.watch(s);
    await until(() => calls === 1);
    await a.return!();
    const b = collect(hub.watch(s));
    await until(() => values(b.events).length >= 3);
    hub.close();
    await b.ended;
    expect(maxInFlight).toBe(1);
  });

  it('ends immediately when the signal is already aborted, and after close()', async () => {
    const hub = new PollerHub();
    let calls = 0;
    const s = spec<number>({ fetch: async () => ++calls });
    const aborted = hub.watch(s, AbortSignal.abort());
    expect(await aborted.next()).toEqual({ value: undefined, done: true });
    hub.close();
    const afterClose = hub.watch(s);
    expect(await afterClose.next()).toEqual({ value: undefined, done: true });
    expect(calls).toBe(0);
    expect(hub.activeKeys()).toEqual([]);
  });
});

describe('PollerHub scheduling (fake timers)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Fetch times relative to the start, with a scripted outcome per call. */
  function scripted(outcomes: Array<() => unknown>): { times: number[]; fetch: () => Promise<unknown> } {
    const start = Date.now();
    const times: number[] = [];
    let i = 0;
    return {
      times,
      fetch: async () => {
        times.push(Date.now() - start);
        const outcome = outcomes[Math.min(i++, outcomes.length - 1)]!;
        return outcome();
      },
    };
  }

  it('polls at activeMs while active and idleMs while idle, fetching at once on start', async () => {
    vi.useFakeTimers();
    const hub = new PollerHub({ jitter: 0 });
    const up = scripted([() => 'running', () => 'running', () => 'idle']);
    const it = hub.watch({ key: 'r', fetch: up.fetch, isActive: (v) => v === 'running', activeMs: 100, idleMs: 1_000 });
    await vi.advanceTimersByTimeAsync(2_300);
    expect(up.times).toEqual([0, 100, 200, 1_200, 2_200]);
    hub.close();
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it('backs off exponentially on consecutive errors, capped at maxBackoffMs', async () => {
    vi.useFakeTimers();
    const hub = new PollerHub({ jitter: 0, maxBackoffMs: 500 });
    const up = scripted([
      () => Promise.reject(new Error('1')),
      () => Promise.reject(new Error('2')),
      () => Promise.reject(new Error('3')),
      () => Promise.reject(new Error('4')),
      () => 'ok',
    ]);
    const w = collect(hub.watch({ key: 'b', fetch: up.fetch, isActive: () => true, activeMs: 100, idleMs: 100 }));
    await vi.advanceTimersByTimeAsync(1_750);
    // 0 fails → +200 → fails → +400 → fails → +800 capped to 500 → fails → +500 → ok → +100 (active).
    expect(up.times).toEqual([0, 200, 600, 1_100, 1_600, 1_700]);
    expect(w.events.map((e) => e.type)).toEqual(['error', 'error', 'error', 'error', 'value']);
    hub.close();
    await w.ended;
  });

  it('honours retryAfterMs (Retry-After) even beyond the backoff cap', async () => {
    vi.useFakeTimers();
    const hub = new PollerHub({ jitter: 0, maxBackoffMs: 1_000 });
    const limited = new GatewayError('UPSTREAM_REJECTED', 'rate limited', { status: 429, retryAfterMs: 5_000 });
    const up = scripted([() => Promise.reject(limited), () => 'ok']);
    const w = collect(hub.watch({ key: 'r', fetch: up.fetch, isActive: () => true, activeMs: 100, idleMs: 100 }));
    await vi.advanceTimersByTimeAsync(4_999);
    expect(up.times).toEqual([0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(up.times).toEqual([0, 5_000]);
    expect(w.events).toEqual([
      { type: 'error', error: limited },
      { type: 'value', value: 'ok' },
    ]);
    hub.close();
    await w.ended;
  });

  it('applies jitter of ±jitter×interval', async () => {
    vi.useFakeTimers();
    const low = new PollerHub({ jitter: 0.1, random: () => 0 });
    const high = new PollerHub({ jitter: 0.1, random: () => 0.999_999 });
    const a = scripted([() => 1]);
    const b = scripted([() => 1]);
    low.watch({ key: 'j', fetch: a.fetch, isActive: () => true, activeMs: 1_000, idleMs: 1_000 });
    high.watch({ key: 'j', fetch: b.fetch, isActive: () => true, activeMs: 1_000, idleMs: 1_000 });
    await vi.advanceTimersByTimeAsync(1_099);
    expect(a.times).toEqual([0, 900]);
    expect(b.times).toEqual([0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(b.times).toEqual([0, 1_100]);
    low.close();
    high.close();
  });

  it('coalesces pending events of a slow watcher, keeping error-then-value order', async () => {
    vi.useFakeTimers();
    const hub = new PollerHub({ jitter: 0 });
    const up = scripted([
      () => 1,
      () => 2,
      () => 3,
      () => Promise.reject(new Error('blip')),
      () => 4,
      () => 5,
      () => 6,
    ]);
    const slow = hub.watch({ key: 'c', fetch: up.fetch, isActive: (v) => v !== 6, activeMs: 10, idleMs: 60_000 });
    // 1,2,3 fetched, error (+20 backoff), then 4,5,6 — nobody reads meanwhile.
    await vi.advanceTimersByTimeAsync(200);
    expect(up.times).toHaveLength(7);
    expect((await slow.next()).value).toMatchObject({ type: 'error', error: { message: 'blip' } });
    expect((await slow.next()).value).toEqual({ type: 'value', value: 6 });
    // Nothing else pending: the next call waits for a change.
    const pending = slow.next();
    const raced = await Promise.race([pending, Promise.resolve('waiting')]);
    expect(raced).toBe('waiting');
    hub.close();
    expect(await pending).toEqual({ value: undefined, done: true });
  });
});

describe('stableStringify', () => {
  it('ignores key order and follows JSON semantics', () => {
    expect(stableStringify({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
    expect(stableStringify({ a: undefined, b: null })).toBe('{"b":null}');
    expect(stableStringify(undefined)).toBe('undefined');
  });
});
