/**
 * Embedded history of observed operations and their transitions (node:sqlite, WAL). A finished
 * operation stays queryable after the vendor forgets it, across restarts (docs/ARCHITECTURE.md, "History").
 *
 * - `operations`: one row per id, the latest snapshot (JSON) plus the columns lists filter and sort
 *   on; `sort_at` = startedAt, else the time the operation was first recorded (epoch ms), never
 *   moved later once set unless a startedAt becomes known.
 * - `transitions`: append-only (status, percent, message) changes per operation; a row identical to
 *   the operation's latest one is not appended again (e.g. the same finished backup re-observed
 *   after a gateway restart).
 * - Lists are newest first (sort_at desc, id desc) with opaque keyset cursors.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { badInput } from '../errors.js';
import {
  FINAL_STATUSES,
  isFinal,
  type OperationFilter,
  type OperationSnapshot,
  type OperationStatus,
  type OperationTransition,
} from '../model/operation.js';
import type { HistorySink } from '../live/tracker.js';

export interface HistoryPage {
  items: OperationSnapshot[];
  hasNextPage: boolean;
  endCursor: string | null;
  /** One cursor per item. */
  cursors: string[];
}

export interface HistoryStore extends HistorySink {
  get(id: string): OperationSnapshot | undefined;
  list(filter: OperationFilter | null | undefined, page: { first: number; after?: string | null }): HistoryPage;
  /** Chronological, the last N (all when `last` is absent). */
  transitions(id: string, last?: number): OperationTransition[];
  /** Deletes finished operations (and their transitions) that ended before now − retention; returns how many. */
  prune(retentionDays: number, now?: number): number;
  close(): void;
}

export interface HistoryStoreOptions {
  /** Clock for first-seen times (default Date.now). */
  now?: () => number;
}

export const MAX_PAGE_SIZE = 500;

/** Schema versions, applied in order; PRAGMA user_version holds how many have been applied. */
const MIGRATIONS: readonly string[] = [
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
];

const FINAL_LIST = [...FINAL_STATUSES].map((status) => `'${status.replace(/'/g, "''")}'`).join(', ');

function parseMs(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}

