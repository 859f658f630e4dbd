import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../src/errors.js';
import pg from 'pg';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { eventLockKey } from '../src/history/postgres.js';
import { openHistoryStore, type HistoryStore, type HistoryTarget, type RecordInput, type RecordResult } from '../src/history/store.js';
import {
  EMPTY_PROGRESS,
  type OperationChange,
  type OperationSnapshot,
  type OperationTransition,
} from '../src/model/operation.js';
import { createTestSchema, queryTestDatabase, type TestSchema } from './support/postgres.js';
import { setTimeout as sleep } from 'node:timers/promises';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
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

/** What the tracker would pass: the digest stands for what the vendor reported. */
function input(
  snapshot: OperationSnapshot,
  options: { transition?: OperationTransition | null; change?: OperationChange; digest?: string } = {},
): RecordInput {
  return {
    event: { change: options.change ?? 'PROGRESSED', operation: snapshot },
    transition: options.transition ?? null,
    digest: options.digest ?? JSON.stringify([snapshot.status, snapshot.vendorStatus, snapshot.progress, snapshot.message, snapshot.detail]),
  };
}

const record = (store: HistoryStore, snapshot: OperationSnapshot, trans: OperationTransition | null = null): Promise<RecordResult> =>
  store.record(input(snapshot, { transition: trans }));

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

async function expectBadInput(promise: Promise<unknown>, argument: string): Promise<void> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(GatewayError);
  expect((error as GatewayError).code).toBe('BAD_USER_INPUT');
  expect((error as GatewayError).details).toMatchObject({ argument });
}

const dirs: string[] = [];
const schemas: TestSchema[] = [];
const stores: HistoryStore[] = [];

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const schema of schemas.splice(0)) await schema.drop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'backupgraph-history-'));
  dirs.push(dir);
  return dir;
}

async function open(target: HistoryTarget, now?: () => number): Promise<HistoryStore> {
  const store = await openHistoryStore(target, now ? { now } : {});
  stores.push(store);
  return store;
}

async function testSchema(prefix: string, options: { create?: boolean } = {}): Promise<TestSchema> {
  const schema = await createTestSchema(prefix, options);
  schemas.push(schema);
  return schema;
}

/** A fresh place for a history, openable several times (restarts, several instances). */
interface Engine {
  name: 'sqlite' | 'postgres';
  place(): Promise<HistoryTarget>;
}

const sqlite: Engine = { name: 'sqlite', place: async () => ({ sqlite: join(tempDir(), 'history.db') }) };
const postgres: Engine = {
  name: 'postgres',
  place: async () => {
    const { url, schema } = await testSchema('history');
    return { postgres: { url, schema } };
  },
};

