import { describe, expect, it } from 'vitest';
import { EMPTY_PROGRESS, type OperationEvent, type OperationSnapshot, type OperationTransition, type Progress } from '../src/model/operation.js';
import { addSample, applyEstimate, estimate, MAX_SAMPLES, sampleOf, type ProgressSample } from '../src/live/progress-estimator.js';
import { createGatewayPubSub } from '../src/live/pubsub.js';
import { OperationTracker, type HistorySink } from '../src/live/tracker.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');

function op(id: string, patch: Partial<Omit<OperationSnapshot, 'progress'>> & { progress?: Partial<Progress> } = {}): OperationSnapshot {
  const { progress, ...rest } = patch;
  return {
    id,
    typename: 'NodeRestore',
    source: 'aiven-demo',
    kind: 'RESTORE',
    status: 'RUNNING',
    vendorStatus: 'restoring',
    message: null,
    startedAt: '2026-03-01T11:59:00.000Z',
    updatedAt: null,
    finishedAt: null,
    detail: { node: `${id}-node` },
    ...rest,
    progress: { ...EMPTY_PROGRESS, ...progress },
  };
}

function setup(options: { windowMs?: number } = {}) {
  let now = T0;
  const records: Array<{ snapshot: OperationSnapshot; transition: OperationTransition | null }> = [];
  const history: HistorySink = {
    record: async ({ event, transition }) => {
      records.push({ snapshot: event.operation, transition });
      return { eventId: String(records.length), duplicate: false };
    },
  };
  const pubsub = createGatewayPubSub();
  const tracker = new OperationTracker({
    pubsub,
    history,
    now: () => now,
    ...(options.windowMs === undefined ? {} : { estimatorWindowMs: options.windowMs }),
  });
  return {
    tracker,
    pubsub,
    records,
    advance: (ms: number) => {
      now += ms;
    },
    at: () => now,
  };
}

const changes = (events: OperationEvent[]) => events.map((e) => `${e.change} ${e.operation.id} ${e.operation.status}`);

const toSucceeded = (last: OperationSnapshot): OperationSnapshot => ({
  ...last,
  status: 'SUCCEEDED',
  vendorStatus: 'running',
  progress: { ...last.progress, percent: 100 },
  finishedAt: new Date(T0 + 60_000).toISOString(),
});

