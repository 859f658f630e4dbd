/**
 * `npm run bench`: figures, no thresholds. Three processes on this machine: the Aiven simulator
 * (child, realtime clock, demoScenario()), one gateway (child, createGateway on 127.0.0.1) and the
 * load / subscription client (this process). Every byte goes over loopback.
 *
 *   a. services query: closed-loop load at fixed concurrency through the gateway, then the same data
 *      straight from the simulator; overhead ratio.
 *   b. issue 3: 1,000 and 10,000 graphql-ws subscriptions and 1,000 SSE subscriptions to ONE
 *      operationUpdated(id): upstream calls per poll interval, gateway memory per subscription,
 *      delay from the simulator's answer to the client's receipt.
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { request } from 'undici';
import { advanceToRestoreOffset } from './scenario.js';
import { startChild, type Child } from './ipc.js';
import { runLoad, type LoadResult } from './load.js';
import { fmt, percentile, sleep } from './stats.js';
import { subscribeSse, subscribeWs, type Subscribers } from './subscriptions.js';

const TOKEN = randomBytes(18).toString('base64url');
const SOURCE = 'aiven-bench';
const PROJECT = 'acme-prod';
const SERVICES_PATH = `/v1/project/${PROJECT}/service`;
const CONCURRENCY = 16;
const WARMUP_MS = 1_000;
const DURATION_MS = 5_000;
const POLL_MS = 1_000; // the gateway's activeMs (gateway-process.ts)
const WINDOW_MS = 10_000;
/**
 * pg-orders-2 (demoScenario) is in basebackup from 16 s to 52 s of its restore: start 17 s in.
 * The demo now starts restores mid-run (negative startAfterMs) and loops them, so the advance that
 * lands 17 s into a run is derived from the scenario rather than fixed.
 */
const ADVANCE_MS = advanceToRestoreOffset('acme-prod', 'pg-orders', 'pg-orders-2', 17_000);
/** BENCH_PROFILE=DIR: the gateway children write V8 CPU profiles (--cpu-prof) into DIR. */
const PROFILE_DIR = process.env['BENCH_PROFILE'];

const SERVICES_QUERY = `query Bench($source: String!, $project: String) {
  aiven(source: $source) {
    services(project: $project) {
      edges { node { name state nodes { name state phases { phase current max } } } }
    }
  }
}`;


const t0 = Date.now();
const log = (line = '') => console.log(line);
const summary: string[] = [];

async function startPair(advanceMs: number): Promise<{ sim: Child; gw: Child; close(): Promise<void> }> {
  const sim = await startChild('./sim-process.ts', { BENCH_TOKEN: TOKEN, BENCH_SIM_ADVANCE_MS: String(advanceMs) }, 'simulator');
  const profile = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const gw = await startChild('./gateway-process.ts', { BENCH_TOKEN: TOKEN, BENCH_SIM_URL: sim.ready['url'], BENCH_SOURCE: SOURCE }, 'gateway', profile);
  return {
    sim,
    gw,
    async close() {
      await gw.stop();
      await sim.stop();
    },
  };
}

async function gql(url: string, query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const response = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query, variables }),
  });
  return response.body.json();
}

async function upstreamAt(sim: Child, from: number, to: number): Promise<number[]> {
  return (await sim.call<{ at: number[] }>('requests', { method: 'GET', prefix: SERVICES_PATH, from, to })).at;
}

/** CPU time (µs) of the simulator, the gateway and this client process. */
async function cpuNow(pair: { sim: Child; gw: Child }): Promise<{ at: number; sim: number; gw: number; client: number }> {
  const [sim, gw] = await Promise.all([pair.sim.call<{ micros: number }>('cpu'), pair.gw.call<{ micros: number }>('cpu')]);
  const own = process.cpuUsage();
  return { at: performance.now(), sim: sim.micros, gw: gw.micros, client: own.user + own.system };
}
type Cpu = Awaited<ReturnType<typeof cpuNow>>;
/** Busy share of one core per process between two readings, e.g. "gateway 97%". */
function cpuLine(a: Cpu, b: Cpu): string {
  const wall = (b.at - a.at) * 1000;
  const pct = (x: number) => `${fmt((100 * x) / wall, 0)}%`;
  return `CPU (share of one core): gateway ${pct(b.gw - a.gw)}, simulator ${pct(b.sim - a.sim)}, client ${pct(b.client - a.client)}`;
}

