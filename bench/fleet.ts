/**
 * What bench/fan-out.ts and bench/cost.ts share: one simulator child (N Aiven nodes restoring at once,
 * optionally every other kind's demo simulator), one gateway child (as production runs it when
 * dist/ is built, see ipc.ts) with the shipped default limits, and graphql-ws client children with
 * one subscription per socket (bench/fan-out-clients.ts), at most PER_CLIENT_PROCESS sockets each.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatewayBuild, startChild, type Child } from './ipc.js';
import { fmt, percentile, sleep } from './stats.js';

export const PROJECT = 'acme-prod';
export const LISTING = `/v1/project/${PROJECT}/service`;
export const POLL_MS = 1_000;
/** The machine allows 20,000 open files per process: 9,000 sockets per client process leaves room. */
export const PER_CLIENT_PROCESS = 9_000;

/** Where bench/fan-out.ts leaves its one-operation window for bench/cost.ts (the 18,000-subscriber row). */
export const FAN_OUT_RESULT = join(tmpdir(), 'backupgraph-bench-fan-out.json');

export interface FleetOptions {
  /** Aiven nodes restoring at once (restoringScenario). */
  restoring: number;
  /** Aiven sources, all on the same simulator and project (default 1): each tracks the same restores. */
  aivenSources?: number;
  /** Also every other kind's demo simulator, one source each. */
  otherKinds?: boolean;
}

export interface Fleet {
  sim: Child;
  gateway: Child;
  url: string;
  sourceCount: number;
  /** How the gateway child runs (dist/ on node, or src/ through tsx). */
  build: string;
  close(): Promise<void>;
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const token = randomBytes(18).toString('base64url');
  const count = options.aivenSources ?? 1;
  const sim = await startChild('./sim-process.ts', { BENCH_TOKEN: token, BENCH_SIM_RESTORING: String(options.restoring), ...(options.otherKinds ? { BENCH_SIM_OTHER_KINDS: '1' } : {}) }, 'simulator');
  const aiven = Array.from({ length: count }, (_, i) => ({
    name: count === 1 ? 'aiven-bench' : `aiven-bench-${String(i + 1).padStart(3, '0')}`,
    kind: 'aiven',
    baseUrl: sim.ready['url'],
    token,
    projects: [PROJECT],
    poll: { activeMs: POLL_MS, idleMs: 5_000 },
  }));
  const sources = [...aiven, ...(sim.ready['sources'] as unknown[])];
  const build = gatewayBuild();
  let gateway: Child;
  try {
    gateway = await startChild('./gateway-process.ts', { ...build.env, BENCH_GATEWAY_SOURCES: JSON.stringify(sources), BENCH_GATEWAY_LIMITS: 'default' }, 'gateway', build.execArgv, build.runtime);
  } catch (error) {
    await sim.stop();
    throw error;
  }
  return {
    sim,
    gateway,
    url: gateway.ready['url'],
    sourceCount: sources.length,
    build: build.describe,
    async close() {
      await gateway.stop();
      await sim.stop();
    },
  };
}

export interface ActiveOperation {
  id: string;
  kind: string;
  source: string;
}

/** The operations in flight, once at least `atLeast` are listed (bounded wait). */
export async function activeOperations(url: string, atLeast: number): Promise<ActiveOperation[]> {
  const query = '{ operations(filter: { active: true }, first: 500) { edges { node { id kind source { name kind } } } } }';
  let found: ActiveOperation[] = [];
  for (let attempt = 0; attempt < 60; attempt++) {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    const body = (await response.json()) as { data?: { operations: { edges: Array<{ node: { id: string; kind: string; source: { name: string; kind: string } } }> } }; errors?: unknown };
    found = (body.data?.operations.edges ?? []).map((e) => ({ id: e.node.id, kind: e.node.kind, source: e.node.source.kind }));
    if (found.length >= atLeast) return found;
    await sleep(500);
  }
  throw new Error(`expected at least ${atLeast} operations in flight, found ${found.length}`);
}

/** operationUpdated(id) of one operation, or operationsChanged(filter: { active: true }): every source's feeds. */
export type Subscription = 'operationUpdated' | 'operationsChanged';

export interface ClientStatus {
  open: number;
  started: number;
  events: number;
  errors: string[];
  closedEarly: number;
}

/** `count` subscribers, one socket each, over as many client processes as needed; waits until each had a first event. */
export async function subscribe(url: string, ids: string[], count: number, log: (line: string) => void, subscription: Subscription = 'operationUpdated'): Promise<{ clients: Child[]; setupMs: number; status: ClientStatus[] }> {
  const clients: Child[] = [];
  const start = Date.now();
  for (let offset = 0; offset < count; offset += PER_CLIENT_PROCESS) {
    const share = Math.min(PER_CLIENT_PROCESS, count - offset);
    const client = await startChild('./fan-out-clients.ts', {}, `clients-${clients.length + 1}`, [], 'node');
    clients.push(client);
    // Each process starts at its own offset in `ids`, so that subscribers spread evenly.
    const rotated = [...ids.slice(offset % ids.length), ...ids.slice(0, offset % ids.length)];
    await client.call('subscribe', { url, ids: rotated, count: share, parallel: 100, subscription });
  }
  const wanted = clients.map((_, i) => Math.min(PER_CLIENT_PROCESS, count - i * PER_CLIENT_PROCESS));
  let status: ClientStatus[] = [];
  let lastLog = Date.now();
  for (const deadline = Date.now() + 240_000; Date.now() < deadline; ) {
    status = await Promise.all(clients.map((c) => c.call<ClientStatus>('status')));
    // Done, or every socket either started or was closed by the gateway.
    if (status.every((s, i) => s.started + s.closedEarly >= wanted[i]!)) break;
    if (Date.now() - lastLog > 10_000) {
      lastLog = Date.now();
      log(`   … ${status.reduce((n, s) => n + s.open, 0)} sockets open, ${status.reduce((n, s) => n + s.started, 0)} subscriptions with a first event`);
    }
    await sleep(250);
  }
  return { clients, setupMs: Date.now() - start, status };
}

export interface Window {
  seconds: number;
  /** Share of one core, in %. */
  gatewayCpu: number;
  upstreamPerInterval: number;
  delays: number[];
  rss: number;
}

/** A measured window: gateway CPU, listing calls per poll interval, and the clients' delays. */
export async function measureWindow(fleet: Fleet, clients: Child[], ms: number): Promise<Window> {
  await Promise.all(clients.map((c) => c.call('mark')));
  const cpuFrom = await fleet.gateway.call<{ micros: number }>('cpu');
  const from = Date.now();
  const t0 = performance.now();
  await sleep(ms);
  const cpuTo = await fleet.gateway.call<{ micros: number }>('cpu');
  const wall = performance.now() - t0;
  const to = Date.now();
  const rss = (await fleet.gateway.call<{ rss: number }>('rss')).rss;
  const calls = (await fleet.sim.call<{ at: number[] }>('requests', { method: 'GET', prefix: LISTING, from, to })).at.length;
  const delays = (await Promise.all(clients.map((c) => c.call<{ delays: number[] }>('delays', { to })))).flatMap((d) => d.delays);
  return {
    seconds: wall / 1000,
    gatewayCpu: (100 * (cpuTo.micros - cpuFrom.micros)) / (wall * 1000),
    upstreamPerInterval: calls / (wall / POLL_MS),
    delays,
    rss,
  };
}

export const mib = (bytes: number) => fmt(bytes / 2 ** 20, 0);
export const p = (values: number[], at: number) => fmt(percentile(values, at), 0);
