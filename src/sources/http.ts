import { Pool } from 'undici';
import { GatewayError, quote, type ErrorCode } from '../errors.js';
import { redact } from './redact.js';
import type { HealthTracker } from './health.js';

/**
 * The one HTTP client every upstream uses: a keep-alive pool per origin, connect / headers / body
 * timeouts, bounded retries with full jitter for idempotent requests only, a response size cap, and
 * every failure turned into a typed GatewayError whose message is safe to show (no token, no URL
 * with credentials, no upstream stack trace).
 */

export interface HttpTimeouts {
  connectMs: number;
  headersMs: number;
  bodyMs: number;
  /**
   * The whole budget of one call, retries and their waits included: a body that drips in slowly
   * or a retry loop cannot stretch a call past it. Default: connect + headers + body.
   */
  totalMs: number;
}

export interface RetryPolicy {
  /** Total attempts for an idempotent request (1 = no retry). */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface HttpClientOptions {
  /** Configured source name, for errors and health. */
  source: string;
  /** Human name of the upstream for messages ("Aiven API"). */
  upstream: string;
  baseUrl: string;
  /** Sent with every request (auth lives here); their values are treated as secrets. */
  headers?: Record<string, string>;
  timeouts?: Partial<HttpTimeouts>;
  retry?: Partial<RetryPolicy>;
  maxResponseBytes?: number;
  connections?: number;
  /** TLS for https origins: CA bundle, client certificate and key (mTLS), as PEM text. */
  tls?: { ca?: string; cert?: string; key?: string };
  health?: HealthTracker;
  /** Pulls a human message out of an upstream error body (vendor-specific shape). */
  describeError?: (status: number, body: string) => string | undefined;
  /**
   * A vendor's own reading of a status, before the generic mapping: e.g. DocSpace answers every
   * call with an empty 403 while a restore runs, which means "restoring", not "forbidden".
   */
  classifyStatus?: (
    status: number,
    body: string,
  ) => { code: ErrorCode; message: string; details?: Record<string, unknown>; transient?: boolean } | undefined;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Extra headers for this request only (their values are not treated as secrets). */
  headers?: Record<string, string>;
  /** Send none of the client's configured headers (for endpoints that must be called without credentials). */
  anonymous?: boolean;
  /** Retry on transient failure. Defaults to true for GET only. */
  idempotent?: boolean;
  signal?: AbortSignal | undefined;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

const DEFAULT_TIMEOUTS = { connectMs: 5_000, headersMs: 10_000, bodyMs: 10_000 };
const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 100, maxDelayMs: 2_000 };
const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
/** Answers that mean "your request", not "I am unwell": they do not count against a source's health. */
const CALLER_FAULTS: ReadonlySet<string> = new Set(['NOT_FOUND', 'UPSTREAM_REJECTED', 'CONFLICT', 'BAD_USER_INPUT', 'NOT_STARTED']);
/** A Retry-After longer than this is not waited for inside one request; the error carries it instead. */
const MAX_INLINE_RETRY_AFTER_MS = 5_000;

export class HttpClient {
  readonly source: string;
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly options: HttpClientOptions;
  private readonly timeouts: HttpTimeouts;
  private readonly retry: RetryPolicy;
  private readonly secrets: string[];

  constructor(options: HttpClientOptions) {
    this.options = options;
    this.source = options.source;
    const phases = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.timeouts = { ...phases, totalMs: options.timeouts?.totalMs ?? phases.connectMs + phases.headersMs + phases.bodyMs };
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    const url = new URL(options.baseUrl);
    this.basePath = url.pathname.replace(/\/+$/, '');
    // A header value and its credential part (the word after a scheme such as "aivenv1").
    this.secrets = Object.values(options.headers ?? {})
      .flatMap((value) => [value, value.split(/\s+/).at(-1) ?? ''])
      .filter((secret) => secret.length >= 6);
    if (url.password) this.secrets.push(url.password);
    this.pool = new Pool(url.origin, {
      connections: options.connections ?? 16,
      connect: { timeout: this.timeouts.connectMs, ...options.tls },
      headersTimeout: this.timeouts.headersMs,
      bodyTimeout: this.timeouts.bodyMs,
      keepAliveTimeout: 10_000,
    });
  }

