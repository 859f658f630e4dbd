/**
 * The unified operation model every upstream maps into. Plain data (JSON-serialisable) so that the
 * tracker can compare snapshots structurally, the history store can persist them as they are, and
 * the pubsub can carry them between gateway instances.
 */

/** TRANSFER: a portal or data move that is neither a backup nor a restore (DocSpace's Transfer). */
export const OPERATION_KINDS = ['BACKUP', 'RESTORE', 'TRANSFER'] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

export const OPERATION_STATUSES = [
  'PENDING',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
  'PARTIAL',
  'TIMED_OUT',
  'UNKNOWN',
] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

/** Statuses after which an operation never changes again. */
export const FINAL_STATUSES: ReadonlySet<OperationStatus> = new Set([
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
  'PARTIAL',
  'TIMED_OUT',
]);

export function isFinal(status: OperationStatus): boolean {
  return FINAL_STATUSES.has(status);
}

export interface Progress {
  /** 0..100, null when unknowable. */
  percent: number | null;
  done: number | null;
  total: number | null;
  unit: string | null;
  ratePerSecond: number | null;
  /** ISO 8601. */
  estimatedEndAt: string | null;
  /** True when rate/ETA were computed by the gateway from successive samples. */
  estimated: boolean;
}

export const EMPTY_PROGRESS: Progress = {
  percent: null,
  done: null,
  total: null,
  unit: null,
  ratePerSecond: null,
  estimatedEndAt: null,
  estimated: false,
};

/**
 * One observed state of an operation.
 *
 * `id` is the Relay global ID (opaque, encodes typename, source and native key) and is the key in
 * the tracker, the history store and the pubsub topics. `typename` is the GraphQL object type that
 * represents it (`NodeRestore`, `AerospikeBackupRun`, …) and `detail` the vendor-specific payload
 * that type's resolvers read; both are kept so that a historical operation resolves like a live one.
 */
export interface OperationSnapshot {
  id: string;
  typename: string;
  source: string;
  kind: OperationKind;
  status: OperationStatus;
  vendorStatus: string | null;
  progress: Progress;
  message: string | null;
  /** ISO 8601 timestamps. */
  startedAt: string | null;
  updatedAt: string | null;
  finishedAt: string | null;
  detail: unknown;
}

export interface OperationTransition {
  at: string;
  status: OperationStatus;
  percent: number | null;
  message: string | null;
}

export const OPERATION_CHANGES = ['STARTED', 'PROGRESSED', 'FINISHED'] as const;
export type OperationChange = (typeof OPERATION_CHANGES)[number];

export interface OperationEvent {
  change: OperationChange;
  operation: OperationSnapshot;
  /**
   * Its place in the history's event log (set once recorded): a client that reconnects with the
   * last one it saw is given what it missed. Opaque, increasing.
   */
  eventId?: string;
  /** The gateway instance that observed it (several instances share one event bus). */
  origin?: string;
}

export interface OperationFilter {
  active?: boolean | null;
  kinds?: readonly OperationKind[] | null;
  statuses?: readonly OperationStatus[] | null;
  sources?: readonly string[] | null;
  since?: string | null;
}

export function matchesFilter(op: OperationSnapshot, filter: OperationFilter | null | undefined): boolean {
  if (!filter) return true;
  if (filter.active != null && filter.active === isFinal(op.status)) return false;
  if (filter.kinds?.length && !filter.kinds.includes(op.kind)) return false;
  if (filter.statuses?.length && !filter.statuses.includes(op.status)) return false;
  if (filter.sources?.length && !filter.sources.includes(op.source)) return false;
  if (filter.since) {
    const at = op.startedAt ?? op.updatedAt;
    if (at && Date.parse(at) < Date.parse(filter.since)) return false;
  }
  return true;
}