function loadLine(name: string, r: LoadResult): string {
  return `${name.padEnd(34)} ${fmt(r.rps, 0).padStart(7)} req/s   p50 ${fmt(r.p50, 2).padStart(7)} ms   p90 ${fmt(r.p90, 2).padStart(7)} ms   p99 ${fmt(r.p99, 2).padStart(7)} ms   max ${fmt(r.max, 1).padStart(6)} ms   (${r.requests} requests, ${r.errors} errors)`;
}

// ------------------------------------------------------------------------------------------------
log('backupgraph benchmark');
log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), ${new Date().toISOString()}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
log('processes: simulator (child) + gateway (child) + client (this process), all on 127.0.0.1');
log();

// --- a. services query ---------------------------------------------------------------------------
{
  log(`== a. services query: ${CONCURRENCY} in flight, closed loop, ${WARMUP_MS / 1000} s warm-up + ${DURATION_MS / 1000} s measured, keep-alive (undici Agent, ${CONCURRENCY} connections)`);
  const pair = await startPair(0);
  try {
    const url: string = pair.gw.ready['url'];
    const variables = { source: SOURCE, project: PROJECT };
    const sample = await gql(url, SERVICES_QUERY, variables);
    if (sample.errors) throw new Error(`services query failed: ${JSON.stringify(sample.errors)}`);
    log(`query: aiven(source: "${SOURCE}") { services(project: "${PROJECT}") { edges { node { name state nodes { name state phases { phase current max } } } } } } → ${sample.data.aiven.services.edges.length} services`);
    let cpuFrom: Promise<Cpu> | undefined;
    const viaGateway = await runLoad({
      onMeasureStart: () => (cpuFrom = cpuNow(pair)),
      url,
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query: SERVICES_QUERY, variables }),
      concurrency: CONCURRENCY,
      warmupMs: WARMUP_MS,
      durationMs: DURATION_MS,
      check: (_status, body) => !('errors' in JSON.parse(body)),
    });
    const gatewayCpu = cpuLine(await cpuFrom!, await cpuNow(pair));
    const upstream = (await upstreamAt(pair.sim, viaGateway.from, viaGateway.to)).length;
    const direct = await runLoad({
      onMeasureStart: () => (cpuFrom = cpuNow(pair)),
      url: `${pair.sim.ready['url']}${SERVICES_PATH}`,
      method: 'GET',
      headers: { authorization: `aivenv1 ${TOKEN}` },
      concurrency: CONCURRENCY,
      warmupMs: WARMUP_MS,
      durationMs: DURATION_MS,
      check: (_status, body) => Array.isArray(JSON.parse(body).services),
    });
    const directCpu = cpuLine(await cpuFrom!, await cpuNow(pair));
    const lines = [
      loadLine('gateway  POST /graphql', viaGateway),
      `   ${gatewayCpu}`,
      loadLine(`simulator GET ${SERVICES_PATH}`, direct),
      `   ${directCpu}`,
      `upstream calls per gateway query: ${fmt(upstream / Math.max(1, viaGateway.requests), 2)} (${upstream} simulator GETs during the measured window)`,
      `overhead: throughput direct/gateway ${fmt(direct.rps / viaGateway.rps, 2)}x, p50 gateway/direct ${fmt(viaGateway.p50 / direct.p50, 2)}x, p99 gateway/direct ${fmt(viaGateway.p99 / direct.p99, 2)}x`,
    ];
    for (const line of lines) log(line);
    summary.push('a. services query', ...lines.map((l) => `   ${l}`));
  } finally {
    await pair.close();
  }
  log();
}

// --- b. subscriptions ----------------------------------------------------------------------------
interface Scenario {
  label: string;
  count: number;
  start(url: string, id: string): Subscribers;
}
const scenarios: Scenario[] = [
  { label: 'graphql-ws x 1,000', count: 1_000, start: (url, id) => subscribeWs(url, id, 1_000, 10) },
  { label: 'graphql-ws x 10,000', count: 10_000, start: (url, id) => subscribeWs(url, id, 10_000, 20) },
  { label: 'SSE x 1,000', count: 1_000, start: (url, id) => subscribeSse(url, id, 1_000) },
];