  /** Performs the request and returns the raw response for any 2xx status; throws GatewayError otherwise. */
  async request(req: HttpRequest): Promise<HttpResponse> {
    const idempotent = req.idempotent ?? req.method === 'GET';
    const attempts = idempotent ? Math.max(1, this.retry.attempts) : 1;
    const budget = AbortSignal.timeout(this.timeouts.totalMs);
    const signal = req.signal ? AbortSignal.any([req.signal, budget]) : budget;
    const endsAt = performance.now() + this.timeouts.totalMs;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      try {
        const response = await this.once(req, signal);
        this.options.health?.success(performance.now() - started, `${req.method} ${routeOf(req.path)}`);
        return response;
      } catch (error) {
        const failure = this.toGatewayError(error, req, budget);
        const waitMs = failure.transient && attempt < attempts && !signal.aborted ? this.backoff(attempt, failure.retryAfterMs) : undefined;
        // A retry that cannot finish inside the budget is not started.
        if (waitMs === undefined || performance.now() + waitMs >= endsAt) {
          const endpoint = `${req.method} ${routeOf(req.path)}`;
          if (req.signal?.aborted) throw failure;
          // The upstream answered, and said the request was wrong (unknown name, bad input, busy):
          // that is the caller's business, not a sign the upstream is unwell.
          if (CALLER_FAULTS.has(failure.code)) this.options.health?.success(performance.now() - started, endpoint, failure.code);
          else this.options.health?.failure(failure, performance.now() - started, endpoint);
          throw failure;
        }
        await sleep(waitMs, signal);
      }
    }
  }

  /** request() and JSON parsing in one; an empty body yields `undefined`. */
  async json<T>(req: HttpRequest): Promise<T> {
    const response = await this.request(req);
    if (response.text.trim() === '') return undefined as T;
    try {
      return JSON.parse(response.text) as T;
    } catch {
      const error = new GatewayError('UPSTREAM_BAD_RESPONSE', `${this.options.upstream} returned malformed JSON`, {
        source: this.source,
        status: response.status,
      });
      this.options.health?.failure(error); // answered, but unusable: not a success for health
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async once(req: HttpRequest, signal: AbortSignal): Promise<HttpResponse> {
    const headers: Record<string, string> = { accept: 'application/json', ...(req.anonymous ? {} : this.options.headers), ...req.headers };
    let body: string | undefined;
    if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] = 'application/json';
    }
    const response = await this.pool.request({
      method: req.method,
      path: this.basePath + req.path + queryString(req.query),
      headers,
      body,
      signal,
    });
    const text = await readCapped(response.body, this.options.maxResponseBytes ?? DEFAULT_MAX_BYTES, () => {
      throw new GatewayError('UPSTREAM_BAD_RESPONSE', `${this.options.upstream} response exceeded the size limit`, {
        source: this.source,
        status: response.statusCode,
      });
    });
    const status = response.statusCode;
    if (status >= 200 && status < 300) return { status, headers: response.headers, text };
    throw this.statusError(status, text, response.headers['retry-after']);
  }

  private statusError(status: number, text: string, retryAfter: string | string[] | undefined): GatewayError {
    const source = this.source;
    const retryAfterMs = parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
    // Upstream 4xx messages explain what the caller did wrong and are passed on (redacted); 5xx
    // bodies may hold stack traces and internals, so they are never shown.
    const described = status < 500 ? this.options.describeError?.(status, text) : undefined;
    const detail = described ? `: ${this.clean(described)}` : '';
    const upstream = this.options.upstream;
    const classified = this.options.classifyStatus?.(status, text);
    if (classified) {
      return new GatewayError(classified.code, this.clean(classified.message), { source, status, retryAfterMs, details: classified.details, transient: classified.transient });
    }
    if (status === 401 || status === 403) {
      return new GatewayError('UPSTREAM_UNAUTHORIZED', `${upstream} refused the request (${status})${detail}`, { source, status });
    }
    if (status === 404) return new GatewayError('NOT_FOUND', `${upstream} reports not found${detail}`, { source, status });
    if (status === 408) return new GatewayError('UPSTREAM_TIMEOUT', `${upstream} timed out (408)`, { source, status });
    if (status === 429 || status >= 500) {
      return new GatewayError('UPSTREAM_UNAVAILABLE', `${upstream} is unavailable (${status})`, { source, status, retryAfterMs });
    }
    if (status === 409) return new GatewayError('CONFLICT', `${upstream} reports a conflict${detail}`, { source, status });
    return new GatewayError('UPSTREAM_REJECTED', `${upstream} rejected the request (${status})${detail}`, { source, status });
  }

