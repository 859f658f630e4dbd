/**
 * The plumbing the HTTP upstream simulators (Aiven, Aerospike Backup Service, DocSpace) share:
 * a node:http server on an ephemeral port, the virtual clock, the request log, injected faults and
 * the timers those faults need. It decides how an answer gets on the wire, never what a vendor
 * answers: routes, auth checks and error bodies stay in each `src/sources/<vendor>/simulator.ts`
 * (see docs/upstreams/<vendor>.md), which is why the status fault's body is a vendor callback.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An answer computed once, then written at once or dripped; `content-length` is added on write. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type StatusFault<Body = unknown> = { kind: 'status'; status: number; body?: Body; retryAfterSeconds?: number };

export type HttpFault<StatusBody = unknown> =
  | StatusFault<StatusBody>
  | { kind: 'malformed-json' }
  /** A 200 (or the routed answer) whose body arrives one byte every `intervalMs`: a slow-loris upstream. */
  | { kind: 'drip'; intervalMs: number }
  /** The request is answered normally, `ms` later. */
  | { kind: 'hang'; ms: number }
  /** The socket is cut before any answer. */
  | { kind: 'drop' };

export interface RequestRecord {
  method: string;
  path: string;
  at: number;
}

/** What every HTTP simulator offers tests and worlds, besides its vendor extras. */
export interface SimulatedUpstream<Fault, Entry extends RequestRecord = RequestRecord> {
  url: string;
  advance(ms: number): void;
  now(): number;
  requests: ReadonlyArray<Entry>;
  /** `method` '*' matches any method. */
  countRequests(method: string, pathPrefix: string): number;
  resetRequests(): void;
  fail(fault: Fault, opts?: { count?: number; pathPrefix?: string }): void;
  clearFaults(): void;
  close(): Promise<void>;
}

export interface SimulatedHttpOptions {
  host?: string;
  port?: number;
  /** `manual`: time moves only by `advance`, so tests are exact. */
  clock?: 'realtime' | 'manual';
  /** Virtual epoch ms at start (default Date.now()). */
  startAt?: number;
}

export interface VirtualClock {
  startAt: number;
  now(): number;
  advance(ms: number): void;
}

export function virtualClock(opts: SimulatedHttpOptions): VirtualClock {
  const manual = opts.clock === 'manual';
  const realStart = Date.now();
  const startAt = opts.startAt ?? realStart;
  let offset = 0;
  return {
    startAt,
    now: () => startAt + offset + (manual ? 0 : Date.now() - realStart),
    advance(ms) {
      if (!(ms >= 0)) throw new RangeError('advance(ms) needs ms >= 0');
      offset += ms;
    },
  };
}

export interface SimulatedHttpSpec<StatusBody, Extra extends object> {
  host?: string | undefined;
  port?: number | undefined;
  clock: VirtualClock;
  /** The vendor's answer to a request no fault intercepts; a rejection answers an empty 500. */
  respond(req: IncomingMessage, url: URL): Promise<Reply>;
  /** Cut-off JSON in the vendor's shape, served as a 200 by the 'malformed-json' fault. */
  malformedJson: string;
  /** The vendor's reply to a 'status' fault (its own error body shape); Retry-After is added here. */
  statusReply(fault: StatusFault<StatusBody>): Reply;
  /** A fixed reply the 'drip' fault sends instead of the routed answer. */
  dripReply?: () => Reply;
  /** Vendor fields added to each request-log entry. */
  record?: (req: IncomingMessage) => Extra;
}

export async function startSimulatedHttp<StatusBody, Extra extends object = object>(
  spec: SimulatedHttpSpec<StatusBody, Extra>,
): Promise<SimulatedUpstream<HttpFault<StatusBody>, RequestRecord & Extra>> {
  const { now } = spec.clock;
  const requests: Array<RequestRecord & Extra> = [];
  let faults: Array<{ fault: HttpFault<StatusBody>; remaining: number; pathPrefix: string }> = [];
  // Tracked so close() leaves no timer behind (test/no-leak.test.ts).
  const timers = new Set<NodeJS.Timeout>();

  function later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timer.unref();
    timers.add(timer);
  }

  function drip(res: ServerResponse, reply: Reply, intervalMs: number): void {
    if (res.destroyed || res.headersSent) return;
    const bytes = Buffer.from(reply.body, 'utf8');
    res.writeHead(reply.status, { ...reply.headers, 'content-length': String(bytes.length) });
    let index = 0;
    const next = (): void => {
      if (res.destroyed) return;
      if (index >= bytes.length) return void res.end();
      res.write(bytes.subarray(index, index + 1));
      index += 1;
      if (index >= bytes.length) res.end();
      else later(intervalMs, next);
    };
    next();
  }

  /** The first fault whose prefix matches is used up by this request. */
  function takeFault(path: string): HttpFault<StatusBody> | undefined {
    const index = faults.findIndex((f) => path.startsWith(f.pathPrefix));
    const entry = index >= 0 ? faults[index] : undefined;
    if (!entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) faults.splice(index, 1);
    return entry.fault;
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const path = url.pathname;
    requests.push({ method: (req.method ?? 'GET').toUpperCase(), path, at: now(), ...spec.record?.(req) } as RequestRecord & Extra);
    const answer = (write: (reply: Reply) => void): void => {
      spec.respond(req, url).then(write, () => send(res, { status: 500, headers: {}, body: '' }));
    };
    const fault = takeFault(path);
    if (!fault) return answer((reply) => send(res, reply));
    switch (fault.kind) {
      case 'drop':
        req.socket.destroy();
        return;
      case 'malformed-json':
        return send(res, { status: 200, headers: { 'content-type': 'application/json' }, body: spec.malformedJson });
      case 'status': {
        const reply = spec.statusReply(fault);
        const retryAfter: Record<string, string> = fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
        return send(res, { ...reply, headers: { ...reply.headers, ...retryAfter } });
      }
      case 'hang':
        return later(fault.ms, () => {
          if (!req.socket.destroyed) answer((reply) => send(res, reply));
        });
      case 'drip':
        if (spec.dripReply) return drip(res, spec.dripReply(), fault.intervalMs);
        return answer((reply) => drip(res, reply, fault.intervalMs));
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(spec.port ?? 0, spec.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;

  return {
    url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`,
    now,
    advance: spec.clock.advance,
    requests,
    countRequests(method, pathPrefix) {
      const m = method.toUpperCase();
      return requests.filter((r) => (m === '*' || r.method === m) && r.path.startsWith(pathPrefix)).length;
    },
    resetRequests() {
      requests.length = 0;
    },
    fail(fault, o = {}) {
      faults.push({ fault, remaining: o.count ?? 1, pathPrefix: o.pathPrefix ?? '' });
    },
    clearFaults() {
      faults = [];
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(reply.status, { ...reply.headers, 'content-length': String(Buffer.byteLength(reply.body)) });
  res.end(reply.body);
}

export function jsonReply(status: number, body: unknown, contentType = 'application/json', headers: Record<string, string> = {}): Reply {
  return { status, headers: { 'content-type': contentType, ...headers }, body: JSON.stringify(body) };
}

export const emptyReply = (status: number): Reply => ({ status, headers: {}, body: '' });

/** The request body as text, refused with the vendor's `tooLarge()` error past 1 MiB. */
export function readBody(req: IncomingMessage, tooLarge: () => Error): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 1_048_576) reject(tooLarge());
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
