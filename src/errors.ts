import { GraphQLError } from 'graphql';

/**
 * Every error the gateway raises on purpose. `code` goes to `extensions.code`, `source` (the
 * configured source name) to `extensions.source`. Messages are written for the API user and never
 * contain tokens, passwords or upstream URLs; anything that is not a GatewayError is masked.
 */
export const ERROR_CODES = [
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_REJECTED',
  'UPSTREAM_BAD_RESPONSE',
  'UPSTREAM_UNAUTHORIZED',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'FORBIDDEN',
  /** The caller sent no API key, or one the gateway does not know (HTTP 401; graphql-ws 4401/4403). */
  'UNAUTHENTICATED',
  /** A cap was reached (subscriptions per connection or per process). */
  'LIMIT_EXCEEDED',
  'CONFLICT',
  /** The upstream accepted a request to start something but did not start it (e.g. ABS skipped a backup). */
  'NOT_STARTED',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface GatewayErrorOptions {
  source?: string | undefined;
  /** Upstream HTTP status, when there was one. */
  status?: number | undefined;
  /** How long the upstream asked us to wait (Retry-After / 429), in ms. */
  retryAfterMs?: number | undefined;
  /** Safe, structured extras for `extensions` (never secrets). */
  details?: Record<string, unknown> | undefined;
  /** Whether retrying soon may help; default: by code (unavailable and timeouts do). */
  transient?: boolean | undefined;
  cause?: unknown;
}

/**
 * A GraphQLError subclass so that yoga and envelop treat it as expected (not masked, not logged,
 * partial data kept); `extensions` carries code, source and upstream status.
 */
export class GatewayError extends GraphQLError {
  readonly code: ErrorCode;
  /** The configured source name (`source` is taken by GraphQLError for the document). */
  readonly sourceName: string | undefined;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly details: Record<string, unknown> | undefined;
  private readonly retryable: boolean | undefined;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, {
      extensions: {
        code,
        ...(options.source === undefined ? {} : { source: options.source }),
        ...(options.status === undefined ? {} : { upstreamStatus: options.status }),
        ...(options.retryAfterMs === undefined ? {} : { retryAfterMs: options.retryAfterMs }),
        ...options.details,
      },
    });
    this.code = code;
    this.sourceName = options.source;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details;
    this.retryable = options.transient;
    // Kept for server-side debugging only; never serialised (GraphQLError.toJSON ignores it).
    if (options.cause !== undefined) Object.defineProperty(this, 'cause', { value: options.cause, enumerable: false });
  }

  /** Retrying may help (the upstream was down, slow or overloaded), as opposed to a rejected request. */
  get transient(): boolean {
    return this.retryable ?? (this.code === 'UPSTREAM_UNAVAILABLE' || this.code === 'UPSTREAM_TIMEOUT');
  }
}

export function isGatewayError(error: unknown): error is GatewayError {
  return error instanceof GatewayError;
}


export function badInput(message: string, details?: Record<string, unknown>): GatewayError {
  return new GatewayError('BAD_USER_INPUT', message, { details });
}

/** A caller's value quoted for a message, cut short: errors never echo large input back. */
export function quote(value: unknown, max = 64): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

/** A GatewayError as JSON, to cross to another instance (relayed loop outcomes); other errors are masked. */
export function errorToJson(error: unknown): unknown {
  if (!isGatewayError(error)) return { code: 'UPSTREAM_UNAVAILABLE', message: 'the upstream call failed' };
  return { code: error.code, message: error.message, source: error.sourceName, status: error.status, retryAfterMs: error.retryAfterMs, details: error.details };
}

export function errorFromJson(json: unknown): GatewayError {
  const value = (json ?? {}) as { code?: unknown; message?: unknown; source?: unknown; status?: unknown; retryAfterMs?: unknown; details?: unknown };
  const code = ERROR_CODES.includes(value.code as ErrorCode) ? (value.code as ErrorCode) : 'UPSTREAM_UNAVAILABLE';
  return new GatewayError(code, typeof value.message === 'string' ? value.message : 'the upstream call failed', {
    source: typeof value.source === 'string' ? value.source : undefined,
    status: typeof value.status === 'number' ? value.status : undefined,
    retryAfterMs: typeof value.retryAfterMs === 'number' ? value.retryAfterMs : undefined,
    details: value.details !== null && typeof value.details === 'object' ? (value.details as Record<string, unknown>) : undefined,
  });
}
