import { connect as connectTcp, type Socket } from 'node:net';
import WebSocket from 'ws';
import { GatewayError, type ErrorCode } from '../../errors.js';
import type { HealthTracker } from '../health.js';
import { redact } from '../redact.js';
import { DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_RECEIVE_BYTES, encodeLine, FrameOverflowError, LineDecoder } from './framing.js';

/**
 * One command session with a ScaleTrade server over TCP (CRLF-delimited JSON) or WebSocket (one
 * JSON message per text frame): requests carry `command`, `extID`, `data` and `__token`, replies
 * are matched by `extID`, pushed `{event, type, data}` objects go to the event listeners. See
 * docs/upstreams/scaletrade.md.
 *
 * A connection is opened, used and dropped; it never reconnects by itself. Whoever manages a
 * long-lived session watches `closed` (or `onClose`) and opens a new one.
 */

const UPSTREAM = 'ScaleTrade server';

/** Commands that answer only when the run they start has ended. */
export const BLOCKING_COMMANDS: ReadonlySet<string> = new Set(['StartFullBackup', 'StartBackupServer', 'StartRestoreRun']);

export interface ScaleTradeTls {
  /** PEM text. */
  ca?: string;
  cert?: string;
  key?: string;
  servername?: string;
}

export interface ScaleTradeTimeouts {
  connectMs: number;
  /** Every command but the blocking ones (the vendor clients wait 30 s). */
  requestMs: number;
  /** StartFullBackup / StartBackupServer / StartRestoreRun; null waits as long as the run lasts. */
  blockingMs: number | null;
}

export const DEFAULT_TIMEOUTS: ScaleTradeTimeouts = { connectMs: 5_000, requestMs: 30_000, blockingMs: null };

/** A pushed event object (`backup.progress`, …). `type` is opaque: its codes are undocumented. */
export interface ScaleTradePush {
  event: string;
  type?: unknown;
  data?: unknown;
}

/** A received line or message that was skipped. No content is kept, only why and how big. */
export interface MalformedFrame {
  reason: 'invalid-json' | 'not-an-object' | 'no-extid';
  bytes: number;
}

export interface ConnectionClosed {
  /** Null when `close()` was called; otherwise why the session ended. */
  error: GatewayError | null;
}

export interface ScaleTradeConnectionOptions {
  /** `tcp://host:port`, `ws://host:port/path` or `wss://host:port/path`. */
  url: string;
  token: string;
  /** Configured source name, for errors and health. */
  source: string;
  tls?: ScaleTradeTls;
  timeouts?: Partial<ScaleTradeTimeouts>;
  /** Largest message this side sends (default 64 KiB, as the vendor's client). */
  maxFrameBytes?: number;
  /** Largest message or unterminated line this side accepts (default 10 MB). */
  maxReceiveBytes?: number;
  /** Registered before the first byte arrives, so no event can be missed. */
  onEvent?: (event: ScaleTradePush) => void;
  onMalformed?: (frame: MalformedFrame) => void;
  /** An event listener threw (default: a process warning). */
  onListenerError?: (error: unknown) => void;
  health?: HealthTracker;
}

export interface RequestOptions {
  /** Overrides the command's default timeout; null waits forever. */
  timeoutMs?: number | null;
  signal?: AbortSignal | undefined;
}

/** What a transport reports to the connection. */
interface TransportHandlers {
  message(text: string): void;
  /** The session is over; `error` undefined when it ended cleanly from the far side. */
  closed(error: GatewayError | undefined): void;
}

interface Transport {
  send(text: string): void;
  close(): void;
}

interface Pending {
  command: string;
  resolve(reply: Record<string, unknown>): void;
  reject(error: GatewayError): void;
  timer: NodeJS.Timeout | undefined;
  cleanup(): void;
  started: number;
}

export class ScaleTradeConnection {
  readonly source: string;
  /** Resolves once, when the session has ended for whatever reason. */
  readonly closed: Promise<ConnectionClosed>;

  private transport: Transport | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly eventListeners = new Set<(event: ScaleTradePush) => void>();
  private readonly closeListeners = new Set<(closed: ConnectionClosed) => void>();
  private readonly timeouts: ScaleTradeTimeouts;
  private readonly maxFrameBytes: number;
  private nextId = 1;
  private ended: ConnectionClosed | undefined;
  private resolveClosed!: (closed: ConnectionClosed) => void;

