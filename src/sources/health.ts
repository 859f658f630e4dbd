import { isGatewayError } from '../errors.js';

export type HealthStatus = 'UP' | 'DEGRADED' | 'DOWN';

export interface HealthSnapshot {
  status: HealthStatus;
  /** ISO 8601 */
  lastSuccessAt: string | null;
  /** Safe message of the last failure (GatewayError messages are written to be shown). */
  lastError: string | null;
  lastErrorAt: string | null;
  latencyMs: number | null;
  /** Whether the source has been contacted at all yet. */
  checked: boolean;
  /** Upstream items that could not be read since start (each left out of its listing). */
  malformedItems: number;
}

/** Consecutive failures after which a source is DOWN rather than DEGRADED. */
const DOWN_AFTER = 3;

/** Health of one configured source, fed by every upstream call it makes. */
export class HealthTracker {
  private consecutiveFailures = 0;
  private lastSuccess: number | null = null;
  private lastFailure: { at: number; message: string } | null = null;
  private latency: number | null = null;
  /** Scopes whose latest listing had unreadable items → the message; such a source is DEGRADED. */
  private readonly brokenScopes = new Map<string, string>();
  private malformed = 0;
  /** Upstream calls by "METHOD /route" and outcome (ok or an error code): count and total ms, for /metrics. */
  readonly calls = new Map<string, { endpoint: string; outcome: string; count: number; totalMs: number }>();

  /** The upstream answered; `outcome` names an answer that refused the request (e.g. NOT_FOUND). */
  success(latencyMs: number, endpoint?: string, outcome = 'ok'): void {
    this.count(endpoint, outcome, latencyMs);
    this.consecutiveFailures = 0;
    this.lastSuccess = Date.now();
    // Smoothed so that one slow call does not make the figure jump.
    this.latency = this.latency === null ? latencyMs : this.latency * 0.8 + latencyMs * 0.2;
  }

  failure(error: unknown, latencyMs?: number, endpoint?: string): void {
    this.count(endpoint, isGatewayError(error) ? error.code : 'error', latencyMs ?? 0);
    this.consecutiveFailures++;
    const message = isGatewayError(error) ? error.message : 'upstream call failed';
    this.lastFailure = { at: Date.now(), message };
    if (latencyMs !== undefined && this.latency === null) this.latency = latencyMs;
  }

  /** Told of every upstream call with its endpoint (the gateway's metrics histogram listens here). */
  onCall: ((endpoint: string, outcome: string, ms: number) => void) | undefined;

  private count(endpoint: string | undefined, outcome: string, ms: number): void {
    if (endpoint === undefined) return;
    this.onCall?.(endpoint, outcome, ms);
    const key = `${endpoint}\u0000${outcome}`;
    const entry = this.calls.get(key) ?? { endpoint, outcome, count: 0, totalMs: 0 };
    entry.count += 1;
    entry.totalMs += ms;
    this.calls.set(key, entry);
  }

  /** A listing of `scope` answered, but `count` of its items could not be read. */
  itemsFailed(scope: string, count: number, message: string): void {
    this.malformed += count;
    this.brokenScopes.set(scope, message);
    this.lastFailure = { at: Date.now(), message };
  }

  /** A listing of `scope` was read completely. */
  itemsOk(scope: string): void {
    this.brokenScopes.delete(scope);
  }

  snapshot(): HealthSnapshot {
    const byCalls: HealthStatus =
      this.consecutiveFailures === 0 ? 'UP' : this.consecutiveFailures >= DOWN_AFTER || this.lastSuccess === null ? 'DOWN' : 'DEGRADED';
    const status: HealthStatus = byCalls === 'UP' && this.brokenScopes.size > 0 ? 'DEGRADED' : byCalls;
    return {
      status,
      lastSuccessAt: this.lastSuccess === null ? null : new Date(this.lastSuccess).toISOString(),
      lastError: this.lastFailure?.message ?? null,
      lastErrorAt: this.lastFailure === null ? null : new Date(this.lastFailure.at).toISOString(),
      latencyMs: this.latency === null ? null : Math.round(this.latency * 10) / 10,
      checked: this.lastSuccess !== null || this.lastFailure !== null,
      malformedItems: this.malformed,
    };
  }
}
