/**
 * The history of observed operations (contract: history.ts), and its default engine: an embedded
 * SQLite file (node:sqlite, WAL) for a single instance. PostgreSQL (postgres.ts) is used when
 * several instances share the history; `openHistoryStore` opens either (docs/ARCHITECTURE.md, "History").
 *
 * Tables, identical in meaning in both engines:
 * - `operations`: one row per id, the latest snapshot (JSON) plus the columns lists filter and sort
 *   on; `sort_at` = startedAt, else the time the operation was first recorded (epoch ms), never
 *   moved later once set unless a startedAt becomes known.
 * - `transitions`: append-only (status, percent, message) changes per operation; a row identical to
 *   the operation's latest one is not appended again (e.g. the same finished backup re-observed
 *   after a gateway restart).
 * - `events`: the event log, `seq` increasing; `at` = when recorded (epoch ms); `payload` = the
 *   OperationEvent as JSON without eventId/origin. An event whose (change, digest) equals the
 *   operation's latest logged one is a duplicate and is not logged again.
 * - Lists are newest first (sort_at desc, id desc, ids compared bytewise) with opaque keyset
 *   cursors that both engines encode alike.
 *
 * After close(), record() resolves `{ eventId: '0', duplicate: true }` (an event observed while the
 * gateway shuts down is dropped, not published) and every other method rejects.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type SQLOutputValue, type StatementSync } from 'node:sqlite';
import { badInput } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  FINAL_STATUSES,
  isFinal,
  type OperationFilter,
  type OperationSnapshot,
  type OperationStatus,
  type OperationTransition,
} from '../model/operation.js';
import {
  MAX_PAGE_SIZE,
  MAX_REPLAY,
  type HistoryPage,
  type HistoryStore,
  type LoggedEvent,
  type RecordInput,
  type RecordResult,
} from './history.js';

export type { HistoryPage, HistoryStore, LoggedEvent, RecordInput, RecordResult } from './history.js';
export { MAX_PAGE_SIZE, MAX_REPLAY } from './history.js';

/** Where the history lives: a SQLite file (':memory:' for tests) or a PostgreSQL schema. */
export type HistoryTarget = { sqlite: string } | { postgres: { url: string; schema?: string } };

export interface HistoryStoreOptions {
  /** Clock for first-seen and recording times (default Date.now). */
  now?: () => number;
  /** Where problems outside any call are reported (PostgreSQL: a pooled connection that dropped). */
  logger?: Logger;
}

/** Opens the history (creating or upgrading its tables); the one way callers obtain a HistoryStore. */
export async function openHistoryStore(target: HistoryTarget, options: HistoryStoreOptions = {}): Promise<HistoryStore> {
  if ('postgres' in target) {
    // Loaded on demand: a single instance on SQLite never loads pg (and postgres.ts imports this file).
    const { openPostgresHistoryStore } = await import('./postgres.js');
    return openPostgresHistoryStore(target.postgres, options);
  }
  return new SqliteHistoryStore(target.sqlite, options);
}

// ---------------------------------------------------------------------------------------------
// Shared by both engines, so that they behave alike.

/** What record() resolves once the store is closed: dropped, not to be published. */
export function closedStoreResult(): RecordResult {
  return { eventId: '0', duplicate: true };
}

/** The final statuses as an SQL list literal (constants, not user input). */
export const FINAL_SQL_LIST = [...FINAL_STATUSES].map((status) => `'${status.replace(/'/g, "''")}'`).join(', ');

const MAX_EVENT_SEQ = 2n ** 63n - 1n;

export function parseMs(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}

