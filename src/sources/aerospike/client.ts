import { GatewayError } from '../../errors.js';
import { HttpClient, urlPath, type HttpClientOptions } from '../http.js';
import { redact } from '../redact.js';

/**
 * Aerospike Backup Service (ABS) REST API v1, one method per endpoint (docs/upstreams/aerospike-backup-service.md).
 * Methods return the wire JSON as `unknown`; map.ts decodes it item by item.
 */

export const ABS_UPSTREAM = 'Aerospike Backup Service';

export type BackupMode = 'full' | 'incremental';

/** A configured cluster / storage by name, or the object inline (inline credentials pass through untouched). */
export interface AbsRestoreTarget {
  destination?: Record<string, unknown>;
  'destination-name'?: string;
  source?: Record<string, unknown>;
  'source-name'?: string;
  'secret-agent'?: Record<string, unknown>;
  'secret-agent-name'?: string;
  policy?: Record<string, unknown>;
}

export interface AbsRestoreRequest extends AbsRestoreTarget {
  'backup-data-path': string;
}

export interface AbsRestoreTimestampRequest extends AbsRestoreTarget {
  routine: string;
  /** Epoch ms. */
  time: number;
  'disable-reordering'?: boolean;
}

export interface TimeRange {
  /** Epoch ms. */
  from?: number | undefined;
  to?: number | undefined;
}

export interface RestoreJobsQuery extends TimeRange {
  /** Vendor status spellings to select (see map.ts `restoreStatusFilterValues`). */
  statuses?: readonly string[] | undefined;
  /** Vendor status spellings to exclude (ABS's `!` prefix). Ignored when `statuses` is given. */
  excludeStatuses?: readonly string[] | undefined;
}

export interface AerospikeClientOptions extends Omit<HttpClientOptions, 'upstream' | 'describeError'> {}

/** ABS error bodies are Go `http.Error` plain text: the message and a newline. */
export function describeAbsError(_status: number, body: string): string | undefined {
  const text = body.trim();
  if (text === '') return undefined;
  // A JSON string body (some annotations declare application/json) carries the same text.
  if (text.startsWith('"')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'string') return parsed.trim() || undefined;
    } catch {
      // not a JSON string: use the text as it is
    }
  }
  return text;
}

/** Older builds answer an unknown routine on the list endpoints with 400 `routine name not found: X`. */
const OLD_BUILD_NOT_FOUND = /routine name not found/i;

/** Restore job ids are int64 on the wire; kept as decimal strings so no precision is lost. */
export function checkJobId(jobId: string): string {
  if (typeof jobId !== 'string' || !/^\d{1,19}$/.test(jobId)) {
    throw new GatewayError('BAD_USER_INPUT', `Invalid job id: ${JSON.stringify(String(jobId).slice(0, 40))} is not an ABS job id (a decimal integer)`, {
      details: { argument: 'jobId' },
    });
  }
  return jobId;
}

function nonNegativeInt(value: number | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new GatewayError('BAD_USER_INPUT', `Invalid ${what}: must be a non-negative integer`, { details: { argument: what } });
  }
  return value;
}

function rangeQuery(range: TimeRange | undefined): Record<string, number | undefined> {
  return { from: nonNegativeInt(range?.from, 'from'), to: nonNegativeInt(range?.to, 'to') };
}

/** Every string inside a restore body that must never reach an error message (passwords, keys). */
function inlineSecrets(body: unknown): string[] {
  const found: string[] = [];
  const walk = (value: unknown, key: string): void => {
    if (typeof value === 'string') {
      if (isSecretKey(key) && value.length > 0) found.push(value);
    } else if (Array.isArray(value)) value.forEach((v) => walk(v, key));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, k);
  };
  walk(body, '');
  return found;
}

/** Keys whose values are secrets in ABS config objects (credentials, TLS, cloud storage). */
export function isSecretKey(key: string): boolean {
  return /(^|-)password$|^client-secret$|^account-key$|^secret-access-key$|^sas-token$|^token$|^private-key$/i.test(key);
}

export class AerospikeClient {
  readonly http: HttpClient;
  readonly source: string;