describe.each([sqlite, postgres])('history store on $name', (engine) => {
  const fresh = async (now?: () => number) => open(await engine.place(), now);

  it('records an operation and reads it back as it was', async () => {
    const store = await fresh();
    expect(store.engine).toBe(engine.name);
    const snapshot = op('a', { startedAt: iso(T0), message: 'going' });
    await record(store, snapshot, transition(T0, 'RUNNING', 10));
    expect(await store.get('a')).toEqual(snapshot);
    expect(await store.get('missing')).toBeUndefined();
    const updated = { ...snapshot, status: 'SUCCEEDED' as const, progress: { ...snapshot.progress, percent: 100 } };
    await record(store, updated, transition(T0 + 1_000, 'SUCCEEDED', 100));
    expect(await store.get('a')).toEqual(updated);
    expect((await store.transitions('a')).map((t) => t.status)).toEqual(['RUNNING', 'SUCCEEDED']);
  });

  it('keeps a NUL character in the snapshot and stores the rest without failing', async () => {
    const store = await fresh();
    const snapshot = op('nul', { message: 'bad\u0000byte', detail: { raw: 'x\u0000y' } });
    await record(store, snapshot, transition(T0, 'RUNNING', 10, 'bad\u0000byte'));
    expect(await store.get('nul')).toEqual(snapshot);
    expect(await store.transitions('nul')).toEqual([transition(T0, 'RUNNING', 10, 'bad\uFFFDbyte')]);
    expect(await store.get('n\u0000l')).toBeUndefined();
    expect(await store.transitions('n\u0000l')).toEqual([]);
  });

  it('lists newest first with keyset cursors across pages', async () => {
    const store = await fresh();
    for (let i = 0; i < 7; i += 1) await record(store, op(`op-${i}`, { startedAt: iso(T0 + i * 60_000) }));
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    while (pages < 10) {
      const page = await store.list(null, { first: 3, after });
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
    const firstPage = await store.list(null, { first: 2 });
    await record(store, op('op-new', { startedAt: iso(T0 + HOUR) }));
    expect((await store.list(null, { first: 2, after: firstPage.endCursor })).items.map((o) => o.id)).toEqual(['op-4', 'op-3']);
    // Cursors are opaque base64url.
    expect(firstPage.endCursor).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('orders ties on sort time by id, descending and bytewise, and pages through them', async () => {
    const store = await fresh();
    for (const id of ['b', 'd', 'a', 'c']) await record(store, op(id, { startedAt: iso(T0) }));
    const first = await store.list(null, { first: 2 });
    expect(first.items.map((o) => o.id)).toEqual(['d', 'c']);
    expect((await store.list(null, { first: 2, after: first.endCursor })).items.map((o) => o.id)).toEqual(['b', 'a']);
    // Bytes, not a locale: lower case after upper case, non-ASCII last (as both engines order).
    for (const id of ['B', 'é', 'Z', 'A', '_']) await record(store, op(id, { startedAt: iso(T0 - 1) }));
    const older = await store.list({ since: iso(T0 - 1) }, { first: 20, after: (await store.list(null, { first: 4 })).endCursor });
    expect(older.items.map((o) => o.id)).toEqual(['é', '_', 'Z', 'B', 'A']);
  });

  it('sorts operations without a startedAt by the time they were first seen', async () => {
    let now = T0;
    const store = await fresh(() => now);
    await record(store, op('early'));
    now += 10_000;
    await record(store, op('late'));
    now += 10_000;
    await record(store, op('early', { progress: { ...EMPTY_PROGRESS, percent: 50 } })); // an update keeps its place
    expect((await store.list(null, { first: 10 })).items.map((o) => o.id)).toEqual(['late', 'early']);
    // Once a startedAt is known it wins.
    await record(store, op('late', { startedAt: iso(T0 - DAY) }));
    expect((await store.list(null, { first: 10 })).items.map((o) => o.id)).toEqual(['early', 'late']);
  });

  it('filters by active, kinds, statuses, sources and since', async () => {
    const store = await fresh();
    const rows: OperationSnapshot[] = [
      op('r1', { status: 'RUNNING', startedAt: iso(T0 + 1_000) }),
      op('r2', { status: 'PENDING', kind: 'RESTORE', source: 'aiven', startedAt: iso(T0 + 2_000) }),
      op('f1', { status: 'SUCCEEDED', startedAt: iso(T0 - DAY) }),
      op('f2', { status: 'FAILED', kind: 'RESTORE', source: 'docs', startedAt: iso(T0 + 3_000) }),
      op('u1', { status: 'UNKNOWN', startedAt: iso(T0 + 4_000) }),
    ];
    for (const row of rows) await record(store, row);
    const ids = async (filter: Parameters<HistoryStore['list']>[0]) => (await store.list(filter, { first: 50 })).items.map((o) => o.id);
    expect(await ids({ active: true })).toEqual(['u1', 'r2', 'r1']);
    expect(await ids({ active: false })).toEqual(['f2', 'f1']);
    expect(await ids({ kinds: ['RESTORE'] })).toEqual(['f2', 'r2']);
    expect(await ids({ statuses: ['FAILED', 'PENDING'] })).toEqual(['f2', 'r2']);
    expect(await ids({ sources: ['aiven', 'docs'] })).toEqual(['f2', 'r2']);
    expect(await ids({ since: iso(T0) })).toEqual(['u1', 'f2', 'r2', 'r1']);
    expect(await ids({ active: true, kinds: ['BACKUP'], sources: ['abs-eu'], since: iso(T0 + 1_500) })).toEqual(['u1']);
    expect(await ids({ kinds: [], statuses: null, active: null })).toHaveLength(5);
    expect(await ids(undefined)).toHaveLength(5);
  });

  it('caps a page at 500 and treats a non-positive first as empty', async () => {
    const store = await fresh();
    const many = 520;
    // Several at a time (each record is its own transaction); the order comes from startedAt.
    for (let i = 0; i < many; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, j) => record(store, op(`m-${String(i + j).padStart(4, '0')}`, { startedAt: iso(T0 + i + j) }))),
      );
    }
    const page = await store.list(null, { first: 10_000 });
    expect(page.items).toHaveLength(500);
    expect(page.hasNextPage).toBe(true);
    expect(page.items[0]?.id).toBe('m-0519');
    expect((await store.list(null, { first: 10_000, after: page.endCursor })).items).toHaveLength(20);
    const empty = await store.list(null, { first: 0 });
    expect(empty).toEqual({ items: [], hasNextPage: true, endCursor: null, cursors: [] });
  });

  it('rejects an invalid cursor or date with BAD_USER_INPUT', async () => {
    const store = await fresh();
    await expectBadInput(store.list(null, { first: 1, after: 'not-a-cursor' }), 'after');
    const wrongShape = Buffer.from(JSON.stringify({ x: 1 })).toString('base64url');
    await expectBadInput(store.list(null, { first: 1, after: wrongShape }), 'after');
    const fractional = Buffer.from(JSON.stringify([1.5, 'a'])).toString('base64url');
    await expectBadInput(store.list(null, { first: 1, after: fractional }), 'after');
    await expectBadInput(store.list({ since: 'yesterday' }, { first: 1 }), 'filter.since');
  });

  it('returns the last N transitions chronologically and does not repeat an identical one', async () => {
    const store = await fresh();
    const snapshot = op('t');
    await record(store, snapshot, transition(T0, 'PENDING', null));
    await record(store, snapshot, transition(T0 + 1_000, 'RUNNING', 10));
    await record(store, snapshot, transition(T0 + 2_000, 'RUNNING', 50, 'half way'));
    await record(store, snapshot, transition(T0 + 3_000, 'SUCCEEDED', 100));
    await record(store, snapshot, transition(T0 + 9_000, 'SUCCEEDED', 100)); // re-observed after a restart
    await record(store, snapshot, null);
    expect(await store.transitions('t')).toEqual([
      transition(T0, 'PENDING', null),
      transition(T0 + 1_000, 'RUNNING', 10),
      transition(T0 + 2_000, 'RUNNING', 50, 'half way'),
      transition(T0 + 3_000, 'SUCCEEDED', 100),
    ]);
    expect(await store.transitions('t', 2)).toEqual([transition(T0 + 2_000, 'RUNNING', 50, 'half way'), transition(T0 + 3_000, 'SUCCEEDED', 100)]);
    expect(await store.transitions('t', 0)).toEqual([]);
    expect(await store.transitions('nobody')).toEqual([]);
    // A fractional percent comes back exactly, and only a change of it is a new transition.
    await record(store, op('f'), transition(T0, 'RUNNING', 33.3));
    await record(store, op('f'), transition(T0 + 1, 'RUNNING', 33.3));
    await record(store, op('f'), transition(T0 + 2, 'RUNNING', 33.30000001));
    expect((await store.transitions('f')).map((t) => t.percent)).toEqual([33.3, 33.30000001]);
  });

  it('logs every event with increasing ids and replays them after an id', async () => {
    const store = await fresh();
    expect(await store.lastEventId()).toBeNull();
    expect(await store.eventsAfter('0')).toEqual([]);
    const a = op('a', { startedAt: iso(T0) });
    const a1 = await store.record({ ...input(a, { change: 'STARTED' }), event: { change: 'STARTED', operation: a, eventId: 'stale', origin: 'gw-1' } });
    const b1 = await store.record(input(op('b'), { change: 'STARTED' }));
    const a2 = await store.record(input({ ...a, progress: { ...a.progress, percent: 60 } }));
    const aDone = { ...a, status: 'SUCCEEDED' as const, finishedAt: iso(T0 + 5_000) };
    const a3 = await store.record(input(aDone, { change: 'FINISHED' }));
    const ids = [a1, b1, a2, a3].map((r) => {
      expect(r.duplicate).toBe(false);
      expect(r.eventId).toMatch(/^[1-9]\d*$/);
      return BigInt(r.eventId);
    });
    expect([...ids].sort((x, y) => (x < y ? -1 : 1))).toEqual(ids);
    expect(new Set(ids).size).toBe(4);
    expect(await store.lastEventId()).toBe(a3.eventId);

    const all = await store.eventsAfter('0');
    expect(all.map((e) => e.eventId)).toEqual([a1, b1, a2, a3].map((r) => r.eventId));
    // As recorded, with the log's id instead of whatever it carried, and without the instance's origin.
    expect(all[0]).toEqual({ change: 'STARTED', operation: a, eventId: a1.eventId });
    expect(all[3]).toEqual({ change: 'FINISHED', operation: aDone, eventId: a3.eventId });
    expect((await store.eventsAfter(a1.eventId)).map((e) => e.eventId)).toEqual([b1, a2, a3].map((r) => r.eventId));
    expect((await store.eventsAfter('0', { operationId: 'a' })).map((e) => e.change)).toEqual(['STARTED', 'PROGRESSED', 'FINISHED']);
    expect((await store.eventsAfter('0', { operationId: 'a', limit: 2 })).map((e) => e.eventId)).toEqual([a1.eventId, a2.eventId]);
    expect((await store.eventsAfter(a1.eventId, { operationId: 'b' })).map((e) => e.eventId)).toEqual([b1.eventId]);
    expect(await store.eventsAfter('0', { operationId: 'nobody' })).toEqual([]);
    expect(await store.eventsAfter('0', { limit: 0 })).toEqual([]);
    expect(await store.eventsAfter(a3.eventId)).toEqual([]);
    expect(await store.eventsAfter('0', { limit: 1.9 })).toHaveLength(1);

    for (const bad of ['', 'abc', '-1', '1.5', ' 1', '1e3', '0x10', '99999999999999999999', String(BigInt(a3.eventId) + 1n)]) {
      await expectBadInput(store.eventsAfter(bad), 'after');
    }
  });

  it('caps a replay at 1000 events', async () => {
    const store = await fresh();
    for (let i = 0; i < 1_010; i += 30) {
      await Promise.all(Array.from({ length: Math.min(30, 1_010 - i) }, (_, j) => record(store, op(`e-${i + j}`))));
    }
    expect(await store.eventsAfter('0', { limit: 5_000 })).toHaveLength(1_000);
    expect(await store.eventsAfter('0')).toHaveLength(1_000);
    const last = await store.eventsAfter('0', { limit: 1_000 });
    expect(await store.eventsAfter(last[last.length - 1]!.eventId)).toHaveLength(10);
  });

  it('detects a change already logged as the latest event of the operation', async () => {
    const store = await fresh();
    const a = op('a');
    const first = await store.record(input(a, { change: 'STARTED', digest: 'd1' }));
    expect(first.duplicate).toBe(false);
    // The same change again (another instance, or after a restart): the same id, not logged again.
    expect(await store.record(input(a, { change: 'STARTED', digest: 'd1' }))).toEqual({ eventId: first.eventId, duplicate: true });
    const progressed = await store.record(input(a, { change: 'PROGRESSED', digest: 'd1' }));
    expect(progressed.duplicate).toBe(false);
    const d2 = await store.record(input(a, { change: 'PROGRESSED', digest: 'd2' }));
    expect(d2.duplicate).toBe(false);
    expect(await store.record(input(a, { change: 'PROGRESSED', digest: 'd2' }))).toEqual({ eventId: d2.eventId, duplicate: true });
    // Only the latest counts: going back to an earlier state is a new event.
    expect((await store.record(input(a, { change: 'PROGRESSED', digest: 'd1' }))).duplicate).toBe(false);
    // Per operation.
    expect((await store.record(input(op('b'), { change: 'STARTED', digest: 'd1' }))).duplicate).toBe(false);
    expect((await store.eventsAfter('0')).map((e) => `${e.operation.id}:${e.change}`)).toEqual([
      'a:STARTED',
      'a:PROGRESSED',
      'a:PROGRESSED',
      'a:PROGRESSED',
      'b:STARTED',
    ]);
  });

  it('prunes finished operations older than the retention with their transitions, and old events', async () => {
    let now = T0 - 48 * HOUR;
    const store = await fresh(() => now);
    const old = await record(store, op('old', { status: 'SUCCEEDED', finishedAt: iso(T0 - 40 * DAY) }), transition(T0 - 40 * DAY, 'SUCCEEDED', 100));
    now = T0 - HOUR;
    const recent = await record(store, op('recent', { status: 'FAILED', finishedAt: iso(T0 - 2 * DAY) }), transition(T0 - 2 * DAY, 'FAILED', 10));
    const running = await record(store, op('running', { status: 'RUNNING', startedAt: iso(T0 - 90 * DAY) }), transition(T0 - 90 * DAY, 'RUNNING', 1));
    expect(await store.prune({ days: 30, eventHours: 24 }, T0)).toBe(1);
    expect(await store.get('old')).toBeUndefined();
    expect(await store.transitions('old')).toEqual([]);
    expect((await store.get('recent'))?.status).toBe('FAILED');
    expect((await store.get('running'))?.status).toBe('RUNNING');
    expect(await store.transitions('recent')).toHaveLength(1);
    // Events older than 24 h are gone; the id of a pruned one is still a valid place to resume from.
    expect((await store.eventsAfter('0')).map((e) => e.eventId)).toEqual([recent.eventId, running.eventId]);
    expect((await store.eventsAfter(old.eventId)).map((e) => e.eventId)).toEqual([recent.eventId, running.eventId]);
    expect(await store.prune({ days: 30, eventHours: 24 }, T0)).toBe(0);
    // Everything expires eventually; ids keep increasing past the pruned ones.
    expect(await store.prune({ days: 0.5, eventHours: 0.5 }, T0)).toBe(1);
    expect(await store.lastEventId()).toBeNull();
    const next = await record(store, op('next'));
    expect(BigInt(next.eventId)).toBeGreaterThan(BigInt(running.eventId));
  });

  it('survives reopening: state, transitions, event ids and duplicate detection', async () => {
    const place = await engine.place();
    let now = T0;
    const first = await open(place, () => now);
    const running = (percent: number): OperationSnapshot => op('run-1', { startedAt: iso(T0), progress: { ...EMPTY_PROGRESS, percent } });
    await first.record(input(running(10), { change: 'STARTED', transition: transition(now, 'RUNNING', 10) }));
    now += 5_000;
    await first.record(input(running(60), { transition: transition(now, 'RUNNING', 60) }));
    now += 5_000;
    const done: OperationSnapshot = { ...running(100), status: 'SUCCEEDED', finishedAt: iso(now) };
    const finished = await first.record(input(done, { change: 'FINISHED', transition: transition(now, 'SUCCEEDED', 100) }));
    await first.close();

    const reopened = await open(place);
    expect(await reopened.get('run-1')).toEqual(done);
    expect(await reopened.transitions('run-1')).toEqual([
      transition(T0, 'RUNNING', 10),
      transition(T0 + 5_000, 'RUNNING', 60),
      transition(T0 + 10_000, 'SUCCEEDED', 100),
    ]);
    expect((await reopened.list({ active: false }, { first: 10 })).items.map((o) => o.id)).toEqual(['run-1']);
    expect(await reopened.lastEventId()).toBe(finished.eventId);
    // The same finished run re-observed after the restart is neither logged nor a new transition.
    const again = await reopened.record(input(done, { change: 'FINISHED', transition: transition(T0 + 60_000, 'SUCCEEDED', 100) }));
    expect(again).toEqual({ eventId: finished.eventId, duplicate: true });
    expect(await reopened.transitions('run-1')).toHaveLength(3);
  });

  it('answers ping until closed; close is idempotent; record after close is dropped', async () => {
    const store = await fresh();
    await expect(store.ping()).resolves.toBeUndefined();
    await record(store, op('a'));
    // A record still under way when the store closes settles (recorded, or dropped): it never rejects.
    const racing = record(store, op('racing'));
    await Promise.all([store.close(), store.close()]);
    expect((await racing).eventId).toMatch(/^\d+$/);
    await store.close();
    expect(await record(store, op('b'))).toEqual({ eventId: '0', duplicate: true });
    await expect(store.ping()).rejects.toThrow(/closed/);
    await expect(store.get('a')).rejects.toThrow(/closed/);
    await expect(store.eventsAfter('0')).rejects.toThrow(/closed/);
  });
});