export function encodeCursor(sortAt: number, id: string): string {
  return Buffer.from(JSON.stringify([sortAt, id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): { sortAt: number; id: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    // sort_at is always a whole number of ms (an integer column in both engines).
    if (Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === 'string') {
      return { sortAt: value[0] as number, id: value[1] };
    }
  } catch {
    // fall through
  }
  throw badInput('Invalid cursor', { argument: 'after' });
}

/** What a list call asks for, validated: page size (capped), keyset position, since (epoch ms). */
export function listQuery(
  filter: OperationFilter | null | undefined,
  page: { first: number; after?: string | null },
): { first: number; after: { sortAt: number; id: string } | null; since: number | null } {
  const first = Math.max(0, Math.min(MAX_PAGE_SIZE, Math.floor(Number.isFinite(page.first) ? page.first : 0)));
  const after = page.after ? decodeCursor(page.after) : null;
  let since: number | null = null;
  if (filter?.since) {
    since = parseMs(filter.since);
    if (since === null) throw badInput('Invalid date in filter.since', { argument: 'filter.since' });
  }
  return { first, after, since };
}

/** A non-empty filter list, else null (no filtering on that column). */
export function filterList(values: readonly string[] | null | undefined): readonly string[] | null {
  return values && values.length > 0 ? values : null;
}

/** Rows fetched with LIMIT first + 1 → the page. */
export function toPage(rows: readonly { sortAt: number; id: string; snapshot: string }[], first: number): HistoryPage {
  const hasNextPage = rows.length > first;
  const items: OperationSnapshot[] = [];
  const cursors: string[] = [];
  for (const row of hasNextPage ? rows.slice(0, first) : rows) {
    items.push(JSON.parse(row.snapshot) as OperationSnapshot);
    cursors.push(encodeCursor(row.sortAt, row.id));
  }
  return { items, hasNextPage, endCursor: cursors[cursors.length - 1] ?? null, cursors };
}

/**
 * Plain-text columns never hold U+0000: PostgreSQL text cannot, and both engines must store the
 * same. The JSON columns keep the exact value (JSON escapes it).
 */
export function plainText(value: string): string;
export function plainText(value: string | null): string | null;
export function plainText(value: string | null): string | null {
  return value === null ? null : value.replaceAll('\u0000', '\uFFFD');
}

/** The operations row for a snapshot recorded at `now`. */
export function operationRow(snapshot: OperationSnapshot, now: number) {
  const final = isFinal(snapshot.status);
  return {
    id: snapshot.id,
    source: plainText(snapshot.source),
    kind: snapshot.kind,
    status: snapshot.status,
    typename: plainText(snapshot.typename),
    startedAt: plainText(snapshot.startedAt),
    updatedAt: plainText(snapshot.updatedAt),
    finishedAt: plainText(snapshot.finishedAt),
    /** sort_at when a startedAt is known (it then always wins), else null (keep the first-seen time). */
    startedMs: parseMs(snapshot.startedAt),
    endedAt: final ? (parseMs(snapshot.finishedAt) ?? parseMs(snapshot.updatedAt) ?? now) : null,
    snapshot: JSON.stringify(snapshot),
  };
}

/** The logged form of an event: without its id (the row's seq) and origin (per instance). */
export function eventPayload(input: RecordInput): string {
  const { eventId: _eventId, origin: _origin, ...event } = input.event;
  return JSON.stringify(event);
}

export function loggedEvent(seq: string, payload: string): LoggedEvent {
  return { ...(JSON.parse(payload) as Omit<LoggedEvent, 'eventId'>), eventId: seq };
}

/** An event id from a client: a decimal seq this store may have issued, else BAD_USER_INPUT. */
export function parseEventId(eventId: string): bigint {
  if (typeof eventId === 'string' && /^\d{1,19}$/.test(eventId)) {
    const seq = BigInt(eventId);
    if (seq <= MAX_EVENT_SEQ) return seq;
  }
  throw badInput('Invalid event id', { argument: 'after' });
}

/** An id above every seq ever issued is not one of this store's (another database, a forged id). */
export function checkIssued(seq: bigint, lastIssued: bigint): void {
  if (seq > lastIssued) throw badInput('Invalid event id', { argument: 'after' });
}

export function replayLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return MAX_REPLAY;
  return Math.max(0, Math.min(MAX_REPLAY, Math.floor(limit)));
}

/** `last` transitions → a row limit, null for all. */
export function transitionLimit(last: number | null | undefined): number | null {
  return last === undefined || last === null || !Number.isFinite(last) ? null : Math.max(0, Math.floor(last));
}

export function toTransition(row: { at: unknown; status: unknown; percent: unknown; message: unknown }): OperationTransition {
  return {
    at: String(row.at),
    status: String(row.status) as OperationStatus,
    percent: row.percent === null || row.percent === undefined ? null : Number(row.percent),
    message: row.message === null || row.message === undefined ? null : String(row.message),
  };
}

export function storeClosed(): Error {
  return new Error('the history store is closed');
}

// ---------------------------------------------------------------------------------------------
// SQLite

/** Schema versions, applied in order; PRAGMA user_version holds how many have been applied. */
const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE operations (
    id          TEXT PRIMARY KEY,
    source      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    typename    TEXT NOT NULL,
    started_at  TEXT,
    updated_at  TEXT,
    finished_at TEXT,
    sort_at     INTEGER NOT NULL,
    ended_at    INTEGER,
    snapshot    TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX operations_by_sort ON operations (sort_at DESC, id DESC);
  CREATE INDEX operations_by_status ON operations (status, ended_at);
  CREATE TABLE transitions (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id   TEXT NOT NULL,
    at      TEXT NOT NULL,
    status  TEXT NOT NULL,
    percent REAL,
    message TEXT
  );
  CREATE INDEX transitions_by_op ON transitions (op_id, seq);
  `,
  `
  CREATE TABLE events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id   TEXT NOT NULL,
    at      INTEGER NOT NULL,
    change  TEXT NOT NULL,
    digest  TEXT NOT NULL,
    payload TEXT NOT NULL
  );
  CREATE INDEX events_by_op ON events (op_id, seq);
  CREATE INDEX events_by_at ON events (at);
  `,
];

const text = (value: SQLOutputValue | undefined): string => String(value);

/** Progress is written at most this late; a final state at the next turn of the event loop. */
const WRITE_BEHIND_MS = 25;
/** Latest logged event per operation, kept for the duplicate check (oldest forgotten first). */
const LATEST_CACHE = 10_000;

interface PendingWrite {
  row: ReturnType<typeof operationRow>;
  now: number;
  transition: RecordInput['transition'];
  /** Absent for a duplicate: the operation's row (and a transition not seen yet) is still written. */
  event: { seq: number; change: string; digest: string; payload: string } | null;
}

/**
 * One process owns the file, so event ids are issued here and rows are written behind, many per
 * transaction: a commit costs about as much as the rows in it (and blocks the event loop, node:sqlite
 * being synchronous), so one per event made every polled change cost a commit. Every read writes
 * what is pending first, so readers never miss an event already published.
 */
class SqliteHistoryStore implements HistoryStore {
  readonly engine = 'sqlite';
  private readonly db: DatabaseSync;
  private readonly now: () => number;
  private readonly logger: Logger | undefined;
  private closed = false;
  private nextSeq = 0;
  private pending: PendingWrite[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private flushSoon: NodeJS.Immediate | undefined;
  private readonly latest = new Map<string, { seq: number; change: string; digest: string }>();
  private readonly stmt: {
    getOp: StatementSync;
    upsert: StatementSync;
    insertTransition: StatementSync;
    lastEvent: StatementSync;
    insertEvent: StatementSync;
    list: StatementSync;
    transitions: StatementSync;
    eventsAfter: StatementSync;
    eventsAfterOf: StatementSync;
    lastEventId: StatementSync;
    lastIssued: StatementSync;
    pruneTransitions: StatementSync;
    pruneOps: StatementSync;
    pruneEvents: StatementSync;
  };

  constructor(path: string, options: HistoryStoreOptions) {
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    try {
      this.db.exec('PRAGMA journal_mode = WAL');
      this.db.exec('PRAGMA synchronous = NORMAL');
      this.db.exec('PRAGMA busy_timeout = 5000');
      this.migrate();
      this.stmt = this.prepare();
      this.nextSeq = Number(this.stmt.lastIssued.get()?.['seq'] ?? 0);
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  private migrate(): void {
    const row = this.db.prepare('PRAGMA user_version').get();
    const version = Number(row?.['user_version'] ?? 0);
    if (version > SQLITE_MIGRATIONS.length) {
      throw new Error(
        `history database schema version ${version} is newer than this gateway supports (${SQLITE_MIGRATIONS.length})`,
      );
    }
    for (let v = version; v < SQLITE_MIGRATIONS.length; v += 1) {
      this.transaction(() => {
        this.db.exec(SQLITE_MIGRATIONS[v]!);
        this.db.exec(`PRAGMA user_version = ${v + 1}`);
      });
    }
  }

  private prepare(): SqliteHistoryStore['stmt'] {
    const db = this.db;
    return {
      getOp: db.prepare('SELECT snapshot FROM operations WHERE id = ?'),
      upsert: db.prepare(`
        INSERT INTO operations (id, source, kind, status, typename, started_at, updated_at, finished_at, sort_at, ended_at, snapshot)
        VALUES (:id, :source, :kind, :status, :typename, :started_at, :updated_at, :finished_at, COALESCE(:started_ms, :now), :ended_at, :snapshot)
        ON CONFLICT (id) DO UPDATE SET
          source = excluded.source, kind = excluded.kind, status = excluded.status, typename = excluded.typename,
          started_at = excluded.started_at, updated_at = excluded.updated_at, finished_at = excluded.finished_at,
          sort_at = COALESCE(:started_ms, operations.sort_at), ended_at = excluded.ended_at, snapshot = excluded.snapshot`),
      insertTransition: db.prepare(`
        INSERT INTO transitions (op_id, at, status, percent, message)
        SELECT :op_id, :at, :status, :percent, :message
        WHERE NOT EXISTS (
          SELECT 1 FROM (SELECT status, percent, message FROM transitions WHERE op_id = :op_id ORDER BY seq DESC LIMIT 1) AS latest
          WHERE latest.status = :status AND latest.percent IS :percent AND latest.message IS :message)`),
      lastEvent: db.prepare('SELECT seq, change, digest FROM events WHERE op_id = ? ORDER BY seq DESC LIMIT 1'),
      insertEvent: db.prepare('INSERT INTO events (seq, op_id, at, change, digest, payload) VALUES (?, ?, ?, ?, ?, ?)'),
      list: db.prepare(`
        SELECT sort_at, id, snapshot FROM operations
        WHERE (:active IS NULL
               OR (:active = 1 AND status NOT IN (${FINAL_SQL_LIST}))
               OR (:active = 0 AND status IN (${FINAL_SQL_LIST})))
          AND (:kinds IS NULL OR kind IN (SELECT value FROM json_each(:kinds)))
          AND (:statuses IS NULL OR status IN (SELECT value FROM json_each(:statuses)))
          AND (:sources IS NULL OR source IN (SELECT value FROM json_each(:sources)))
          AND (:since IS NULL OR sort_at >= :since)
          AND (:after_sort IS NULL OR (sort_at, id) < (:after_sort, :after_id))
        ORDER BY sort_at DESC, id DESC
        LIMIT :limit`),
      transitions: db.prepare(`
        SELECT at, status, percent, message FROM (
          SELECT seq, at, status, percent, message FROM transitions WHERE op_id = ? ORDER BY seq DESC LIMIT ?
        ) ORDER BY seq ASC`),
      eventsAfter: db.prepare('SELECT seq, payload FROM events WHERE seq > ? ORDER BY seq LIMIT ?'),
      eventsAfterOf: db.prepare('SELECT seq, payload FROM events WHERE op_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
      lastEventId: db.prepare('SELECT max(seq) AS seq FROM events'),
      // AUTOINCREMENT keeps the highest seq ever issued here, even once those events are pruned.
      lastIssued: db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'events'`),
      pruneTransitions: db.prepare(`
        DELETE FROM transitions WHERE op_id IN (
          SELECT id FROM operations WHERE status IN (${FINAL_SQL_LIST}) AND ended_at < ?)`),
      pruneOps: db.prepare(`DELETE FROM operations WHERE status IN (${FINAL_SQL_LIST}) AND ended_at < ?`),
      pruneEvents: db.prepare('DELETE FROM events WHERE at < ?'),
    };
  }

  async record(input: RecordInput): Promise<RecordResult> {
    if (this.closed) return closedStoreResult();
    const { event, transition, digest } = input;
    const now = Math.floor(this.now());
    const row = operationRow(event.operation, now);
    const latest = this.latestEventOf(row.id);
    if (latest && latest.change === event.change && latest.digest === digest) {
      this.pending.push({ row, now, transition, event: null });
      this.scheduleFlush(false);
      return { eventId: String(latest.seq), duplicate: true };
    }
    const seq = ++this.nextSeq;
    this.remember(row.id, { seq, change: event.change, digest });
    this.pending.push({ row, now, transition, event: { seq, change: event.change, digest, payload: eventPayload(input) } });
    this.scheduleFlush(isFinal(event.operation.status));
    return { eventId: String(seq), duplicate: false };
  }

  private latestEventOf(id: string): { seq: number; change: string; digest: string } | undefined {
    const known = this.latest.get(id);
    if (known) return known;
    // Nothing is pending for an operation the cache does not hold: the file has its latest event.
    const row = this.stmt.lastEvent.get(id);
    if (!row) return undefined;
    const latest = { seq: Number(row['seq']), change: text(row['change']), digest: text(row['digest']) };
    this.remember(id, latest);
    return latest;
  }

  private remember(id: string, latest: { seq: number; change: string; digest: string }): void {
    this.latest.delete(id);
    this.latest.set(id, latest);
    if (this.latest.size > LATEST_CACHE) this.latest.delete(this.latest.keys().next().value!);
  }

  private scheduleFlush(final: boolean): void {
    if (final) {
      this.flushSoon ??= setImmediate(() => this.flushQuietly());
      return;
    }
    if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flushQuietly(), WRITE_BEHIND_MS);
      this.flushTimer.unref();
    }
  }

  /** From a timer: a failure is reported, not thrown (the events were published already). */
  private flushQuietly(): void {
    try {
      this.flush();
    } catch (error) {
      if (this.logger) this.logger.error({ err: error }, 'history could not write recorded events');
      else throw error;
    }
  }

  /** Writes every pending row in one transaction. */
  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.flushSoon) clearImmediate(this.flushSoon);
    this.flushTimer = undefined;
    this.flushSoon = undefined;
    if (this.pending.length === 0 || this.closed) return;
    const writes = this.pending;
    this.pending = [];
    this.transaction(() => {
      for (const { row, now, transition, event } of writes) {
        this.stmt.upsert.run({
          id: row.id,
          source: row.source,
          kind: row.kind,
          status: row.status,
          typename: row.typename,
          started_at: row.startedAt,
          updated_at: row.updatedAt,
          finished_at: row.finishedAt,
          started_ms: row.startedMs,
          now,
          ended_at: row.endedAt,
          snapshot: row.snapshot,
        });
        if (transition) {
          this.stmt.insertTransition.run({
            op_id: row.id,
            at: plainText(transition.at),
            status: transition.status,
            percent: transition.percent,
            message: plainText(transition.message),
          });
        }
        if (event) this.stmt.insertEvent.run(event.seq, row.id, now, event.change, event.digest, event.payload);
      }
    });
  }

  async get(id: string): Promise<OperationSnapshot | undefined> {
    this.openForReading();
    const row = this.stmt.getOp.get(id);
    return row ? (JSON.parse(text(row['snapshot'])) as OperationSnapshot) : undefined;
  }

  async list(filter: OperationFilter | null | undefined, page: { first: number; after?: string | null }): Promise<HistoryPage> {
    this.openForReading();
    const { first, after, since } = listQuery(filter, page);
    const jsonList = (values: readonly string[] | null | undefined) => {
      const list = filterList(values);
      return list ? JSON.stringify(list) : null;
    };
    const params: Record<string, SQLInputValue> = {
      active: filter?.active == null ? null : filter.active ? 1 : 0,
      kinds: jsonList(filter?.kinds),
      statuses: jsonList(filter?.statuses),
      sources: jsonList(filter?.sources),
      since,
      after_sort: after ? after.sortAt : null,
      after_id: after ? after.id : null,
      limit: first + 1,
    };
    const rows = this.stmt.list.all(params).map((row) => ({
      sortAt: Number(row['sort_at']),
      id: text(row['id']),
      snapshot: text(row['snapshot']),
    }));
    return toPage(rows, first);
  }

  async transitions(id: string, last?: number): Promise<OperationTransition[]> {
    this.openForReading();
    const rows = this.stmt.transitions.all(id, transitionLimit(last) ?? -1);
    return rows.map((row) => toTransition({ at: row['at'], status: row['status'], percent: row['percent'], message: row['message'] }));
  }

  async eventsAfter(eventId: string, options: { operationId?: string; limit?: number } = {}): Promise<LoggedEvent[]> {
    this.openForReading();
    const seq = parseEventId(eventId);
    checkIssued(seq, BigInt(Number(this.stmt.lastIssued.get()?.['seq'] ?? 0)));
    const limit = replayLimit(options.limit);
    const rows =
      options.operationId === undefined
        ? this.stmt.eventsAfter.all(seq, limit)
        : this.stmt.eventsAfterOf.all(options.operationId, seq, limit);
    return rows.map((row) => loggedEvent(text(row['seq']), text(row['payload'])));
  }

  async lastEventId(): Promise<string | null> {
    this.openForReading();
    const seq = this.stmt.lastEventId.get()?.['seq'];
    return seq === null || seq === undefined ? null : text(seq);
  }

  async prune(retention: { days: number; eventHours: number }, now: number = this.now()): Promise<number> {
    this.openForReading();
    const cutoff = now - retention.days * 86_400_000;
    const eventCutoff = now - retention.eventHours * 3_600_000;
    return this.transaction(() => {
      this.stmt.pruneTransitions.run(cutoff);
      const deleted = Number(this.stmt.pruneOps.run(cutoff).changes);
      this.stmt.pruneEvents.run(eventCutoff);
      return deleted;
    });
  }

  async ping(): Promise<void> {
    this.openForReading();
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      this.flush();
    } finally {
      this.closed = true;
      this.db.close();
    }
  }

  /** Every read starts here: what is recorded but pending is written first. */
  private openForReading(): void {
    if (this.closed) throw storeClosed();
    this.flush();
  }

  private transaction<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }
}