describe('OperationTracker', () => {
  it('reports STARTED, PROGRESSED and FINISHED and publishes them by id and on the firehose', async () => {
    const { tracker, pubsub } = setup();
    const byId = pubsub.subscribe('operation', 'a');
    const all = pubsub.subscribe('operations');
    const received: OperationEvent[] = [];
    const firehose: OperationEvent[] = [];
    const reading = (async () => {
      for await (const event of byId) {
        received.push(event);
        if (received.length === 3) break;
      }
    })();
    const readingAll = (async () => {
      for await (const event of all) {
        firehose.push(event);
        if (firehose.length === 4) break;
      }
    })();

    const events = [
      ...tracker.observe('p', [op('a', { progress: { percent: 10 } })], toSucceeded),
      ...tracker.observe('p', [op('a', { progress: { percent: 50 } }), op('b')], toSucceeded),
      ...tracker.observe('p', [op('a', { status: 'SUCCEEDED', progress: { percent: 100 } }), op('b')], toSucceeded),
    ];
    expect(changes(events)).toEqual([
      'STARTED a RUNNING',
      'PROGRESSED a RUNNING',
      'STARTED b RUNNING',
      'FINISHED a SUCCEEDED',
    ]);
    await reading;
    await readingAll;
    expect(received.map((e) => e.change)).toEqual(['STARTED', 'PROGRESSED', 'FINISHED']);
    expect(firehose.map((e) => `${e.change} ${e.operation.id}`)).toEqual(['STARTED a', 'PROGRESSED a', 'STARTED b', 'FINISHED a']);
    // Payloads are plain data.
    expect(JSON.parse(JSON.stringify(received[2]))).toEqual(received[2]);
  });

  it('does not report an operation whose upstream state did not change, whatever the key order', () => {
    const { tracker, advance } = setup();
    expect(tracker.observe('p', [op('a', { progress: { percent: 5 } })], toSucceeded)).toHaveLength(1);
    advance(1_000);
    const reordered = op('a', { progress: { percent: 5 }, detail: undefined });
    reordered.detail = JSON.parse('{"node":"a-node"}');
    expect(tracker.observe('p', [reordered], toSucceeded)).toEqual([]);
    expect(tracker.observe('p', [op('a', { progress: { percent: 5 }, updatedAt: 'later' })], toSucceeded)).toEqual([]);
    expect(tracker.observe('p', [op('a', { progress: { percent: 5 }, message: 'phase 2' })], toSucceeded)).toHaveLength(1);
    expect(tracker.observe('p', [op('a', { progress: { percent: 5 }, message: 'phase 2', detail: { node: 'x' } })], toSucceeded)).toHaveLength(1);
  });

  it('compares what the vendor reported as JSON does: member order, undefined members and non-finite numbers aside', () => {
    const { tracker, advance } = setup();
    const detail = { node: 'n', phases: [{ name: 'basebackup', done: 1 }], extra: { a: 1, b: [1, 2] } };
    expect(tracker.observeOne(op('a', { progress: { percent: 5, done: Number.NaN }, detail }))?.change).toBe('STARTED');
    advance(1_000);
    const same = { extra: { b: [1, 2], a: 1 }, phases: [{ done: 1, name: 'basebackup', note: undefined }], node: 'n' };
    expect(tracker.observeOne(op('a', { progress: { percent: 5, done: null }, detail: same }))).toBeNull();
    const deeper = { ...detail, phases: [{ name: 'basebackup', done: 2 }] };
    expect(tracker.observeOne(op('a', { progress: { percent: 5 }, detail: deeper }))?.change).toBe('PROGRESSED');
    expect(tracker.observeOne(op('a', { progress: { percent: 5 }, detail: { ...deeper, extra: { a: 1, b: [1, 2, 3] } } }))?.change).toBe('PROGRESSED');
    expect(tracker.observeOne(op('a', { progress: { percent: 5 }, detail: { ...deeper, extra: { a: 1, b: [1, 2, 3] }, more: true } }))?.change).toBe('PROGRESSED');
    expect(tracker.observeOne(op('a', { progress: { percent: 5 }, detail: null }))?.change).toBe('PROGRESSED');
  });

  it('keeps copies of its own: changing what was observed or what it published changes nothing it holds', () => {
    const { tracker } = setup();
    const observed = op('a', { progress: { percent: 5 }, detail: { node: { name: 'a-node', phases: [{ phase: 'basebackup', current: 1 }] } } });
    const [event] = tracker.observe('p', [observed], toSucceeded);
    (observed.detail as { node: { phases: Array<{ current: number }> } }).node.phases[0]!.current = 99;
    observed.progress.percent = 77;
    (event!.operation.detail as { node: { name: string } }).node.name = 'changed by a subscriber';
    const current = tracker.current('a')!;
    expect(current.progress.percent).toBe(5);
    expect(current.detail).toEqual({ node: { name: 'a-node', phases: [{ phase: 'basebackup', current: 1 }] } });
    (current.detail as { node: { name: string } }).node.name = 'changed by a reader';
    expect(tracker.current('a')!.detail).toEqual({ node: { name: 'a-node', phases: [{ phase: 'basebackup', current: 1 }] } });
  });

  it("closes a vanished operation with the source's final state exactly once", async () => {
    const { tracker, records } = setup();
    const closed: OperationSnapshot[] = [];
    const close = (last: OperationSnapshot) => {
      closed.push(last);
      return toSucceeded(last);
    };
    tracker.observe('aiven-demo/project-a', [op('a', { progress: { percent: 40 } })], close);
    const events = tracker.observe('aiven-demo/project-a', [], close);
    expect(changes(events)).toEqual(['FINISHED a SUCCEEDED']);
    expect(events[0]!.operation.progress.percent).toBe(100);
    expect(closed).toHaveLength(1);
    expect(closed[0]!.progress.percent).toBe(40); // the last known state is what the source closes
    expect(tracker.observe('aiven-demo/project-a', [], close)).toEqual([]);
    expect(tracker.observe('aiven-demo/project-b', [], close)).toEqual([]);
    expect(closed).toHaveLength(1);
    expect(tracker.current('a')?.status).toBe('SUCCEEDED');
    expect(tracker.active()).toEqual([]);
    await tracker.settled();
    expect(records.map((r) => r.transition?.status)).toEqual(['RUNNING', 'SUCCEEDED']);
  });

  it('does not close operations listed by another scope', () => {
    const { tracker } = setup();
    tracker.observe('s1', [op('a')], toSucceeded);
    tracker.observe('s2', [op('b')], toSucceeded);
    expect(tracker.observe('s2', [op('b')], toSucceeded)).toEqual([]);
    expect(tracker.active().map((o) => o.id).sort()).toEqual(['a', 'b']);
  });

  it('reports an operation already final when first observed once, and restarts it if it comes back non-final', () => {
    const { tracker } = setup();
    const done = op('bk', { kind: 'BACKUP', status: 'SUCCEEDED', progress: { percent: 100 } });
    expect(changes(tracker.observe('abs', [done], toSucceeded))).toEqual(['FINISHED bk SUCCEEDED']);
    expect(tracker.observe('abs', [done], toSucceeded)).toEqual([]);
    expect(tracker.observeOne(done)).toBeNull();
    // A different final state is news.
    expect(tracker.observeOne({ ...done, status: 'FAILED', message: 'upload failed' })?.change).toBe('FINISHED');
    expect(changes(tracker.observe('abs', [op('bk', { kind: 'BACKUP', progress: { percent: 1 } })], toSucceeded))).toEqual([
      'STARTED bk RUNNING',
    ]);
  });

  it('observeOne follows the same diff rules', () => {
    const { tracker } = setup();
    expect(tracker.observeOne(op('m', { status: 'PENDING' }))?.change).toBe('STARTED');
    expect(tracker.observeOne(op('m', { status: 'PENDING' }))).toBeNull();
    expect(tracker.observeOne(op('m', { status: 'RUNNING' }))?.change).toBe('PROGRESSED');
    expect(tracker.observeOne(op('m', { status: 'CANCELLED' }))?.change).toBe('FINISHED');
    expect(tracker.observeOne(op('m', { status: 'CANCELLED' }))).toBeNull();
  });

  it('writes history with a transition only when status or percent changed', async () => {
    const { tracker, records, advance } = setup();
    tracker.observeOne(op('h', { progress: { percent: 0 } }));
    advance(1_000);
    tracker.observeOne(op('h', { progress: { percent: 0 }, message: 'still preparing' }));
    advance(1_000);
    tracker.observeOne(op('h', { progress: { percent: 30 }, message: 'still preparing' }));
    advance(1_000);
    tracker.observeOne(op('h', { status: 'FAILED', progress: { percent: 30 }, message: 'disk full' }));
    await tracker.settled();
    expect(records).toHaveLength(4);
    expect(records.map((r) => r.transition)).toEqual([
      { at: new Date(T0).toISOString(), status: 'RUNNING', percent: 0, message: null },
      null,
      { at: new Date(T0 + 2_000).toISOString(), status: 'RUNNING', percent: 30, message: 'still preparing' },
      { at: new Date(T0 + 3_000).toISOString(), status: 'FAILED', percent: 30, message: 'disk full' },
    ]);
    expect(records[1]!.snapshot.message).toBe('still preparing');
  });

  it('computes rate and ETA from samples on a linear scenario', () => {
    // 1 000 MB at 10 MB/s: 10 % every 10 s, finishing at T0 + 100 s. Window of 30 s.
    const { tracker, advance } = setup({ windowMs: 30_000 });
    const sample = (i: number) =>
      op('lin', { progress: { percent: i * 10, done: i * 100, total: 1_000, unit: 'MB' } });
    const first = tracker.observeOne(sample(0))!;
    expect(first.operation.progress).toMatchObject({ ratePerSecond: null, estimatedEndAt: null, estimated: false });
    for (let i = 1; i <= 7; i += 1) {
      advance(10_000);
      const event = tracker.observeOne(sample(i))!;
      expect(event.change).toBe('PROGRESSED');
      expect(event.operation.progress).toEqual({
        percent: i * 10,
        done: i * 100,
        total: 1_000,
        unit: 'MB',
        ratePerSecond: 10,
        estimatedEndAt: new Date(T0 + 100_000).toISOString(),
        estimated: true,
      });
    }
    expect(tracker.current('lin')?.progress.estimatedEndAt).toBe(new Date(T0 + 100_000).toISOString());
    advance(10_000);
    const end = tracker.observeOne(op('lin', { status: 'SUCCEEDED', progress: { percent: 100, done: 1_000, total: 1_000, unit: 'MB' } }))!;
    expect(end.change).toBe('FINISHED');
    expect(end.operation.progress).toMatchObject({ percent: 100, estimatedEndAt: null, ratePerSecond: null, estimated: false });
  });

  it('falls back to done/total for the ETA when there is no percent', () => {
    const { tracker, advance } = setup();
    tracker.observeOne(op('d', { progress: { done: 1_000, total: 5_000, unit: 'records' } }));
    advance(4_000);
    const event = tracker.observeOne(op('d', { progress: { done: 2_000, total: 5_000, unit: 'records' } }))!;
    expect(event.operation.progress).toMatchObject({
      percent: null,
      ratePerSecond: 250,
      estimatedEndAt: new Date(T0 + 4_000 + 12_000).toISOString(),
      estimated: true,
    });
  });

  it('keeps vendor-given rate and ETA as they are', () => {
    const { tracker, advance } = setup();
    const vendorEta = '2026-03-01T13:00:00.000Z';
    tracker.observeOne(op('v', { progress: { percent: 10, done: 10, total: 100, unit: 'GB', ratePerSecond: 0.5, estimatedEndAt: vendorEta } }));
    advance(10_000);
    const both = tracker.observeOne(op('v', { progress: { percent: 20, done: 20, total: 100, unit: 'GB', ratePerSecond: 0.5, estimatedEndAt: vendorEta } }))!;
    expect(both.operation.progress).toMatchObject({ ratePerSecond: 0.5, estimatedEndAt: vendorEta, estimated: false });
    // Rate given, ETA not: the rate stays the vendor's, only the ETA is computed (from the percent slope).
    advance(10_000);
    const rateOnly = tracker.observeOne(op('v', { progress: { percent: 30, done: 30, total: 100, unit: 'GB', ratePerSecond: 0.5 } }))!;
    expect(rateOnly.operation.progress).toMatchObject({
      ratePerSecond: 0.5,
      estimatedEndAt: new Date(T0 + 20_000 + 70_000).toISOString(),
      estimated: true,
    });
  });

  it('restarts the samples when the unit changes or done goes backwards, and forgets samples outside the window', () => {
    const { tracker, advance } = setup({ windowMs: 15_000 });
    tracker.observeOne(op('u', { progress: { done: 10, unit: 'MB' } }));
    advance(5_000);
    expect(tracker.observeOne(op('u', { progress: { done: 20, unit: 'MB' } }))!.operation.progress.ratePerSecond).toBe(2);
    advance(5_000);
    expect(tracker.observeOne(op('u', { progress: { done: 30, unit: 'files' } }))!.operation.progress).toMatchObject({
      ratePerSecond: null,
      estimated: false,
    });
    advance(5_000);
    expect(tracker.observeOne(op('u', { progress: { done: 40, unit: 'files' } }))!.operation.progress.ratePerSecond).toBe(2);
    advance(5_000);
    expect(tracker.observeOne(op('u', { progress: { done: 5, unit: 'files' } }))!.operation.progress.ratePerSecond).toBeNull();
    advance(20_000); // the only sample falls out of the window
    expect(tracker.observeOne(op('u', { progress: { done: 45, unit: 'files' } }))!.operation.progress.ratePerSecond).toBeNull();
  });

  it('keeps refreshing figures of an unchanged operation without emitting events', () => {
    const { tracker, advance } = setup();
    tracker.observeOne(op('s', { progress: { done: 0, unit: 'B' } }));
    advance(1_000);
    tracker.observeOne(op('s', { progress: { done: 100, unit: 'B' } }));
    advance(1_000);
    expect(tracker.observeOne(op('s', { progress: { done: 100, unit: 'B' } }))).toBeNull();
    expect(tracker.current('s')?.progress.ratePerSecond).toBe(50); // stalled for a second: the average drops
  });

  it('current() and active() return copies that callers cannot corrupt', () => {
    const { tracker } = setup();
    tracker.observeOne(op('c', { progress: { percent: 3 } }));
    const copy = tracker.current('c')!;
    copy.status = 'FAILED';
    copy.progress.percent = 99;
    expect(tracker.current('c')).toMatchObject({ status: 'RUNNING', progress: { percent: 3 } });
    expect(tracker.active().map((o) => o.id)).toEqual(['c']);
    expect(tracker.current('nope')).toBeUndefined();
  });

  it('keeps publishing, without an event id, when the history sink fails', async () => {
    const errors: unknown[] = [];
    const pubsub = createGatewayPubSub();
    const published = pubsub.subscribe('operation', 'x');
    const tracker = new OperationTracker({
      pubsub,
      history: {
        record: async () => {
          throw new Error('disk gone');
        },
      },
      onError: (error) => errors.push(error),
    });
    const reading = published.next();
    expect(tracker.observeOne(op('x'))?.change).toBe('STARTED');
    const first = await reading;
    expect(first.value).toMatchObject({ change: 'STARTED', operation: { id: 'x' } });
    expect(first.value.eventId).toBeUndefined();
    expect(errors).toHaveLength(1);
    await published.return?.();
  });

  it('publishes recorded events with their id, and a duplicate (already recorded elsewhere) not at all', async () => {
    const pubsub = createGatewayPubSub();
    const published = pubsub.subscribe('operations');
    let calls = 0;
    const tracker = new OperationTracker({
      pubsub,
      history: { record: async () => ({ eventId: String(++calls), duplicate: calls === 2 }) },
    });
    const reading = [published.next(), published.next()]; // a pubsub iterator listens from its first next()
    tracker.observeOne(op('y', { progress: { percent: 1 } }));
    tracker.observeOne(op('y', { progress: { percent: 2 } })); // "another instance recorded it"
    tracker.observeOne(op('y', { progress: { percent: 3 } }));
    await tracker.settled();
    const [first, second] = (await Promise.all(reading)) as [IteratorResult<OperationEvent>, IteratorResult<OperationEvent>];
    expect([first.value.eventId, first.value.operation.progress.percent]).toEqual(['1', 1]);
    expect([second.value.eventId, second.value.operation.progress.percent]).toEqual(['3', 3]);
    await published.return?.();
  });

  it("absorbs another instance's events without publishing, so its own next look is no change", async () => {
    const pubsub = createGatewayPubSub();
    const published: OperationEvent[] = [];
    const tracker = new OperationTracker({ pubsub, instanceId: 'me', onEvent: (e) => published.push(e) });
    tracker.absorb({ change: 'STARTED', operation: op('z', { progress: { percent: 20 } }), origin: 'other', eventId: '7' });
    tracker.absorb({ change: 'STARTED', operation: op('w'), origin: 'me' }); // its own: ignored
    expect(tracker.current('z')?.progress.percent).toBe(20);
    expect(tracker.current('w')).toBeUndefined();
    expect(tracker.observeOne(op('z', { progress: { percent: 20 } }))).toBeNull();
    expect(tracker.observeOne(op('z', { progress: { percent: 25 } }))?.change).toBe('PROGRESSED');
    await tracker.settled();
    expect(published.map((e) => `${e.change} ${e.operation.progress.percent}`)).toEqual(['PROGRESSED 25']);
    expect(published[0]!.origin).toBe('me');
  });
});

