/**
 * The history on PostgreSQL, shared by several gateway instances. Same tables, ordering, cursors,
 * filters, dedupe and pruning as the SQLite engine (store.ts); only what sharing needs differs:
 *
 * - Migrations run at start in one transaction under an advisory lock on the schema name, so that
 *   instances starting together apply each one once; versions are rows of
 *   `backupgraph_migrations`, and a database newer than this code is refused.
 * - `record` is one transaction. The operation upsert locks the operation's row until commit, so
 *   two instances recording the same change take turns, and the second sees the first's event
 *   (READ COMMITTED: each statement sees what committed before it) and reports a duplicate.
 * - Event seqs are taken under a transaction-scoped lock per schema, so they commit in seq order:
 *   a client that has seen event N can never later miss an event below N committed after it.
 * - Ids compare bytewise (COLLATE "C"), as SQLite's BINARY does, so lists order alike.
 * - The URL (and its password) never appears in an error or a log line.
 */
import pg from 'pg';
import type { OperationFilter, OperationSnapshot, OperationTransition } from '../model/operation.js';
import type { HistoryPage, HistoryStore, LoggedEvent, RecordInput, RecordResult } from './history.js';
import {
  FINAL_SQL_LIST,
  checkIssued,
  closedStoreResult,
  eventPayload,
  filterList,
  listQuery,
  loggedEvent,
  operationRow,
  parseEventId,
  plainText,
  replayLimit,
  storeClosed,
  toPage,
  toTransition,
  transitionLimit,
  type HistoryStoreOptions,
} from './store.js';

