/**
 * `npm run bench` (part): what the gateway costs compared with a plain GraphQL server (issue 12).
 * One Aiven simulator (child, realtime demoScenario()), and side by side in one run the same data
 * three ways, each with the closed-loop load of bench/load.ts:
 *   direct   GET /v1/project/acme-prod/service on the simulator
 *   yoga     a plain graphql-yoga server forwarding to the simulator (bench/baseline-process.ts)
 *   gateway  backupgraph (bench/gateway-process.ts, the shipped default limits)
 * Figures, no thresholds: throughput at 50 connections and its share of direct; server CPU per
 * request at 1 connection (process.cpuUsage() of the serving child over the measured window divided
 * by its requests); p50 added to the direct call at 1 connection; RSS idle and its peak under the
 * 50-connection load (sampled every 500 ms).
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { directRequest, graphqlRequest, SERVICES_PATH, type ComparedRequest } from './compared-query.js';
import { gatewayBuild, startChild, type Child } from './ipc.js';
import { runLoad, type LoadResult } from './load.js';
import { fmt, sleep } from './stats.js';

const TOKEN = randomBytes(18).toString('base64url');
const WARMUP_MS = 1_000;
const DURATION_MS = 5_000;
const MANY = 50;
const SAMPLE_MS = 500;
const IDLE_MS = 12_000;

const log = (line = '') => console.log(line);
const mib = (bytes: number) => fmt(bytes / 2 ** 20, 0);
const build = gatewayBuild();

log('== baseline: direct REST vs a plain graphql-yoga server vs the gateway (same query, same simulator)');
log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), ${new Date().toISOString()}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
log(`gateway and yoga children: ${build.describe}`);

const sim = await startChild('./sim-process.ts', { BENCH_TOKEN: TOKEN }, 'simulator');
const simUrl: string = sim.ready['url'];
// Both GraphQL servers run with production's Node flags (build.execArgv), to compare like with like.
const yoga = await startChild('./baseline-process.ts', { BENCH_TOKEN: TOKEN, BENCH_SIM_URL: simUrl }, 'yoga', build.execArgv, build.runtime);
const gateway = await startChild(
  './gateway-process.ts',
  { ...build.env, BENCH_TOKEN: TOKEN, BENCH_SIM_URL: simUrl, BENCH_SOURCE: 'aiven-bench', BENCH_GATEWAY_LIMITS: 'default' },
  'gateway',
  // BENCH_PROFILE=DIR: the gateway child writes a V8 CPU profile (--cpu-prof) into DIR.
  [...build.execArgv, ...(process.env['BENCH_PROFILE'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROFILE']}`] : [])],
  build.runtime,
);

interface Target extends ComparedRequest {
  name: string;
  /** The child that serves this target's requests (its CPU and RSS are the figures). */
  server: Child;
  url: string;
}
const targets: Target[] = [
  { name: 'direct REST (simulator)', server: sim, url: `${simUrl}${SERVICES_PATH}`, ...directRequest(TOKEN) },
  { name: 'plain graphql-yoga', server: yoga, url: yoga.ready['url'], ...graphqlRequest },
  { name: 'gateway', server: gateway, url: gateway.ready['url'], ...graphqlRequest },
];

interface Row {
  target: Target;
  idleRss: number;
  /** The idle RSS's anonymous and file-backed parts (Linux). */
  idleParts: { anon: number; file: number };
  many: LoadResult;
  peakRss: number;
  /** V8's young and old generation (size / used) in the sample with the highest RSS. */
  peakHeap: string;
  /** IDLE_MS after the load. */
  afterRss: number;
  one: LoadResult;
  cpuPerRequestUs: number;
  simCpuPerRequestUs: number;
  /** Upstream listing calls per request at 1 and at 50 connections (the gateway shares concurrent identical calls). */
  upstreamPerRequest: number;
  upstreamPerRequestMany: number;
}

interface HeapSample {
  usage: NodeJS.MemoryUsage;
  spaces: { name: string; size: number; used: number }[];
}

const cpuOf = async (child: Child) => (await child.call<{ micros: number }>('cpu')).micros;
const rssOf = async (child: Child) => (await child.call<{ rss: number }>('rss')).rss;