describe('OperationTracker with a progress gap', () => {
  const GAP = 40;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  function gapped() {
    let now = T0;
    const published: OperationEvent[] = [];
    const transitions: Array<OperationTransition | null> = [];
    const tracker = new OperationTracker({
      pubsub: createGatewayPubSub(),
      history: {
        record: async ({ event, transition }) => {
          transitions.push(transition);
          return { eventId: String(transitions.length), duplicate: false };
        },
      },
      now: () => now,
      onEvent: (event) => published.push(event),
      progressGapMs: GAP,
    });
    const seen = () => published.map((e) => `${e.change} ${e.operation.status} ${e.operation.vendorStatus} ${e.operation.progress.percent}`);
    return { tracker, published, transitions, seen, advance: (ms: number) => (now += ms) };
  }

  it('publishes progress-only changes closer than the gap once, after it, with the latest state', async () => {
    const { tracker, transitions, seen, advance } = gapped();
    expect(tracker.observeOne(op('a', { progress: { percent: 20 } }))?.change).toBe('STARTED');
    advance(10);
    expect(tracker.observeOne(op('a', { progress: { percent: 21 } }))).toBeNull();
    advance(10);
    expect(tracker.observeOne(op('a', { progress: { percent: 22 } }))).toBeNull();
    expect(tracker.current('a')?.progress.percent).toBe(22);
    await tracker.settled();
    expect(seen()).toEqual(['STARTED RUNNING restoring 20', 'PROGRESSED RUNNING restoring 22']);
    expect(transitions.at(-1)?.percent).toBe(22);
  });

  it('publishes a held change by itself once the gap has passed', async () => {
    const { tracker, seen, advance } = gapped();
    tracker.observeOne(op('a', { progress: { percent: 20 } }));
    advance(10);
    tracker.observeOne(op('a', { progress: { percent: 21 } }));
    // Bounded wait for the timer (a loaded machine may run it late).
    for (let i = 0; i < 100 && seen().length < 2; i++) await sleep(GAP);
    expect(seen()).toEqual(['STARTED RUNNING restoring 20', 'PROGRESSED RUNNING restoring 21']);
    // After the gap, a change is published at once.
    advance(GAP);
    expect(tracker.observeOne(op('a', { progress: { percent: 30 } }))?.change).toBe('PROGRESSED');
  });

  it('never holds a change of status, vendor status or message, nor a final state; a final state drops what was held', async () => {
    const { tracker, seen, advance } = gapped();
    tracker.observeOne(op('a', { progress: { percent: 20 } }));
    advance(1);
    expect(tracker.observeOne(op('a', { vendorStatus: 'streaming', progress: { percent: 21 } }))?.change).toBe('PROGRESSED');
    advance(1);
    expect(tracker.observeOne(op('a', { vendorStatus: 'streaming', message: 'slow disk', progress: { percent: 21 } }))?.change).toBe('PROGRESSED');
    advance(1);
    expect(tracker.observeOne(op('a', { vendorStatus: 'streaming', message: 'slow disk', progress: { percent: 22 } }))).toBeNull();
    advance(1);
    expect(tracker.observeOne(op('a', { status: 'SUCCEEDED', vendorStatus: 'done', progress: { percent: 100 } }))?.change).toBe('FINISHED');
    await sleep(GAP * 3);
    await tracker.settled();
    expect(seen()).toEqual([
      'STARTED RUNNING restoring 20',
      'PROGRESSED RUNNING streaming 21',
      'PROGRESSED RUNNING streaming 21',
      'FINISHED SUCCEEDED done 100',
    ]);
  });

  it('publishes nothing when the held change went back to what was published', async () => {
    const { tracker, seen, advance } = gapped();
    tracker.observeOne(op('a', { progress: { percent: 20 } }));
    advance(1);
    tracker.observeOne(op('a', { progress: { percent: 21 } }));
    advance(1);
    tracker.observeOne(op('a', { progress: { percent: 20 } }));
    await sleep(GAP * 3);
    expect(seen()).toEqual(['STARTED RUNNING restoring 20']);
  });

  it('holds per operation, not across them', async () => {
    const { tracker, seen } = gapped();
    tracker.observe('scope', [op('a', { progress: { percent: 1 } }), op('b', { progress: { percent: 1 } })], (last) => last);
    tracker.observe('scope', [op('a', { progress: { percent: 2 } }), op('b', { progress: { percent: 5 } })], (last) => last);
    await tracker.settled();
    expect(seen().sort()).toEqual(['PROGRESSED RUNNING restoring 2', 'PROGRESSED RUNNING restoring 5', 'STARTED RUNNING restoring 1', 'STARTED RUNNING restoring 1']);
  });
});