log(`== b. subscriptions to ONE operationUpdated(id) (pg-orders-2's NodeRestore, in basebackup); gateway poll activeMs ${POLL_MS} ms; measured window ${WINDOW_MS / 1000} s`);
log('delay = client receipt time - arrival at the simulator of the poll request whose answer carried the change');
log('        (the simulator answers synchronously in that tick; each event is matched to its poll by its updatedAt,');
log('        the gateway clock when that poll was observed: the last poll that reached the simulator before it)');
log('memory = gateway child process.memoryUsage() after a forced GC: before subscribing, once all are subscribed, and after the window');
for (const scenario of scenarios) {
  const pair = await startPair(ADVANCE_MS);
  let subs: Subscribers | undefined;
  try {
    const url: string = pair.gw.ready['url'];
    const found = await gql(url, `query($source: String!, $project: String) { aiven(source: $source) { services(project: $project) { edges { node { name nodes { name restore { id status } } } } } } }`, { source: SOURCE, project: PROJECT });
    const pg = found.data?.aiven?.services.edges.find((e: any) => e.node.name === 'pg-orders');
    const restore = pg?.node.nodes.find((n: any) => n.name === 'pg-orders-2')?.restore;
    if (!restore?.id) throw new Error(`no restore id for pg-orders-2: ${JSON.stringify(found).slice(0, 500)}`);
    // NodeRestore ids are per run: [source, project, service, node, startedAt (when the gateway first saw it)].
    const expectedKey = JSON.stringify([SOURCE, PROJECT, 'pg-orders', 'pg-orders-2']).slice(0, -1);
    const decoded = Buffer.from(restore.id, 'base64url').toString('utf8');
    if (!decoded.startsWith(`NodeRestore:${expectedKey},`)) log(`note: restore id ${restore.id} (${decoded}) is not a run of ${expectedKey}]`);
    const id: string = restore.id;

    const before = (await pair.gw.call<{ memory: NodeJS.MemoryUsage }>('memory')).memory;
    const subscribeStart = Date.now();
    subs = scenario.start(url, id);
    const received = subs.received;
    const deadline = Date.now() + 90_000;
    while (received.started < scenario.count && Date.now() < deadline && received.completed === 0) await sleep(25);
    const setupMs = Date.now() - subscribeStart;
    log();
    log(`-- ${scenario.label}: ${subs.describe}`);
    log(`   restore ${id} (${restore.status}); ${received.started}/${scenario.count} subscriptions got their first event ${setupMs} ms after the first subscribe`);
    if (received.errors.length) log(`   errors: ${received.errors.join(' | ').slice(0, 1000)}`);
    if (received.started < scenario.count) throw new Error(`only ${received.started} of ${scenario.count} subscriptions started`);

    const established = (await pair.gw.call<{ memory: NodeJS.MemoryUsage }>('memory')).memory;
    const cpuFrom = await cpuNow(pair);
    const eventsBefore = received.at.length;
    const from = Date.now();
    await sleep(WINDOW_MS);
    const to = Date.now();
    let eventsInWindow = received.at.length - eventsBefore;
    while (eventsInWindow > 0 && received.at[eventsBefore + eventsInWindow - 1]! > to) eventsInWindow -= 1;
    const windowCpu = cpuLine(cpuFrom, await cpuNow(pair));
    const during = (await pair.gw.call<{ memory: NodeJS.MemoryUsage }>('memory')).memory;
    const polls = await upstreamAt(pair.sim, from - 5 * POLL_MS, Date.now());
    const pollsInWindow = polls.filter((t) => t >= from && t <= to).length;

    // Match every event received in the window to the poll that produced it: its updatedAt is the
    // gateway's clock when that poll's answer was observed, so the poll is the last one that reached
    // the simulator at or before updatedAt (the next one starts about a poll interval later).
    const sortedPolls = [...polls].sort((a, b) => a - b);
    const originFor = (updated: number): number | undefined => {
      let lo = 0;
      let hi = sortedPolls.length - 1;
      let found: number | undefined;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (sortedPolls[mid]! <= updated) {
          found = sortedPolls[mid];
          lo = mid + 1;
        } else hi = mid - 1;
      }
      return found;
    };
    const delays: number[] = [];
    const upstreamLeg: number[] = [];
    const fanoutLeg: number[] = [];
    const changeKeys = new Set<string>();
    const origins = new Set<number>();
    let unmatched = 0;
    for (let i = eventsBefore; i < eventsBefore + eventsInWindow; i++) {
      const updated = received.updated[i]!;
      const origin = Number.isFinite(updated) ? originFor(updated) : undefined;
      changeKeys.add(received.key[i]!);
      if (origin === undefined) {
        unmatched += 1;
        continue;
      }
      origins.add(origin);
      delays.push(received.at[i]! - origin);
      upstreamLeg.push(updated - origin);
      fanoutLeg.push(received.at[i]! - updated);
    }
    const changes = changeKeys.size;
    const mib = (bytes: number) => fmt(bytes / 2 ** 20, 1);
    const perSub = (a: number, b: number) => `${fmt((b - a) / scenario.count / 1024, 1)} KiB`;
    const lines = [
      `${scenario.label}: ${subs.describe}`,
      `   upstream: ${pollsInWindow} GET ${SERVICES_PATH} in ${fmt((to - from) / 1000, 1)} s = ${fmt(pollsInWindow / ((to - from) / POLL_MS), 2)} per ${POLL_MS} ms poll interval`,
      `   events: ${eventsInWindow} received in the window from ${changes} distinct changes = ${fmt(eventsInWindow / Math.max(1, changes * scenario.count), 3)} deliveries per (change x subscription)${unmatched ? `, ${unmatched} unmatched` : ''}`,
      `   delay (simulator answer -> client receipt): p50 ${fmt(percentile(delays, 50), 1)} ms, p99 ${fmt(percentile(delays, 99), 1)} ms, max ${fmt(percentile(delays, 100), 1)} ms (${delays.length} events from ${origins.size} polls)`,
      `     of which poll request at the simulator -> gateway observed it (updatedAt): p50 ${fmt(percentile(upstreamLeg, 50), 1)} ms, max ${fmt(percentile(upstreamLeg, 100), 1)} ms; updatedAt -> client receipt: p50 ${fmt(percentile(fanoutLeg, 50), 1)} ms, p99 ${fmt(percentile(fanoutLeg, 99), 1)} ms`,
      `   gateway memory (after GC): before subscribing RSS ${mib(before.rss)} MiB, heapUsed ${mib(before.heapUsed)} MiB`,
      `     all subscribed (before the window): RSS ${mib(established.rss)} MiB = ${perSub(before.rss, established.rss)} RSS per subscription; heapUsed ${mib(established.heapUsed)} MiB = ${perSub(before.heapUsed, established.heapUsed)} heap per subscription`,
      `     after the window (${changes} fan-outs later): RSS ${mib(during.rss)} MiB = ${perSub(before.rss, during.rss)} RSS per subscription; heapUsed ${mib(during.heapUsed)} MiB = ${perSub(before.heapUsed, during.heapUsed)}; heapTotal ${mib(during.heapTotal)} MiB; external ${mib(during.external)} MiB`,
      `   ${windowCpu} (measured window)`,
      `   setup: ${setupMs} ms until every subscription had its first event`,
    ];
    for (const line of lines.slice(1)) log(line);
    if (received.errors.length) log(`   errors seen: ${received.errors.join(' | ').slice(0, 1000)}`);
    if (received.completed) log(`   ${received.completed} subscriptions completed during the run`);
    summary.push(`b. ${lines[0]}`, ...lines.slice(1));
  } catch (error) {
    log(`   FAILED: ${error instanceof Error ? error.message : String(error)}`);
    summary.push(`b. ${scenario.label}: FAILED: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await subs?.close();
    await pair.close();
  }
}

log();
log('== summary');
for (const line of summary) log(line);
log(`total ${fmt((Date.now() - t0) / 1000, 1)} s`);
process.exit(0);