  private toGatewayError(error: unknown, req: HttpRequest, budget: AbortSignal): GatewayError {
    if (error instanceof GatewayError) return error;
    const upstream = this.options.upstream;
    const source = this.source;
    const code = (error as { code?: string } | null)?.code;
    if (req.signal?.aborted) {
      return new GatewayError('UPSTREAM_TIMEOUT', `${upstream} request was cancelled`, { source, cause: error });
    }
    if (budget.aborted) {
      const seconds = Math.round(this.timeouts.totalMs / 100) / 10;
      return new GatewayError('UPSTREAM_TIMEOUT', `${upstream} did not answer within ${seconds} s`, { source, cause: error });
    }
    switch (code) {
      case 'UND_ERR_CONNECT_TIMEOUT':
      case 'UND_ERR_HEADERS_TIMEOUT':
      case 'UND_ERR_BODY_TIMEOUT':
        return new GatewayError('UPSTREAM_TIMEOUT', `${upstream} did not answer in time`, { source, cause: error });
      default:
        return new GatewayError('UPSTREAM_UNAVAILABLE', `${upstream} is unreachable (${code ?? 'connection failed'})`, {
          source,
          cause: error,
        });
    }
  }

  private backoff(attempt: number, retryAfterMs: number | undefined): number | undefined {
    if (retryAfterMs !== undefined) return retryAfterMs <= MAX_INLINE_RETRY_AFTER_MS ? retryAfterMs : undefined;
    const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    return Math.random() * cap;
  }

  private clean(message: string): string {
    return redact(message, this.secrets).slice(0, 300);
  }
}

const UNSAFE_SEGMENT = /^\.{1,2}$|[/\\\u0000-\u001f\u007f]/;

/**
 * Builds a request path from caller-given segments: each is checked (no empty, ".", ".." or
 * separator, which could reach another upstream route even when percent-encoded) and encoded.
 * Usage: urlPath`/v1/project/${project}/service/${name}`.
 */
export function urlPath(strings: TemplateStringsArray, ...segments: Array<string | number>): string {
  let out = strings[0] ?? '';
  const route = strings.join('{}');
  segments.forEach((segment, i) => {
    const text = String(segment);
    if (text === '' || UNSAFE_SEGMENT.test(text)) {
      throw new GatewayError('BAD_USER_INPUT', `${quote(text)} is not a valid name: it cannot be empty, "." or "..", or contain "/", "\\" or control characters`, {
        details: { value: text.slice(0, 64) },
      });
    }
    out += encodeURIComponent(text) + (strings[i + 1] ?? '');
  });
  rememberRoute(out, route);
  return out;
}

/**
 * Path → its template ("/v1/project/{}/service"), for the `endpoint` label of upstream call
 * metrics: labels must not carry names and ids (unbounded cardinality). Bounded: the oldest
 * entries go first; a path not found here is a constant path and is its own route.
 */
const routes = new Map<string, string>();
const MAX_ROUTES = 2_000;

function rememberRoute(path: string, route: string): void {
  if (path === route) return;
  routes.delete(path);
  routes.set(path, route);
  if (routes.size > MAX_ROUTES) routes.delete(routes.keys().next().value!);
}

export function routeOf(path: string): string {
  return routes.get(path) ?? path;
}

function queryString(query: HttpRequest['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const s = params.toString();
  return s ? `?${s}` : '';
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }, maxBytes: number, onOverflow: () => never): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) {
      body.destroy();
      onOverflow();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Retry-After as seconds or an HTTP date, in ms. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