describe('progress estimator (pure)', () => {
  const s = (at: number, done: number | null, percent: number | null = null, unit: string | null = 'MB'): ProgressSample => ({
    at,
    done,
    percent,
    total: null,
    unit,
  });

  it('needs two samples at distinct times', () => {
    expect(estimate([])).toEqual({ ratePerSecond: null, estimatedEndAt: null });
    expect(estimate([s(0, 10, 10)])).toEqual({ ratePerSecond: null, estimatedEndAt: null });
    expect(addSample([s(0, 10)], s(0, 20), 60_000)).toEqual([s(0, 20)]);
  });

  it('gives no ETA for a stalled percent and slides the window', () => {
    expect(estimate([s(0, 10, 50), s(10_000, 10, 50)])).toEqual({ ratePerSecond: 0, estimatedEndAt: null });
    let window: ProgressSample[] = [];
    for (let t = 0; t <= 100_000; t += 10_000) window = addSample(window, s(t, t / 1_000), 30_000);
    expect(window.map((x) => x.at)).toEqual([70_000, 80_000, 90_000, 100_000]);
    expect(estimate(window).ratePerSecond).toBe(1);
  });

  it('keeps at most MAX_SAMPLES, the newest, in order, replaces a sample taken at the same instant, and leaves its input alone', () => {
    // A window of MAX_SAMPLES seconds: samples a second apart are as dense as it keeps them.
    const windowMs = MAX_SAMPLES * 1_000;
    let window: ProgressSample[] = [];
    for (let t = 0; t < MAX_SAMPLES + 44; t++) window = addSample(window, s(t * 1_000, t), windowMs);
    expect(window).toHaveLength(MAX_SAMPLES);
    expect(window[0]!.at).toBe(44_000);
    expect(window.at(-1)!.at).toBe((MAX_SAMPLES + 43) * 1_000);
    expect(window.map((x) => x.at)).toEqual([...window.map((x) => x.at)].sort((a, b) => a - b));
    const before = [...window];
    const same = addSample(window, s((MAX_SAMPLES + 43) * 1_000, MAX_SAMPLES + 50), windowMs);
    expect(same).toHaveLength(MAX_SAMPLES);
    expect(same.at(-1)).toEqual(s((MAX_SAMPLES + 43) * 1_000, MAX_SAMPLES + 50));
    expect(same.at(-2)!.at).toBe((MAX_SAMPLES + 42) * 1_000);
    expect(window).toEqual(before);
  });

  it('spans the whole window however often it is observed, so coarse vendor figures do not look stalled', () => {
    // The vendor moves 1 % every 2 s; the gateway observes every 5 ms (a burst of queries) for 20 s.
    let window: ProgressSample[] = [];
    for (let t = 0; t <= 20_000; t += 5) window = addSample(window, s(t, null, Math.floor(t / 2_000)), 60_000);
    expect(window.length).toBeLessThanOrEqual(MAX_SAMPLES);
    expect(window[0]!.at).toBe(0);
    expect(window.at(-1)!.at).toBe(20_000);
    // 0 % at 0 s, 10 % at 20 s: 100 % at 200 s.
    expect(estimate(window).estimatedEndAt).toBe(new Date(200_000).toISOString());
    // Samples stay at least windowMs / MAX_SAMPLES apart, but for the newest.
    const gaps = window.slice(1, -1).map((x, i) => x.at - window[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(60_000 / MAX_SAMPLES);
  });

  it('keeps a crowded newest sample that has a figure the new one lacks', () => {
    const windowMs = 60_000;
    const window = [s(0, 10, 5), s(1, 11, 6)];
    expect(addSample(window, s(2, 12, null), windowMs).map((x) => x.at)).toEqual([0, 1, 2]);
    expect(addSample(window, s(2, 12, 7), windowMs).map((x) => x.at)).toEqual([0, 2]);
  });

  it('sampleOf ignores non-finite numbers; final progress has no ETA', () => {
    const progress: Progress = { ...EMPTY_PROGRESS, percent: Number.NaN, done: 5, unit: 'MB', estimatedEndAt: '2026-01-01T00:00:00.000Z' };
    expect(sampleOf(progress, 1)).toEqual({ at: 1, percent: null, done: 5, total: null, unit: 'MB' });
    expect(applyEstimate(progress, [], true).estimatedEndAt).toBeNull();
  });
});
