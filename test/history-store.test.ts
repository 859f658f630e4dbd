import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../src/errors.js';
import { openHistoryStore, type HistoryStore } from '../src/history/store.js';
import { createGatewayPubSub } from '../src/live/pubsub.js';
import { OperationTracker } from '../src/live/tracker.js';
import { EMPTY_PROGRESS, type OperationSnapshot, type OperationTransition } from '../src/model/operation.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

function op(id: string, patch: Partial<OperationSnapshot> = {}): OperationSnapshot {
  return {
    id,
    typename: 'AerospikeBackupRun',
    source: 'abs-eu',
    kind: 'BACKUP',
    status: 'RUNNING',
    vendorStatus: 'Running',
    progress: { ...EMPTY_PROGRESS, percent: 10 },
    message: null,
    startedAt: null,
    updatedAt: null,
    finishedAt: null,
    detail: { routine: 'daily', nested: { list: [1, 2, 3] } },
    ...patch,
  };
}

const transition = (at: number, status: OperationTransition['status'], percent: number | null, message: string | null = null): OperationTransition => ({
  at: iso(at),
  status,
  percent,
  message,
});

const dirs: string[] = [];
const stores: HistoryStore[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'backupgraph-history-'));
  dirs.push(dir);
  return dir;
}
function open(path = ':memory:', now?: () => number): HistoryStore {
  const store = openHistoryStore(path, now ? { now } : {});
  stores.push(store);
  return store;
}

afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('history store', () => {
  it('records an operation and reads it back as it was', () => {
    const store = open();
    const snapshot = op('a', { startedAt: iso(T0), message: 'going' });
    store.record(snapshot, transition(T0, 'RUNNING', 10));
    expect(store.get('a')).toEqual(snapshot);
    expect(store.get('missing')).toBeUndefined();
    const updated = { ...snapshot, status: 'SUCCEEDED' as const, progress: { ...snapshot.progress, percent: 100 } };
    store.record(updated, transition(T0 + 1_000, 'SUCCEEDED', 100));
    expect(store.get('a')).toEqual(updated);
    expect(store.transitions('a').map((t) => t.status)).toEqual(['RUNNING', 'SUCCEEDED']);
  });

  it('lists newest first with keyset cursors across pages', () => {
    const store = open();
    for (let i = 0; i < 7; i += 1) store.record(op(`op-${i}`, { startedAt: iso(T0 + i * 60_000) }), null);
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const page = store.list(null, { first: 3, after });
      pages += 1;
      expect(page.cursors).toHaveLength(page.items.length);
      expect(page.endCursor).toBe(page.cursors[page.cursors.length - 1] ?? null);
      seen.push(...page.items.map((o) => o.id));
      if (!page.hasNextPage) break;
      after = page.endCursor;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(['op-6', 'op-5', 'op-4', 'op-3', 'op-2', 'op-1', 'op-0']);
    // A record arriving between pages does not shift the next page (keyset, not offset).
    const firstPage = store.list(null, { first: 2 });
    store.record(op('op-new', { startedAt: iso(T0 + 3_600_000) }), null);
    expect(store.list(null, { first: 2, after: firstPage.endCursor }).items.map((o) => o.id)).toEqual(['op-4', 'op-3']);
    // Cursors are opaque base64url.
    expect(firstPage.endCursor).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('orders ties on sort time by id, descending, and pages through them', () => {
    const store = open();
    for (const id of ['b', 'd', 'a', 'c']) store.record(op(id, { startedAt: iso(T0) }), null);
    const first = store.list(null, { first: 2 });
    expect(first.items.map((o) => o.id)).toEqual(['d', 'c']);
    expect(store.list(null, { first: 2, after: first.endCursor }).items.map((o) => o.id)).toEqual(['b', 'a']);
  });

  it('sorts operations without a startedAt by the time they were first seen', () => {
    let now = T0;
    const store = open(':memory:', () => now);
    store.record(op('early'), null);
    now += 10_000;
    store.record(op('late'), null);
    now += 10_000;
    store.record(op('early', { progress: { ...EMPTY_PROGRESS, percent: 50 } }), null); // an update keeps its place
    expect(store.list(null, { first: 10 }).items.map((o) => o.id)).toEqual(['late', 'early']);
  });

  it('filters in SQL by active, kinds, statuses, sources and since', () => {
    const store = open();
    const rows: OperationSnapshot[] = [
      op('r1', { status: 'RUNNING', startedAt: iso(T0 + 1_000) }),
      op('r2', { status: 'PENDING', kind: 'RESTORE', source: 'aiven', startedAt: iso(T0 + 2_000) }),
      op('f1', { status: 'SUCCEEDED', startedAt: iso(T0 - 86_400_000) }),
      op('f2', { status: 'FAILED', kind: 'RESTORE', source: 'docs', startedAt: iso(T0 + 3_000) }),
      op('u1', { status: 'UNKNOWN', startedAt: iso(T0 + 4_000) }),
    ];
    for (const row of rows) store.record(row, null);
    const ids = (filter: Parameters<HistoryStore['list']>[0]) => store.list(filter, { first: 50 }).items.map((o) => o.id);
    expect(ids({ active: true })).toEqual(['u1', 'r2', 'r1']);
    expect(ids({ active: false })).toEqual(['f2', 'f1']);
    expect(ids({ kinds: ['RESTORE'] })).toEqual(['f2', 'r2']);
    expect(ids({ statuses: ['FAILED', 'PENDING'] })).toEqual(['f2', 'r2']);
    expect(ids({ sources: ['aiven', 'docs'] })).toEqual(['f2', 'r2']);
    expect(ids({ since: iso(T0) })).toEqual(['u1', 'f2', 'r2', 'r1']);
    expect(ids({ active: true, kinds: ['BACKUP'], sources: ['abs-eu'], since: iso(T0 + 1_500) })).toEqual(['u1']);
    expect(ids({ kinds: [], statuses: null, active: null })).toHaveLength(5);
    expect(ids(undefined)).toHaveLength(5);
  });

  it('caps a page at 500 and treats a non-positive first as empty', () => {
    const store = open();
    const many = 520;
    for (let i = 0; i < many; i += 1) store.record(op(`m-${String(i).padStart(4, '0')}`, { startedAt: iso(T0 + i) }), null);
    const page = store.list(null, { first: 10_000 });
    expect(page.items).toHaveLength(500);
    expect(page.hasNextPage).toBe(true);
    expect(store.list(null, { first: 10_000, after: page.endCursor }).items).toHaveLength(20);
    const empty = store.list(null, { first: 0 });
    expect(empty).toEqual({ items: [], hasNextPage: true, endCursor: null, cursors: [] });
  });

  it('rejects an invalid cursor or date with BAD_USER_INPUT', () => {
    const store = open();
    const error = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const bad = error(() => store.list(null, { first: 1, after: 'not-a-cursor' }));
    expect(bad).toBeInstanceOf(GatewayError);
    expect((bad as GatewayError).code).toBe('BAD_USER_INPUT');
    const wrongShape = Buffer.from(JSON.stringify({ x: 1 })).toString('base64url');
    expect((error(() => store.list(null, { first: 1, after: wrongShape })) as GatewayError).code).toBe('BAD_USER_INPUT');
    expect((error(() => store.list({ since: 'yesterday' }, { first: 1 })) as GatewayError).code).toBe('BAD_USER_INPUT');
  });

  it('returns the last N transitions chronologically and does not repeat an identical one', () => {
    const store = open();
    const snapshot = op('t');
    store.record(snapshot, transition(T0, 'PENDING', null));
    store.record(snapshot, transition(T0 + 1_000, 'RUNNING', 10));
    store.record(snapshot, transition(T0 + 2_000, 'RUNNING', 50, 'half way'));
    store.record(snapshot, transition(T0 + 3_000, 'SUCCEEDED', 100));
    store.record(snapshot, transition(T0 + 9_000, 'SUCCEEDED', 100)); // re-observed after a restart
    store.record(snapshot, null);
    expect(store.transitions('t')).toEqual([
      transition(T0, 'PENDING', null),
      transition(T0 + 1_000, 'RUNNING', 10),
      transition(T0 + 2_000, 'RUNNING', 50, 'half way'),
      transition(T0 + 3_000, 'SUCCEEDED', 100),
    ]);
    expect(store.transitions('t', 2)).toEqual([transition(T0 + 2_000, 'RUNNING', 50, 'half way'), transition(T0 + 3_000, 'SUCCEEDED', 100)]);
    expect(store.transitions('t', 0)).toEqual([]);
    expect(store.transitions('nobody')).toEqual([]);
  });

  it('prunes finished operations older than the retention, with their transitions', () => {
    const store = open();
    const day = 86_400_000;
    store.record(op('old', { status: 'SUCCEEDED', finishedAt: iso(T0 - 40 * day) }), transition(T0 - 40 * day, 'SUCCEEDED', 100));
    store.record(op('recent', { status: 'FAILED', finishedAt: iso(T0 - 2 * day) }), transition(T0 - 2 * day, 'FAILED', 10));
    store.record(op('running', { status: 'RUNNING', startedAt: iso(T0 - 90 * day) }), transition(T0 - 90 * day, 'RUNNING', 1));
    expect(store.prune(30, T0)).toBe(1);
    expect(store.get('old')).toBeUndefined();
    expect(store.transitions('old')).toEqual([]);
    expect(store.get('recent')?.status).toBe('FAILED');
    expect(store.get('running')?.status).toBe('RUNNING');
    expect(store.prune(30, T0)).toBe(0);
  });

  it('survives reopening the database (tracker → store → restart)', () => {
    const path = join(tempDir(), 'nested', 'dir', 'history.db');
    let now = T0;
    const first = openHistoryStore(path);
    const tracker = new OperationTracker({ pubsub: createGatewayPubSub(), history: first, now: () => now });
    const running = (percent: number): OperationSnapshot => op('run-1', { startedAt: iso(T0), progress: { ...EMPTY_PROGRESS, percent } });
    tracker.observe('abs-eu/routine-daily', [running(10)], (last) => last);
    now += 5_000;
    tracker.observe('abs-eu/routine-daily', [running(60)], (last) => last);
    now += 5_000;
    // The run vanishes: the source closes it as succeeded.
    tracker.observe('abs-eu/routine-daily', [], (last) => ({
      ...last,
      status: 'SUCCEEDED',
      progress: { ...last.progress, percent: 100 },
      finishedAt: iso(now),
    }));
    expect(existsSync(`${path}-wal`)).toBe(true); // WAL mode
    first.close();

    const reopened = open(path);
    expect(reopened.get('run-1')).toMatchObject({ status: 'SUCCEEDED', progress: { percent: 100 }, finishedAt: iso(T0 + 10_000) });
    expect(reopened.transitions('run-1')).toEqual([
      transition(T0, 'RUNNING', 10),
      transition(T0 + 5_000, 'RUNNING', 60),
      transition(T0 + 10_000, 'SUCCEEDED', 100),
    ]);
    expect(reopened.list({ active: false }, { first: 10 }).items.map((o) => o.id)).toEqual(['run-1']);
  });

  it('tracks its schema version in user_version and refuses a newer one', () => {
    const path = join(tempDir(), 'history.db');
    openHistoryStore(path).close();
    const raw = new DatabaseSync(path);
    expect(raw.prepare('PRAGMA user_version').get()?.['user_version']).toBe(1);
    expect(raw.prepare('PRAGMA journal_mode').get()?.['journal_mode']).toBe('wal');
    raw.exec('PRAGMA user_version = 99');
    raw.close();
    expect(() => openHistoryStore(path)).toThrow(/newer/);
  });
});