  constructor(options: AerospikeClientOptions) {
    this.source = options.source;
    this.http = new HttpClient({ ...options, upstream: ABS_UPSTREAM, describeError: describeAbsError });
  }

  // ------------------------------------------------------------------ backups

  /** POST /v1/backups/{full|incremental}/{routine}: 202 only means "accepted", not "ran". */
  async triggerBackup(routine: string, mode: BackupMode, delayMs?: number): Promise<void> {
    const path = urlPath`/v1/backups/${mode}/${routine}`;
    await this.call({ method: 'POST', path, query: { delay: nonNegativeInt(delayMs, 'delay') } });
  }

  /** POST /v1/backups/schedule/{routine}: the deprecated alias of the full trigger (the 3.4 docs' trigger). */
  async scheduleFullBackup(routine: string, delayMs?: number): Promise<void> {
    const path = urlPath`/v1/backups/schedule/${routine}`;
    await this.call({ method: 'POST', path, query: { delay: nonNegativeInt(delayMs, 'delay') } });
  }

  /** POST /v1/backups/cancel/{routine}: cancels the routine's full and incremental runs. */
  async cancelBackups(routine: string): Promise<void> {
    await this.call({ method: 'POST', path: urlPath`/v1/backups/cancel/${routine}` });
  }

  /** GET /v1/backups/currentBackup/{routine} → RoutineState. */
  async currentBackup(routine: string, signal?: AbortSignal): Promise<unknown> {
    return this.callJson({ method: 'GET', path: urlPath`/v1/backups/currentBackup/${routine}`, signal });
  }

  /** GET /v1/backups/{mode} → `{ routine: BackupDetails[] }`. */
  async listAllBackups(mode: BackupMode, range?: TimeRange, signal?: AbortSignal): Promise<unknown> {
    return this.callJson({ method: 'GET', path: `/v1/backups/${mode}`, query: rangeQuery(range), signal });
  }

  /** GET /v1/backups/{mode}/{routine} → BackupDetails[] sorted by creation time. */
  async listBackups(mode: BackupMode, routine: string, range?: TimeRange, signal?: AbortSignal): Promise<unknown> {
    const path = urlPath`/v1/backups/${mode}/${routine}`;
    return this.callJson({ method: 'GET', path, query: rangeQuery(range), signal });
  }

  // ------------------------------------------------------------------ restore

  /** POST /v1/restore/{full|incremental} → the job id (a bare integer body). */
  async restore(mode: BackupMode, request: AbsRestoreRequest): Promise<string> {
    return this.startRestore(`/v1/restore/${mode}`, request);
  }

  /** POST /v1/restore/timestamp → the job id. */
  async restoreByTimestamp(request: AbsRestoreTimestampRequest): Promise<string> {
    return this.startRestore('/v1/restore/timestamp', request);
  }

  /** GET /v1/restore/status/{jobId} → RestoreJobStatus; 404 once ABS forgot the job. */
  async restoreStatus(jobId: string, signal?: AbortSignal): Promise<unknown> {
    return this.callJson({ method: 'GET', path: urlPath`/v1/restore/status/${checkJobId(jobId)}`, signal });
  }

  /** GET /v1/restore/jobs → `{ "<jobId>": RestoreJobStatus }`. */
  async restoreJobs(query: RestoreJobsQuery = {}, signal?: AbortSignal): Promise<unknown> {
    return this.callJson({ method: 'GET', path: '/v1/restore/jobs', query: { ...rangeQuery(query), status: statusFilter(query) }, signal });
  }

  /** POST /v1/restore/cancel/{jobId}: restored data is kept. */
  async cancelRestore(jobId: string): Promise<void> {
    await this.call({ method: 'POST', path: urlPath`/v1/restore/cancel/${checkJobId(jobId)}` });
  }

  // ------------------------------------------------------------------ config and system

  async clusters(signal?: AbortSignal): Promise<unknown> {
    return this.callJson({ method: 'GET', path: '/v1/config/clusters', signal });
  }

  async routines(signal?: AbortSignal): Promise<unknown> {
    return this.callJson({ method: 'GET', path: '/v1/config/routines', signal });
  }