  private constructor(private readonly options: ScaleTradeConnectionOptions) {
    this.source = options.source;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (options.onEvent) this.eventListeners.add(options.onEvent);
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  /** Opens the session; rejects with UPSTREAM_TIMEOUT / UPSTREAM_UNAVAILABLE / BAD_USER_INPUT. */
  static async open(options: ScaleTradeConnectionOptions): Promise<ScaleTradeConnection> {
    const connection = new ScaleTradeConnection(options);
    const handlers: TransportHandlers = {
      message: (text) => connection.handleMessage(text),
      closed: (error) => connection.finish(error ?? connection.unavailable('closed the connection')),
    };
    const target = parseUrl(options.url, options.source);
    const openTransport = target.protocol === 'tcp:' ? openTcpTransport : openWsTransport;
    connection.transport = await openTransport(target, connection.transportOptions(), handlers);
    return connection;
  }

  get isOpen(): boolean {
    return this.ended === undefined;
  }

  /** Sends one command and resolves with its reply (extID included); error replies reject. */
  request(command: string, data: Record<string, unknown> = {}, options: RequestOptions = {}): Promise<Record<string, unknown>> {
    if (this.ended || !this.transport) return Promise.reject(this.ended?.error ?? this.unavailable('connection is closed'));
    const extID = String(this.nextId++);
    const text = JSON.stringify({ command, extID, data, __token: this.options.token });
    const bytes = Buffer.byteLength(text) + 2;
    if (bytes > this.maxFrameBytes) {
      return Promise.reject(
        new GatewayError('BAD_USER_INPUT', `${command} request is too large to send (${bytes} bytes, limit ${this.maxFrameBytes})`, {
          source: this.source,
        }),
      );
    }
    if (options.signal?.aborted) return Promise.reject(this.cancelled(command));
    const timeoutMs = options.timeoutMs !== undefined ? options.timeoutMs : BLOCKING_COMMANDS.has(command) ? this.timeouts.blockingMs : this.timeouts.requestMs;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => settle(() => reject(this.cancelled(command)));
      const entry: Pending = {
        command,
        started: performance.now(),
        timer: undefined,
        resolve: (reply) => settle(() => resolve(reply)),
        reject: (error) => settle(() => reject(error)),
        cleanup: () => {
          if (entry.timer) clearTimeout(entry.timer);
          options.signal?.removeEventListener('abort', onAbort);
          this.pending.delete(extID);
        },
      };
      const settle = (fn: () => void): void => {
        if (!this.pending.has(extID)) return;
        entry.cleanup();
        fn();
      };
      if (timeoutMs !== null) {
        entry.timer = setTimeout(() => {
          const error = new GatewayError('UPSTREAM_TIMEOUT', `${UPSTREAM} did not answer ${command} within ${timeoutMs} ms`, { source: this.source });
          this.options.health?.failure(error);
          settle(() => reject(error));
        }, timeoutMs);
        entry.timer.unref();
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(extID, entry);
      try {
        this.transport!.send(text);
      } catch (error) {
        settle(() => reject(this.unavailable('refused the request', error)));
      }
    });
  }