describe('both engines', () => {
  it('order alike and accept each other’s cursors', async () => {
    const lite = await open(await sqlite.place());
    const pg = await open(await postgres.place());
    const ids = ['b', 'A', 'é', 'a', 'Z', 'a-1', 'a_1', 'a1', '~'];
    for (const store of [lite, pg]) {
      for (const [i, id] of ids.entries()) await record(store, op(id, { startedAt: iso(T0 + (i % 3)) }));
    }
    const litePage = await lite.list(null, { first: 4 });
    const pgPage = await pg.list(null, { first: 4 });
    expect(pgPage).toEqual(litePage);
    const liteRest = await lite.list(null, { first: 10, after: pgPage.endCursor });
    const pgRest = await pg.list(null, { first: 10, after: litePage.endCursor });
    expect(pgRest).toEqual(liteRest);
    expect([...litePage.items, ...liteRest.items].map((o) => o.id).sort()).toEqual([...ids].sort());
  });
});

describe('history store on sqlite only', () => {
  it('uses WAL and tracks its schema version in user_version, refusing a newer one', async () => {
    const path = join(tempDir(), 'nested', 'dir', 'history.db');
    const store = await open({ sqlite: path });
    await record(store, op('a'));
    expect(existsSync(`${path}-wal`)).toBe(true);
    await store.close();
    const raw = new DatabaseSync(path);
    expect(raw.prepare('PRAGMA user_version').get()?.['user_version']).toBe(2);
    expect(raw.prepare('PRAGMA journal_mode').get()?.['journal_mode']).toBe('wal');
    raw.exec('PRAGMA user_version = 99');
    raw.close();
    await expect(openHistoryStore({ sqlite: path })).rejects.toThrow(/newer/);
  });

  it('upgrades a file of the previous version (no event log) in place', async () => {
    const path = join(tempDir(), 'history.db');
    const before = await open({ sqlite: path });
    await record(before, op('kept', { startedAt: iso(T0) }), transition(T0, 'RUNNING', 10));
    await before.close();
    const raw = new DatabaseSync(path);
    raw.exec('DROP TABLE events; PRAGMA user_version = 1');
    raw.close();

    const after = await open({ sqlite: path });
    expect((await after.get('kept'))?.id).toBe('kept');
    expect(await after.transitions('kept')).toEqual([transition(T0, 'RUNNING', 10)]);
    expect(await after.lastEventId()).toBeNull();
    const recorded = await record(after, op('new'));
    expect(recorded.duplicate).toBe(false);
    expect(await after.lastEventId()).toBe(recorded.eventId);
    await after.close();
    const check = new DatabaseSync(path);
    expect(check.prepare('PRAGMA user_version').get()?.['user_version']).toBe(2);
    check.close();
  });
});