  async storage(signal?: AbortSignal): Promise<unknown> {
    return this.callJson({ method: 'GET', path: '/v1/config/storage', signal });
  }

  /** GET /version: a JSON object on newer builds, the bare version text on older ones (returned as a string). */
  async version(signal?: AbortSignal): Promise<unknown> {
    const { text } = await this.call({ method: 'GET', path: '/version', signal });
    const trimmed = text.trim();
    if (trimmed.startsWith('{') || trimmed.startsWith('"')) {
      try {
        return JSON.parse(trimmed) as unknown;
      } catch {
        throw this.badResponse('/version returned malformed JSON');
      }
    }
    return trimmed;
  }

  /** GET /health: text `Ok`. */
  async health(signal?: AbortSignal): Promise<string> {
    return (await this.call({ method: 'GET', path: '/health', signal })).text.trim();
  }

  /** GET /ready: text `Ok`. */
  async ready(signal?: AbortSignal): Promise<string> {
    return (await this.call({ method: 'GET', path: '/ready', signal })).text.trim();
  }

  /** GET /metrics: Prometheus text (see map.ts `parseBackupEvents`). */
  async metrics(signal?: AbortSignal): Promise<string> {
    return (await this.call({ method: 'GET', path: '/metrics', signal, headers: { accept: 'text/plain' } })).text;
  }

  close(): Promise<void> {
    return this.http.close();
  }

  // ------------------------------------------------------------------ plumbing

  private async startRestore(path: string, body: AbsRestoreRequest | AbsRestoreTimestampRequest): Promise<string> {
    const secrets = inlineSecrets(body);
    let text: string;
    try {
      ({ text } = await this.call({ method: 'POST', path, body }));
    } catch (error) {
      throw this.withoutSecrets(error, secrets);
    }
    const id = /^\s*"?(\d{1,19})"?\s*$/.exec(text)?.[1];
    if (!id) throw this.badResponse(`${path} did not answer a job id`);
    return id;
  }

  private async call(req: Parameters<HttpClient['request']>[0]): Promise<{ status: number; text: string }> {
    try {
      return await this.http.request(req);
    } catch (error) {
      throw this.normalise(error);
    }
  }

  private async callJson(req: Parameters<HttpClient['request']>[0]): Promise<unknown> {
    const { text, status } = await this.call(req);
    if (text.trim() === '') throw this.badResponse(`${req.path.split('?')[0]} returned an empty body`, status);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw this.badResponse('returned malformed JSON', status);
    }
  }

  /** Old builds' 400 `routine name not found` is the same fact as new builds' 404. */
  private normalise(error: unknown): unknown {
    if (error instanceof GatewayError && error.code === 'UPSTREAM_REJECTED' && error.status === 400 && OLD_BUILD_NOT_FOUND.test(error.message)) {
      const detail = error.message.slice(error.message.indexOf(': ') + 2);
      return new GatewayError('NOT_FOUND', `${ABS_UPSTREAM} reports not found: ${detail}`, { source: this.source, status: 400, cause: error });
    }
    return error;
  }

  private withoutSecrets(error: unknown, secrets: string[]): unknown {
    if (!(error instanceof GatewayError) || secrets.length === 0) return error;
    const message = redact(error.message, secrets);
    if (message === error.message) return error;
    return new GatewayError(error.code, message, { source: error.sourceName, status: error.status, retryAfterMs: error.retryAfterMs, details: error.details });
  }

  private badResponse(what: string, status?: number): GatewayError {
    return new GatewayError('UPSTREAM_BAD_RESPONSE', `${ABS_UPSTREAM} ${what}`, { source: this.source, status });
  }
}

/** `status=a,b` selects, `status=!a,b` excludes (the `!` covers the whole list). */
function statusFilter(query: RestoreJobsQuery): string | undefined {
  const clean = (values: readonly string[] | undefined): string[] => (values ?? []).map((v) => v.trim()).filter(Boolean);
  const include = clean(query.statuses);
  if (include.length > 0) return include.join(',');
  const exclude = clean(query.excludeStatuses);
  return exclude.length > 0 ? `!${exclude.join(',')}` : undefined;
}