  /** Adds an event listener; returns the function that removes it. */
  onEvent(listener: (event: ScaleTradePush) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Called once when the session ends (at once if it already has). */
  onClose(listener: (closed: ConnectionClosed) => void): () => void {
    if (this.ended) {
      listener(this.ended);
      return () => undefined;
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /**
   * The pushed events as an async iterator that ends when the session ends. Events arriving while
   * the consumer is busy are queued (the oldest dropped beyond `maxQueued`: progress snapshots
   * supersede each other, and the newest — a run's final state — is always kept).
   */
  events(maxQueued = 1_000): AsyncIterableIterator<ScaleTradePush> {
    const queue: ScaleTradePush[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    const stop = (): void => {
      done = true;
      removeEvent();
      removeClose();
      wake?.();
    };
    const removeEvent = this.onEvent((event) => {
      queue.push(event);
      if (queue.length > maxQueued) queue.shift();
      wake?.();
    });
    const removeClose = this.onClose(stop);
    const iterator: AsyncIterableIterator<ScaleTradePush> = {
      next: async () => {
        while (queue.length === 0 && !done) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        const value = queue.shift();
        return value ? { value, done: false } : { value: undefined, done: true };
      },
      return: async () => {
        stop();
        queue.length = 0;
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Ends the session; pending requests reject with UPSTREAM_UNAVAILABLE. */
  async close(): Promise<void> {
    if (!this.ended) {
      this.finish(null);
      this.transport?.close();
    }
    await this.closed;
  }

  private transportOptions(): TransportOptions {
    return {
      source: this.source,
      connectMs: this.timeouts.connectMs,
      maxReceiveBytes: this.options.maxReceiveBytes ?? DEFAULT_MAX_RECEIVE_BYTES,
      tls: this.options.tls,
    };
  }

  private handleMessage(text: string): void {
    const bytes = Buffer.byteLength(text);
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.options.onMalformed?.({ reason: 'invalid-json', bytes });
      return;
    }
    // Compact pushes (`["t", symbol, bid, ask, ts]`, `["n", …]`, "sr", "sc") carry nothing for backups.
    if (Array.isArray(message)) return;
    if (typeof message !== 'object' || message === null) {
      this.options.onMalformed?.({ reason: 'not-an-object', bytes });
      return;
    }
    const object = message as Record<string, unknown>;
    // `event` before `extID`, as the vendor's clients do: a push is never a reply.
    if (typeof object['event'] === 'string') {
      const push = object as unknown as ScaleTradePush;
      for (const listener of [...this.eventListeners]) {
        // One failing consumer must not break the session or starve the other listeners.
        try {
          listener(push);
        } catch (error) {
          if (this.options.onListenerError) this.options.onListenerError(error);
          else process.emitWarning(`ScaleTrade event listener failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      return;
    }
    const extID = object['extID'];
    if (typeof extID !== 'string' && typeof extID !== 'number') {
      this.options.onMalformed?.({ reason: 'no-extid', bytes });
      return;
    }
    // Unknown ids are late replies to requests that already timed out: dropped.
    const entry = this.pending.get(String(extID));
    if (!entry) return;
    this.options.health?.success(performance.now() - entry.started);
    if (isErrorReply(object)) entry.reject(commandError(object, { source: this.source, command: entry.command, secrets: [this.options.token] }));
    else entry.resolve(object);
  }

  private finish(error: GatewayError | null): void {
    if (this.ended) return;
    this.ended = { error };
    const reason = error ?? this.unavailable('connection was closed');
    if (error) this.options.health?.failure(error);
    for (const entry of [...this.pending.values()]) entry.reject(reason);
    this.resolveClosed(this.ended);
    for (const listener of [...this.closeListeners]) listener(this.ended);
    this.closeListeners.clear();
    this.eventListeners.clear();
  }

  private unavailable(what: string, cause?: unknown): GatewayError {
    return new GatewayError('UPSTREAM_UNAVAILABLE', `${UPSTREAM} ${what}`, { source: this.source, cause });
  }

  private cancelled(command: string): GatewayError {
    return new GatewayError('UPSTREAM_TIMEOUT', `${command} request to ${UPSTREAM} was cancelled`, { source: this.source });
  }
}

/** A reply is an error when it names one (`error: "RET_…"`); run objects never carry a top-level `error`. */
export function isErrorReply(reply: Record<string, unknown>): boolean {
  const error = reply['error'];
  return error !== undefined && error !== null && error !== '' && error !== false;
}

const CODE_BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  401: 'UPSTREAM_UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
};

/** For replies without a numeric `code`: the vendor error name decides. */
function codeByName(name: string): ErrorCode {
  if (/NOT_?FOUND/i.test(name)) return 'NOT_FOUND';
  if (/ACCESS|FORBIDDEN|PERMISSION/i.test(name)) return 'FORBIDDEN';
  if (/TOKEN|AUTH/i.test(name)) return 'UPSTREAM_UNAUTHORIZED';
  if (/BUSY|IN_PROGRESS|ALREADY|CONFLICT/i.test(name)) return 'CONFLICT';
  return 'UPSTREAM_REJECTED';
}

/**
 * An error reply `{error, message, detail?, code}` as a GatewayError: by `code` first (403, 404,
 * 409, and 401 for a refused token), by the error name second; everything else UPSTREAM_REJECTED.
 * The vendor's name, code and detail go to `details`; the texts are redacted.
 */
export function commandError(reply: Record<string, unknown>, context: { source: string; command: string; secrets?: readonly string[] }): GatewayError {
  const name = typeof reply['error'] === 'string' ? reply['error'] : String(reply['error']);
  const status = typeof reply['code'] === 'number' ? reply['code'] : undefined;
  const code = status === undefined ? codeByName(name) : (CODE_BY_STATUS[status] ?? 'UPSTREAM_REJECTED');
  const clean = (value: unknown): string | undefined =>
    typeof value === 'string' && value !== '' ? redact(value, context.secrets).slice(0, 500) : undefined;
  const message = clean(reply['message']);
  const detail = clean(reply['detail']);
  const details: Record<string, unknown> = { vendorError: name, command: context.command };
  if (status !== undefined) details['vendorCode'] = status;
  if (detail) details['vendorDetail'] = detail;
  if (typeof reply['run_id'] === 'string' && reply['run_id']) details['runId'] = reply['run_id'];
  if (typeof reply['restore_id'] === 'string' && reply['restore_id']) details['restoreId'] = reply['restore_id'];
  const label = status === undefined ? name : `${status} ${name}`;
  return new GatewayError(code, `${UPSTREAM} rejected ${context.command} (${label})${message ? `: ${message}` : ''}`, {
    source: context.source,
    status,
    details,
  });
}

// ---------------------------------------------------------------------------------------------
// Transports

interface TransportOptions {
  source: string;
  connectMs: number;
  maxReceiveBytes: number;
  tls: ScaleTradeTls | undefined;
}

function parseUrl(url: string, source: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new GatewayError('BAD_USER_INPUT', 'ScaleTrade url is not a valid URL', { source });
  }
  if (!['tcp:', 'ws:', 'wss:'].includes(parsed.protocol) || !parsed.hostname || (parsed.protocol === 'tcp:' && !parsed.port)) {
    throw new GatewayError('BAD_USER_INPUT', 'ScaleTrade url must be tcp://host:port or ws(s)://host:port/path', { source });
  }
  return parsed;
}

function connectFailure(source: string, error: unknown): GatewayError {
  const code = (error as { code?: string } | null)?.code;
  const reason = code === 'ECONNREFUSED' ? 'refused the connection' : code === 'ENOTFOUND' ? 'host was not found' : 'could not be reached';
  return new GatewayError('UPSTREAM_UNAVAILABLE', `${UPSTREAM} ${reason}${code ? ` (${code})` : ''}`, { source, cause: error });
}

function connectTimeout(source: string, ms: number): GatewayError {
  return new GatewayError('UPSTREAM_TIMEOUT', `${UPSTREAM} did not accept the connection within ${ms} ms`, { source });
}

function overflow(source: string, limit: number): GatewayError {
  return new GatewayError('UPSTREAM_BAD_RESPONSE', `${UPSTREAM} sent a message larger than ${limit} bytes; the connection was dropped`, { source });
}

function openTcpTransport(url: URL, options: TransportOptions, handlers: TransportHandlers): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connectTcp({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) });
    socket.setNoDelay(true);
    const decoder = new LineDecoder(options.maxReceiveBytes);
    let open = false;
    let fatal: GatewayError | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(connectTimeout(options.source, options.connectMs));
    }, options.connectMs);
    timer.unref();
    socket.once('connect', () => {
      clearTimeout(timer);
      open = true;
      resolve({
        send: (text) => {
          if (socket.destroyed || !socket.writable) throw new Error('socket is not writable');
          socket.write(text + '\r\n');
        },
        close: () => socket.destroy(),
      });
    });
    socket.on('data', (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = decoder.push(chunk);
      } catch (error) {
        if (!(error instanceof FrameOverflowError)) throw error;
        fatal = overflow(options.source, error.limit);
        socket.destroy();
        return;
      }
      for (const line of lines) handlers.message(line);
    });
    socket.on('error', (error) => {
      if (!open) {
        clearTimeout(timer);
        reject(connectFailure(options.source, error));
      } else fatal ??= new GatewayError('UPSTREAM_UNAVAILABLE', `${UPSTREAM} connection failed`, { source: options.source, cause: error });
    });
    socket.on('close', () => {
      if (open) handlers.closed(fatal);
    });
  });
}

function openWsTransport(url: URL, options: TransportOptions, handlers: TransportHandlers): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      handshakeTimeout: options.connectMs,
      maxPayload: options.maxReceiveBytes,
      perMessageDeflate: false,
      ...(url.protocol === 'wss:' ? options.tls : {}),
    });
    let open = false;
    let fatal: GatewayError | undefined;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(connectTimeout(options.source, options.connectMs));
    }, options.connectMs);
    timer.unref();
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      ws.terminate();
      reject(new GatewayError('UPSTREAM_UNAVAILABLE', `${UPSTREAM} refused the WebSocket upgrade (${res.statusCode})`, {
        source: options.source,
        status: res.statusCode,
      }));
    });
    ws.once('open', () => {
      clearTimeout(timer);
      open = true;
      resolve({
        send: (text) => {
          if (ws.readyState !== WebSocket.OPEN) throw new Error('websocket is not open');
          ws.send(text);
        },
        close: () => ws.terminate(),
      });
    });
    ws.on('message', (data) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      const text = bytes.toString('utf8');
      // One JSON message per frame; a sender that still appends CRLF is tolerated.
      handlers.message(text.endsWith('\r\n') ? text.slice(0, -2) : text);
    });
    ws.on('error', (error) => {
      const code = (error as { code?: string }).code;
      if (!open) {
        clearTimeout(timer);
        reject(/timed out/i.test(error.message) ? connectTimeout(options.source, options.connectMs) : connectFailure(options.source, error));
      } else if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') fatal ??= overflow(options.source, options.maxReceiveBytes);
      else fatal ??= new GatewayError('UPSTREAM_UNAVAILABLE', `${UPSTREAM} connection failed`, { source: options.source, cause: error });
    });
    ws.on('close', () => {
      if (open) handlers.closed(fatal);
    });
  });
}

/** Convenience for `ScaleTradeConnection.open`. */
export function openScaleTradeConnection(options: ScaleTradeConnectionOptions): Promise<ScaleTradeConnection> {
  return ScaleTradeConnection.open(options);
}
