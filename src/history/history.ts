/**
 * What the gateway keeps about operations, whichever engine holds it: the embedded SQLite file
 * (one instance, the default) or PostgreSQL (several instances share it). Both implement this
 * contract and pass the same tests (test/history-store.test.ts).
 *
 * - The latest state of every operation ever observed, queryable after the vendor forgets it.
 * - Its transitions (status or percent changed), append-only; a row identical to the operation's
 *   latest one is not appended again.
 * - The event log: every OperationEvent, numbered in the order recorded. Its ids let a client that
 *   reconnects be given what it missed (eventsAfter). Kept for `eventRetentionHours`.
 * - Writes are idempotent across instances: an event whose change and digest equal the latest
 *   logged event of the same operation is a duplicate (another instance saw the same change) and
 *   is neither logged nor to be published again.
 */
import type { OperationEvent, OperationFilter, OperationSnapshot, OperationTransition } from '../model/operation.js';

export interface HistoryPage {
  items: OperationSnapshot[];
  hasNextPage: boolean;
  endCursor: string | null;
  /** One cursor per item. */
  cursors: string[];
}

/** One logged event, with its id. */
export interface LoggedEvent extends OperationEvent {
  eventId: string;
}

export interface RecordInput {
  event: OperationEvent;
  /** Appended when not identical to the operation's latest transition. */
  transition: OperationTransition | null;
  /** What the vendor reported, structurally (equal digests = the same change). */
  digest: string;
}

export interface RecordResult {
  eventId: string;
  /** The same change was already logged (by another instance, or before a restart): do not publish it. */
  duplicate: boolean;
}

export interface HistoryStore {
  /** Which engine, for /ready and logs: "sqlite" or "postgres". */
  readonly engine: string;
  record(input: RecordInput): Promise<RecordResult>;
  get(id: string): Promise<OperationSnapshot | undefined>;
  list(filter: OperationFilter | null | undefined, page: { first: number; after?: string | null }): Promise<HistoryPage>;
  /** Chronological, the last N (all when `last` is absent). */
  transitions(id: string, last?: number): Promise<OperationTransition[]>;
  /**
   * Logged events after `eventId`, oldest first, at most `limit` (default 1000), optionally of one
   * operation. An id that is not one of this store's → BAD_USER_INPUT (argument "after").
   */
  eventsAfter(eventId: string, options?: { operationId?: string; limit?: number }): Promise<LoggedEvent[]>;
  /** The newest event id, or null when the log is empty. */
  lastEventId(): Promise<string | null>;
  /**
   * Deletes finished operations (and their transitions) that ended before now − retentionDays, and
   * events older than now − eventRetentionHours; returns how many operations were deleted.
   */
  prune(retention: { days: number; eventHours: number }, now?: number): Promise<number>;
  /** Resolves when the engine answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const MAX_PAGE_SIZE = 500;
export const MAX_REPLAY = 1000;