describe('history store on postgres only', () => {
  const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

  it('records each change once when two instances record it concurrently', async () => {
    const place = await postgres.place();
    const [one, two] = await Promise.all([open(place), open(place)]);
    const pairs = 20;
    const race = (change: OperationChange, percent: number) =>
      Promise.all(
        Array.from({ length: pairs }, (_, i) => {
          const snapshot = op(`race-${i}`, { startedAt: iso(T0 + i), progress: { ...EMPTY_PROGRESS, percent } });
          const same = input(snapshot, { change, transition: transition(T0 + percent, 'RUNNING', percent) });
          return Promise.all([one!.record(same), two!.record(same)]);
        }),
      );
    const results = [...(await race('STARTED', 10)), ...(await race('PROGRESSED', 50))];
    for (const [a, b] of results) {
      expect([a.duplicate, b.duplicate].sort()).toEqual([false, true]);
      expect(a.eventId).toBe(b.eventId);
    }
    const logged = await one!.eventsAfter('0');
    expect(logged).toHaveLength(2 * pairs);
    expect(logged.map((e) => e.eventId).sort()).toEqual(results.map(([a]) => a.eventId).sort());
    for (let i = 0; i < pairs; i += 1) {
      expect((await two!.eventsAfter('0', { operationId: `race-${i}` })).map((e) => e.change)).toEqual(['STARTED', 'PROGRESSED']);
      expect((await two!.transitions(`race-${i}`)).map((t) => t.percent)).toEqual([10, 50]);
    }
  });

  it('takes an event id only while no other is being committed, so ids commit in order', async () => {
    const { url, schema } = await testSchema('order');
    const store = await open({ postgres: { url, schema } });
    const before = await record(store, op('before'));
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      // Another instance is between taking its id and committing.
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(hashtext($1))', [eventLockKey(schema)]);
      let settled = false;
      const pending = record(store, op('after')).finally(() => {
        settled = true;
      });
      let waiting = 0;
      for (let attempt = 0; attempt < 400 && waiting === 0; attempt += 1) {
        const rows = await queryTestDatabase<{ waiting: number }>(
          `SELECT count(*)::int AS waiting FROM pg_locks
           WHERE locktype = 'advisory' AND NOT granted AND objid::bigint = (hashtext($1)::bigint & 4294967295)`,
          [eventLockKey(schema)],
        );
        waiting = rows[0]?.waiting ?? 0;
        if (waiting === 0) await sleep(25);
      }
      expect(waiting).toBe(1);
      expect(settled).toBe(false);
      await holder.query('COMMIT');
      const after = await pending;
      expect(BigInt(after.eventId)).toBeGreaterThan(BigInt(before.eventId));
    } finally {
      await holder.end();
    }
  });

  it('survives its idle connections being cut (logged without the URL), and reconnects', async () => {
    const { url, schema } = await testSchema('cut');
    const secret = `pw${randomBytes(8).toString('hex')}`;
    const appName = `bg_cut_${randomBytes(4).toString('hex')}`;
    const target = new URL(url);
    target.password = secret;
    target.searchParams.set('application_name', appName);
    const lines: string[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString('utf8'));
          done();
        },
      }),
    );
    const store = await openHistoryStore({ postgres: { url: target.toString(), schema } }, { logger });
    stores.push(store);
    await record(store, op('a'));
    const cut = await queryTestDatabase<{ cut: boolean }>(
      'SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE application_name = $1',
      [appName],
    );
    expect(cut.length).toBeGreaterThan(0);
    for (let attempt = 0; attempt < 400 && lines.length === 0; attempt += 1) await sleep(25);
    expect(lines.join('')).toContain('history database connection lost');
    expect(lines.join('')).not.toContain(secret);
    await store.ping();
    expect((await store.get('a'))?.id).toBe('a');
  });

  it('migrates a schema that does not exist yet once, when instances start together', async () => {
    const { url, schema } = await testSchema('migrate', { create: false });
    const started = await Promise.all([1, 2, 3].map(() => open({ postgres: { url, schema } })));
    const versions = await queryTestDatabase<{ version: number }>(`SELECT version FROM ${quote(schema)}.backupgraph_migrations ORDER BY version`);
    expect(versions.map((row) => row.version)).toEqual([1, 2]);
    const tables = await queryTestDatabase<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [schema],
    );
    expect(tables.map((row) => row.table_name)).toEqual(['backupgraph_migrations', 'events', 'operations', 'transitions']);
    const written = await record(started[0]!, op('shared'));
    expect((await started[2]!.eventsAfter('0')).map((e) => e.eventId)).toEqual([written.eventId]);
  });

  it('refuses a database migrated by a newer version', async () => {
    const { url, schema } = await testSchema('newer');
    await (await open({ postgres: { url, schema } })).close();
    await queryTestDatabase(`INSERT INTO ${quote(schema)}.backupgraph_migrations (version) VALUES (99)`);
    await expect(openHistoryStore({ postgres: { url, schema } })).rejects.toThrow(/version 99 is newer/);
  });

  it('keeps every table in its schema, whatever the schema is called', async () => {
    const { url, schema: base } = await testSchema('odd', { create: false });
    const schema = `${base} "Odd"; DROP`;
    try {
      const store = await open({ postgres: { url, schema } });
      await record(store, op('a'), transition(T0, 'RUNNING', 10));
      expect((await store.get('a'))?.id).toBe('a');
      const tables = await queryTestDatabase<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
        [schema],
      );
      expect(tables.map((row) => row.table_name)).toEqual(['backupgraph_migrations', 'events', 'operations', 'transitions']);
      await expect(openHistoryStore({ postgres: { url, schema: 'x'.repeat(64) } })).rejects.toThrow(/63 bytes/);
    } finally {
      await queryTestDatabase(`DROP SCHEMA IF EXISTS ${quote(schema)} CASCADE`);
    }
  });

  it('never shows the URL or its password in an error when PostgreSQL cannot be used', async () => {
    const secret = `pw@${randomBytes(8).toString('hex')}`;
    const encoded = encodeURIComponent(secret);
    const cases: { url: string; reason: RegExp }[] = [
      { url: `postgres://postgres:${encoded}@127.0.0.1:1/test`, reason: /ECONNREFUSED/ },
      { url: `postgres://postgres:${encoded}@127.0.0.1:5432/no_such_database_${randomBytes(4).toString('hex')}`, reason: /does not exist/ },
      { url: `postgres://postgres:${encoded}@127.0.0.1:notaport/test`, reason: /Invalid URL/ },
    ];
    for (const { url, reason } of cases) {
      const error = await rejection(openHistoryStore({ postgres: { url, schema: 'never_created' } }));
      expect(error).toBeInstanceOf(Error);
      const everything = `${String(error)}\n${(error as Error).stack}\n${inspect(error, { depth: 10, showHidden: true })}`;
      expect((error as Error).message).toMatch(reason);
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(encoded);
      expect(everything).not.toContain(url);
    }
  });
});