function encodeCursor(sortAt: number, id: string): string {
  return Buffer.from(JSON.stringify([sortAt, id]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { sortAt: number; id: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'number' &&
      Number.isFinite(value[0]) &&
      typeof value[1] === 'string'
    ) {
      return { sortAt: value[0], id: value[1] };
    }
  } catch {
    // fall through
  }
  throw badInput('Invalid cursor', { argument: 'after' });
}

function listParam(values: readonly string[] | null | undefined): string | null {
  return values && values.length > 0 ? JSON.stringify(values) : null;
}

class SqliteHistoryStore implements HistoryStore {
  private readonly db: DatabaseSync;
  private readonly now: () => number;
  private closed = false;
  private readonly stmt: {
    getOp: StatementSync;
    getSortAt: StatementSync;
    upsert: StatementSync;
    lastTransition: StatementSync;
    insertTransition: StatementSync;
    list: StatementSync;
    transitions: StatementSync;
    pruneTransitions: StatementSync;
    pruneOps: StatementSync;
  };

  constructor(path: string, options: HistoryStoreOptions) {
    this.now = options.now ?? Date.now;
    if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    try {
      this.db.exec('PRAGMA journal_mode = WAL');
      this.db.exec('PRAGMA synchronous = NORMAL');
      this.db.exec('PRAGMA busy_timeout = 5000');
      this.migrate();
      this.stmt = this.prepare();
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  private migrate(): void {
    const row = this.db.prepare('PRAGMA user_version').get();
    const version = Number(row?.['user_version'] ?? 0);
    if (version > MIGRATIONS.length) {
      throw new Error(
        `history database schema version ${version} is newer than this gateway supports (${MIGRATIONS.length})`,
      );
    }
    for (let v = version; v < MIGRATIONS.length; v += 1) {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        this.db.exec(MIGRATIONS[v]!);
        this.db.exec(`PRAGMA user_version = ${v + 1}`);
        this.db.exec('COMMIT');
      } catch (error) {
        this.db.exec('ROLLBACK');
        throw error;
      }
    }
  }

  private prepare(): SqliteHistoryStore['stmt'] {
    const db = this.db;
    return {
      getOp: db.prepare('SELECT snapshot FROM operations WHERE id = ?'),
      getSortAt: db.prepare('SELECT sort_at FROM operations WHERE id = ?'),
      upsert: db.prepare(`
        INSERT INTO operations (id, source, kind, status, typename, started_at, updated_at, finished_at, sort_at, ended_at, snapshot)
        VALUES (:id, :source, :kind, :status, :typename, :started_at, :updated_at, :finished_at, :sort_at, :ended_at, :snapshot)
        ON CONFLICT (id) DO UPDATE SET
          source = excluded.source, kind = excluded.kind, status = excluded.status, typename = excluded.typename,
          started_at = excluded.started_at, updated_at = excluded.updated_at, finished_at = excluded.finished_at,
          sort_at = excluded.sort_at, ended_at = excluded.ended_at, snapshot = excluded.snapshot`),
      lastTransition: db.prepare(
        'SELECT status, percent, message FROM transitions WHERE op_id = ? ORDER BY seq DESC LIMIT 1',
      ),
      insertTransition: db.prepare(
        'INSERT INTO transitions (op_id, at, status, percent, message) VALUES (?, ?, ?, ?, ?)',
      ),
      list: db.prepare(`
        SELECT sort_at, id, snapshot FROM operations
        WHERE (:active IS NULL
               OR (:active = 1 AND status NOT IN (${FINAL_LIST}))
               OR (:active = 0 AND status IN (${FINAL_LIST})))
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
      pruneTransitions: db.prepare(`
        DELETE FROM transitions WHERE op_id IN (
          SELECT id FROM operations WHERE status IN (${FINAL_LIST}) AND ended_at < ?)`),
      pruneOps: db.prepare(`DELETE FROM operations WHERE status IN (${FINAL_LIST}) AND ended_at < ?`),
    };
  }

  record(snapshot: OperationSnapshot, transition: OperationTransition | null): void {
    if (this.closed) return;
    const now = this.now();
    this.transaction(() => {
      const existing = this.stmt.getSortAt.get(snapshot.id);
      const started = parseMs(snapshot.startedAt);
      const sortAt = started ?? (existing ? Number(existing['sort_at']) : now);
      const final = isFinal(snapshot.status);
      const endedAt = final ? (parseMs(snapshot.finishedAt) ?? parseMs(snapshot.updatedAt) ?? now) : null;
      this.stmt.upsert.run({
        id: snapshot.id,
        source: snapshot.source,
        kind: snapshot.kind,
        status: snapshot.status,
        typename: snapshot.typename,
        started_at: snapshot.startedAt,
        updated_at: snapshot.updatedAt,
        finished_at: snapshot.finishedAt,
        sort_at: sortAt,
        ended_at: endedAt,
        snapshot: JSON.stringify(snapshot),
      });
      if (transition) {
        const last = this.stmt.lastTransition.get(snapshot.id);
        const same =
          last !== undefined &&
          last['status'] === transition.status &&
          (last['percent'] ?? null) === transition.percent &&
          (last['message'] ?? null) === transition.message;
        if (!same) {
          this.stmt.insertTransition.run(
            snapshot.id,
            transition.at,
            transition.status,
            transition.percent,
            transition.message,
          );
        }
      }
    });
  }

  get(id: string): OperationSnapshot | undefined {
    const row = this.stmt.getOp.get(id);
    return row ? (JSON.parse(String(row['snapshot'])) as OperationSnapshot) : undefined;
  }

  list(
    filter: OperationFilter | null | undefined,
    page: { first: number; after?: string | null },
  ): HistoryPage {
    const first = Math.max(0, Math.min(MAX_PAGE_SIZE, Math.floor(Number.isFinite(page.first) ? page.first : 0)));
    const after = page.after ? decodeCursor(page.after) : null;
    let since: number | null = null;
    if (filter?.since) {
      since = parseMs(filter.since);
      if (since === null) throw badInput('Invalid date in filter.since', { argument: 'filter.since' });
    }
    const params: Record<string, SQLInputValue> = {
      active: filter?.active == null ? null : filter.active ? 1 : 0,
      kinds: listParam(filter?.kinds),
      statuses: listParam(filter?.statuses),
      sources: listParam(filter?.sources),
      since,
      after_sort: after ? after.sortAt : null,
      after_id: after ? after.id : null,
      limit: first + 1,
    };
    const rows = this.stmt.list.all(params);
    const hasNextPage = rows.length > first;
    const pageRows = hasNextPage ? rows.slice(0, first) : rows;
    const items: OperationSnapshot[] = [];
    const cursors: string[] = [];
    for (const row of pageRows) {
      items.push(JSON.parse(String(row['snapshot'])) as OperationSnapshot);
      cursors.push(encodeCursor(Number(row['sort_at']), String(row['id'])));
    }
    return { items, hasNextPage, endCursor: cursors[cursors.length - 1] ?? null, cursors };
  }

  transitions(id: string, last?: number): OperationTransition[] {
    const limit = last === undefined || last === null ? -1 : Math.max(0, Math.floor(last));
    return this.stmt.transitions.all(id, limit).map((row) => ({
      at: String(row['at']),
      status: String(row['status']) as OperationStatus,
      percent: row['percent'] === null || row['percent'] === undefined ? null : Number(row['percent']),
      message: row['message'] === null || row['message'] === undefined ? null : String(row['message']),
    }));
  }

  prune(retentionDays: number, now: number = this.now()): number {
    const cutoff = now - retentionDays * 86_400_000;
    let deleted = 0;
    this.transaction(() => {
      this.stmt.pruneTransitions.run(cutoff);
      deleted = Number(this.stmt.pruneOps.run(cutoff).changes);
    });
    return deleted;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private transaction(fn: () => void): void {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      fn();
      this.db.exec('COMMIT');
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }
}

/** Opens (creating it and its parent directories if needed) the history database; ':memory:' for tests. */
export function openHistoryStore(path: string, options: HistoryStoreOptions = {}): HistoryStore {
  return new SqliteHistoryStore(path, options);
}