/** Schema versions, applied in order; version N is recorded once migration N has been applied. */
const PG_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE operations (
    id          text COLLATE "C" PRIMARY KEY,
    source      text NOT NULL,
    kind        text NOT NULL,
    status      text NOT NULL,
    typename    text NOT NULL,
    started_at  text,
    updated_at  text,
    finished_at text,
    sort_at     bigint NOT NULL,
    ended_at    bigint,
    snapshot    text NOT NULL
  );
  CREATE INDEX operations_by_sort ON operations (sort_at DESC, id DESC);
  CREATE INDEX operations_by_status ON operations (status, ended_at);
  CREATE TABLE transitions (
    seq     bigserial PRIMARY KEY,
    op_id   text COLLATE "C" NOT NULL,
    at      text NOT NULL,
    status  text NOT NULL,
    percent double precision,
    message text
  );
  CREATE INDEX transitions_by_op ON transitions (op_id, seq);
  `,
  `
  CREATE TABLE events (
    seq     bigserial PRIMARY KEY,
    op_id   text COLLATE "C" NOT NULL,
    at      bigint NOT NULL,
    change  text NOT NULL,
    digest  text NOT NULL,
    payload text NOT NULL
  );
  CREATE INDEX events_by_op ON events (op_id, seq);
  CREATE INDEX events_by_at ON events (at);
  `,
];

const POOL_SIZE = 5;

/** A double-quoted SQL identifier (any name, safely). */
function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Keys of the transaction-scoped advisory locks, per schema (hashtext of these texts). */
const migrationLockKey = (schema: string) => `backupgraph:migrate:${schema}`;
export const eventLockKey = (schema: string) => `backupgraph:events:${schema}`;

/** The message of an error with the URL, and its password in any spelling, blanked out. */
function redact(message: string, url: string): string {
  const secrets = new Set<string>([url]);
  try {
    const password = new URL(url).password;
    if (password) {
      secrets.add(password);
      secrets.add(decodeURIComponent(password));
    }
  } catch {
    // not a WHATWG URL: the whole URL is still blanked out
  }
  let text = message;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret) text = text.replaceAll(secret, '[redacted]');
  }
  return text;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export async function openPostgresHistoryStore(
  target: { url: string; schema?: string },
  options: HistoryStoreOptions,
): Promise<HistoryStore> {
  const schema = target.schema ?? 'public';
  // PostgreSQL silently truncates longer identifiers: two long names could then share one schema.
  if (schema.length === 0 || Buffer.byteLength(schema) > 63 || schema.includes('\u0000')) {
    throw new Error('the PostgreSQL history schema must be a name of 1 to 63 bytes');
  }
  let pool: pg.Pool | undefined;
  try {
    pool = new pg.Pool({
      connectionString: target.url,
      max: POOL_SIZE,
      connectionTimeoutMillis: 10_000,
      application_name: 'backupgraph',
      // Every connection resolves table names in the schema, set before the pool hands it out (a
      // query queued beside the caller's first one is deprecated in pg). Not the `options`
      // parameter: one in the URL would override it.
      onConnect: (async (client: pg.ClientBase) => {
        await client.query(`SET search_path TO ${quoteIdentifier(schema)}`);
      }) as unknown as (client: pg.ClientBase) => void,
    });
    // An idle pooled connection that drops is replaced on next use; unhandled it would crash the process.
    pool.on('error', (error) => options.logger?.warn({ err: { message: redact(messageOf(error), target.url) } }, 'history database connection lost'));
    await migrate(pool, schema);
    return new PostgresHistoryStore(pool, schema, options);
  } catch (error) {
    await pool?.end().catch(() => undefined);
    // Not the original error: pg and URL parse errors may carry the URL (and its password) in properties.
    throw new Error(`cannot open the PostgreSQL history: ${redact(messageOf(error), target.url)}`);
  }
}

async function migrate(pool: pg.Pool, schema: string): Promise<void> {
  await withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [migrationLockKey(schema)]);
    // CREATE SCHEMA IF NOT EXISTS would still need the CREATE privilege on the database.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${quoteIdentifier(schema)}`);
    // Explicit for this transaction: the connection's search_path was set before the schema existed.
    await client.query(`SET LOCAL search_path TO ${quoteIdentifier(schema)}`);
    await client.query(`
      CREATE TABLE IF NOT EXISTS backupgraph_migrations (
        version    integer PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const result = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM backupgraph_migrations');
    const version = result.rows[0]?.version ?? 0;
    if (version > PG_MIGRATIONS.length) {
      throw new Error(`history database schema version ${version} is newer than this gateway supports (${PG_MIGRATIONS.length})`);
    }
    for (let v = version; v < PG_MIGRATIONS.length; v += 1) {
      await client.query(PG_MIGRATIONS[v]!);
      await client.query('INSERT INTO backupgraph_migrations (version) VALUES ($1)', [v + 1]);
    }
  });
}

async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    client.release();
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
      client.release();
    } catch (rollbackError) {
      // The connection is unusable: the pool drops it rather than lending it again.
      client.release(rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError)));
    }
    throw error;
  }
}

class PostgresHistoryStore implements HistoryStore {
  readonly engine = 'postgres';
  private readonly pool: pg.Pool;
  private readonly schema: string;
  private readonly now: () => number;
  private closing: Promise<void> | undefined;
  /** Calls not settled yet: close() waits for them. */
  private readonly underWay = new Set<Promise<unknown>>();

  constructor(pool: pg.Pool, schema: string, options: HistoryStoreOptions) {
    this.pool = pool;
    this.schema = schema;
    this.now = options.now ?? Date.now;
  }

  async record(input: RecordInput): Promise<RecordResult> {
    if (this.closing) return closedStoreResult();
    const { event, transition, digest } = input;
    const now = Math.floor(this.now());
    const row = operationRow(event.operation, now);
    const payload = eventPayload(input);
    return this.run(() => withTransaction(this.pool, async (client) => {
      await client.query(
        `INSERT INTO operations (id, source, kind, status, typename, started_at, updated_at, finished_at, sort_at, ended_at, snapshot)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, COALESCE($9::bigint, $10::bigint), $11, $12)
         ON CONFLICT (id) DO UPDATE SET
           source = excluded.source, kind = excluded.kind, status = excluded.status, typename = excluded.typename,
           started_at = excluded.started_at, updated_at = excluded.updated_at, finished_at = excluded.finished_at,
           sort_at = COALESCE($9::bigint, operations.sort_at), ended_at = excluded.ended_at, snapshot = excluded.snapshot`,
        [row.id, row.source, row.kind, row.status, row.typename, row.startedAt, row.updatedAt, row.finishedAt, row.startedMs, now, row.endedAt, row.snapshot],
      );
      if (transition) {
        await client.query(
          `INSERT INTO transitions (op_id, at, status, percent, message)
           SELECT $1, $2, $3, $4, $5
           WHERE NOT EXISTS (
             SELECT 1 FROM (SELECT status, percent, message FROM transitions WHERE op_id = $1 ORDER BY seq DESC LIMIT 1) AS latest
             WHERE latest.status = $3 AND latest.percent IS NOT DISTINCT FROM $4::double precision
               AND latest.message IS NOT DISTINCT FROM $5::text)`,
          [row.id, plainText(transition.at), transition.status, transition.percent, plainText(transition.message)],
        );
      }
      const latest = await client.query<{ seq: string; change: string; digest: string }>(
        'SELECT seq, change, digest FROM events WHERE op_id = $1 ORDER BY seq DESC LIMIT 1',
        [row.id],
      );
      const last = latest.rows[0];
      if (last && last.change === event.change && last.digest === digest) return { eventId: last.seq, duplicate: true };
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [eventLockKey(this.schema)]);
      const inserted = await client.query<{ seq: string }>(
        'INSERT INTO events (op_id, at, change, digest, payload) VALUES ($1, $2, $3, $4, $5) RETURNING seq',
        [row.id, now, event.change, digest, payload],
      );
      return { eventId: inserted.rows[0]!.seq, duplicate: false };
    }));
  }

  get(id: string): Promise<OperationSnapshot | undefined> {
    return this.run(async () => {
      if (id.includes('\u0000')) return undefined; // not storable in PostgreSQL text, so never stored
      const result = await this.pool.query<{ snapshot: string }>('SELECT snapshot FROM operations WHERE id = $1', [id]);
      const row = result.rows[0];
      return row ? (JSON.parse(row.snapshot) as OperationSnapshot) : undefined;
    });
  }

  list(filter: OperationFilter | null | undefined, page: { first: number; after?: string | null }): Promise<HistoryPage> {
    return this.run(async () => {
      const { first, after, since } = listQuery(filter, page);
      const result = await this.pool.query<{ sort_at: string; id: string; snapshot: string }>(
        `SELECT sort_at, id, snapshot FROM operations
         WHERE ($1::boolean IS NULL
                OR ($1 AND status NOT IN (${FINAL_SQL_LIST}))
                OR (NOT $1 AND status IN (${FINAL_SQL_LIST})))
           AND ($2::text[] IS NULL OR kind = ANY ($2::text[]))
           AND ($3::text[] IS NULL OR status = ANY ($3::text[]))
           AND ($4::text[] IS NULL OR source = ANY ($4::text[]))
           AND ($5::bigint IS NULL OR sort_at >= $5::bigint)
           AND ($6::bigint IS NULL OR (sort_at, id) < ($6::bigint, $7::text))
         ORDER BY sort_at DESC, id DESC
         LIMIT $8`,
        [
          filter?.active ?? null,
          filterList(filter?.kinds),
          filterList(filter?.statuses),
          filterList(filter?.sources)?.map((source) => plainText(source)) ?? null,
          since,
          after ? after.sortAt : null,
          after ? plainText(after.id) : null,
          first + 1,
        ],
      );
      return toPage(
        result.rows.map((row) => ({ sortAt: Number(row.sort_at), id: row.id, snapshot: row.snapshot })),
        first,
      );
    });
  }

  transitions(id: string, last?: number): Promise<OperationTransition[]> {
    return this.run(async () => {
      if (id.includes('\u0000')) return [];
      const result = await this.pool.query<{ at: string; status: string; percent: number | null; message: string | null }>(
        `SELECT at, status, percent, message FROM (
           SELECT seq, at, status, percent, message FROM transitions WHERE op_id = $1 ORDER BY seq DESC LIMIT $2
         ) AS latest ORDER BY seq ASC`,
        [id, transitionLimit(last)],
      );
      return result.rows.map(toTransition);
    });
  }

  eventsAfter(eventId: string, options: { operationId?: string; limit?: number } = {}): Promise<LoggedEvent[]> {
    return this.run(async () => {
      const seq = parseEventId(eventId);
      // The sequence, not max(seq): ids of pruned events stay valid.
      const issued = await this.pool.query<{ seq: string | null }>(
        `SELECT pg_sequence_last_value(pg_get_serial_sequence('events', 'seq')::regclass) AS seq`,
      );
      checkIssued(seq, BigInt(issued.rows[0]?.seq ?? 0));
      if (options.operationId?.includes('\u0000')) return [];
      const result = await this.pool.query<{ seq: string; payload: string }>(
        `SELECT seq, payload FROM events WHERE seq > $1 AND ($2::text IS NULL OR op_id = $2::text) ORDER BY seq LIMIT $3`,
        [seq.toString(), options.operationId ?? null, replayLimit(options.limit)],
      );
      return result.rows.map((row) => loggedEvent(row.seq, row.payload));
    });
  }

  lastEventId(): Promise<string | null> {
    return this.run(async () => {
      const result = await this.pool.query<{ seq: string | null }>('SELECT max(seq) AS seq FROM events');
      return result.rows[0]?.seq ?? null;
    });
  }

  prune(retention: { days: number; eventHours: number }, now: number = this.now()): Promise<number> {
    return this.run(async () => {
      // Whole ms for the bigint columns; for an integer x, x < c exactly when x < ceil(c).
      const cutoff = Math.ceil(now - retention.days * 86_400_000);
      const eventCutoff = Math.ceil(now - retention.eventHours * 3_600_000);
      return withTransaction(this.pool, async (client) => {
        await client.query(
          `DELETE FROM transitions WHERE op_id IN (
             SELECT id FROM operations WHERE status IN (${FINAL_SQL_LIST}) AND ended_at < $1)`,
          [cutoff],
        );
        const deleted = await client.query(`DELETE FROM operations WHERE status IN (${FINAL_SQL_LIST}) AND ended_at < $1`, [cutoff]);
        await client.query('DELETE FROM events WHERE at < $1', [eventCutoff]);
        return deleted.rowCount ?? 0;
      });
    });
  }

  ping(): Promise<void> {
    return this.run(async () => {
      await this.pool.query('SELECT 1');
    });
  }

  /** Lets the calls under way finish (pg-pool would strand one still waiting for a connection), then disconnects. */
  close(): Promise<void> {
    this.closing ??= Promise.allSettled([...this.underWay]).then(() => this.pool.end());
    return this.closing;
  }

  private run<T>(work: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(storeClosed());
    const call = work();
    this.underWay.add(call);
    const forget = () => this.underWay.delete(call);
    call.then(forget, forget);
    return call;
  }
}