async function measure(target: Target): Promise<Row> {
  const first = await fetch(target.url, { method: target.method, headers: target.headers, ...(target.body ? { body: target.body } : {}) });
  const text = await first.text();
  if (!target.check(text)) throw new Error(`${target.name}: unexpected answer ${text.slice(0, 300)}`);
  // Idle long enough for the gateway's first look for memory to release (release-memory.ts, every 5 s).
  await sleep(IDLE_MS);
  const idleRss = await rssOf(target.server);
  const idleParts = await target.server.call<{ anon: number; file: number }>('rssParts');
  const spec = { url: target.url, method: target.method, headers: target.headers, ...(target.body ? { body: target.body } : {}), warmupMs: WARMUP_MS, durationMs: DURATION_MS, check: (_s: number, b: string) => target.check(b) };

  // 50 connections, RSS sampled every 500 ms over warm-up and window.
  let peakRss = idleRss;
  let peakHeap = 'n/a';
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const { usage, spaces } = await target.server.call<HeapSample>('heap');
      if (usage.rss > peakRss) {
        peakRss = usage.rss;
        const space = (name: string) => spaces.find((s) => s.name === name);
        peakHeap = ['new_space', 'old_space'].map((name) => `${name.replace('_space', '')} ${mib(space(name)?.size ?? 0)}/${mib(space(name)?.used ?? 0)}`).join(', ');
      }
      await sleep(SAMPLE_MS);
    }
  })();
  const many = await runLoad({ ...spec, concurrency: MANY });
  sampling = false;
  await sampler;

  // 1 connection: CPU of the serving child (and of the simulator behind it) across the measured window.
  let cpuFrom: Promise<[number, number]> | undefined;
  const one = await runLoad({ ...spec, concurrency: 1, onMeasureStart: () => (cpuFrom = Promise.all([cpuOf(target.server), cpuOf(sim)])) });
  const [serverTo, simTo] = await Promise.all([cpuOf(target.server), cpuOf(sim)]);
  const [serverFrom, simFrom] = await cpuFrom!;
  await sleep(IDLE_MS);
  const afterRss = await rssOf(target.server);
  const upstreamCalls = async (r: LoadResult) => (target.server === sim ? r.requests : (await sim.call<{ at: number[] }>('requests', { method: 'GET', prefix: SERVICES_PATH, from: r.from, to: r.to })).at.length);
  return {
    target,
    idleRss,
    idleParts,
    many,
    peakRss,
    peakHeap,
    afterRss,
    one,
    cpuPerRequestUs: (serverTo - serverFrom) / Math.max(1, one.requests),
    simCpuPerRequestUs: target.server === sim ? 0 : (simTo - simFrom) / Math.max(1, one.requests),
    upstreamPerRequest: (await upstreamCalls(one)) / Math.max(1, one.requests),
    upstreamPerRequestMany: (await upstreamCalls(many)) / Math.max(1, many.requests),
  };
}

const rows: Row[] = [];
try {
  for (const target of targets) {
    rows.push(await measure(target));
    const r = rows.at(-1)!;
    log(`${target.name}: ${fmt(r.many.rps, 0)} req/s at ${MANY} (p50 ${fmt(r.many.p50, 2)} ms, p99 ${fmt(r.many.p99, 2)} ms, ${r.many.errors} errors); at 1: ${fmt(r.one.rps, 0)} req/s, p50 ${fmt(r.one.p50, 3)} ms, p99 ${fmt(r.one.p99, 3)} ms, server CPU ${fmt(r.cpuPerRequestUs, 0)} µs/request${r.simCpuPerRequestUs ? ` + simulator ${fmt(r.simCpuPerRequestUs, 0)} µs` : ''}, upstream calls/request ${fmt(r.upstreamPerRequest, 2)} (at ${MANY}: ${fmt(r.upstreamPerRequestMany, 2)}); RSS idle ${mib(r.idleRss)} MiB (${mib(r.idleParts.anon)} anonymous + ${mib(r.idleParts.file)} file-backed), peak ${mib(r.peakRss)} MiB (V8 heap at the peak, size/used MiB: ${r.peakHeap}), ${IDLE_MS / 1000} s after ${mib(r.afterRss)} MiB`);
  }
} finally {
  await gateway.stop();
  await yoga.stop();
  await sim.stop();
}

const direct = rows[0]!;
log();
log(`Same query, ${MANY} connections and 1 connection (closed loop, ${WARMUP_MS / 1000} s warm-up + ${DURATION_MS / 1000} s each); servers: ${build.describe}`);
log(`| target | req/s at ${MANY} conn. | share of direct | server CPU / request at 1 conn. | p50 at 1 conn. | p50 added to direct | upstream calls / request at 1 / ${MANY} conn. | RSS idle (anonymous + file-backed) | RSS peak at ${MANY} conn. | RSS ${IDLE_MS / 1000} s after the load |`);
log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  const added = r === direct ? '—' : `+${fmt(r.one.p50 - direct.one.p50, 2)} ms`;
  log(`| ${r.target.name} | ${fmt(r.many.rps, 0)} | ${fmt((100 * r.many.rps) / direct.many.rps, 0)} % | ${fmt(r.cpuPerRequestUs, 0)} µs | ${fmt(r.one.p50, 2)} ms | ${added} | ${r === direct ? '—' : `${fmt(r.upstreamPerRequest, 2)} / ${fmt(r.upstreamPerRequestMany, 2)}`} | ${mib(r.idleRss)} MiB (${mib(r.idleParts.anon)} + ${mib(r.idleParts.file)}) | ${mib(r.peakRss)} MiB | ${mib(r.afterRss)} MiB |`);
}
process.exit(0);
