/**
 * `npm run bench` (part): instructions per request (issue 12), the steady counterpart of
 * bench/baseline.ts's "server CPU per request". CPU time on these shared 2-vCPU machines varies by
 * half from run to run with what else the machine does; callgrind counts the instructions a process
 * executes (every thread: JIT code, GC, compiler), which varies by about a tenth (V8 still tiers up
 * code and sizes its heap by wall-clock time, and callgrind slows it fifty-fold). This VM has no
 * hardware counters (`perf` has only software events), so valgrind it is.
 *
 * The same query as bench/baseline.ts, three ways; the server under measurement runs under
 * `valgrind --tool=callgrind` (about fifty times slower), everything else natively:
 *   direct   GET of the listing on the Aiven simulator (the simulator itself under callgrind)
 *   yoga     the plain graphql-yoga server of bench/baseline-process.ts
 *   gateway  backupgraph (bench/gateway-process.ts, the shipped default limits)
 *   gateway, listing unchanged: the same, with the simulator's clock standing still, so that no
 *            call finds a change to record or publish (as with vendors whose figures move every
 *            few seconds), against the realtime simulator whose restores move between any two calls
 * One connection, WARMUP requests (so that the hot code is optimised), counters zeroed, MEASURED
 * requests, counters dumped: instructions per request = the dump's total / MEASURED. Before them,
 * IDLE_MS with no request is counted too (timers, pollers: what the window holds besides the
 * requests), and printed, not subtracted.
 * Env: BENCH_INSTRUCTIONS=0 skips this part (no valgrind); BENCH_INSTRUCTIONS_ONLY=gateway (or
 * direct, yoga, unchanged; comma-separated) measures only those; BENCH_INSTRUCTIONS_WARMUP / _REQUESTS;
 * BENCH_INSTRUCTIONS_KEEP=DIR keeps the dumps.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { directRequest, graphqlRequest, SERVICES_PATH, type ComparedRequest } from './compared-query.js';
import { gatewayBuild, startChild, type Child } from './ipc.js';
import { fmt, sleep } from './stats.js';

const run = promisify(execFile);
const TOKEN = randomBytes(18).toString('base64url');
const WARMUP = Number(process.env['BENCH_INSTRUCTIONS_WARMUP'] ?? 1_500);
const SETTLE_MS = 2_000;
const IDLE_MS = 5_000;
const MEASURED = Number(process.env['BENCH_INSTRUCTIONS_REQUESTS'] ?? 300);
// BENCH_INSTRUCTIONS_KEEP=DIR: keep each dump there, for callgrind_annotate (native code by name; JIT code is anonymous).
const KEEP = process.env['BENCH_INSTRUCTIONS_KEEP'];
const ONLY = (process.env['BENCH_INSTRUCTIONS_ONLY'] ?? 'direct,yoga,gateway,unchanged').split(',');
const log = (line = '') => console.log(line);

if (process.env['BENCH_INSTRUCTIONS'] === '0') {
  log('== instructions per request: skipped (BENCH_INSTRUCTIONS=0)');
  process.exit(0);
}
try {
  await run('valgrind', ['--version']);
} catch {
  log('== instructions per request: skipped (no valgrind on this machine)');
  process.exit(0);
}

const build = gatewayBuild();
const dir = await mkdtemp(join(tmpdir(), 'backupgraph-callgrind-'));
const callgrind = (name: string) => [
  'valgrind',
  '--quiet',
  '--tool=callgrind',
  // V8 writes and rewrites machine code at run time.
  '--smc-check=all-non-file',
  '--dump-line=no',
  '--compress-strings=no',
  `--callgrind-out-file=${join(dir, `${name}.%p`)}`,
];
// Start-up under callgrind takes a minute or more on these machines.
const underCallgrind = (name: string) => ({ wrapper: callgrind(name), readyTimeoutMs: 300_000 });
// Collections that wall-clock timers start (V8's memory reducer, the gateway's idle release) land in
// a different window on every run under callgrind's fifty-fold slowdown: off, in every measured server.
// (--predictable, V8's single-threaded deterministic mode, varied more, not less.)
const untimed = ['--no-memory-reducer'];

log('== instructions per request (callgrind): direct REST vs a plain graphql-yoga server vs the gateway');
log(`servers: ${build.describe}; ${WARMUP} requests to warm up, then ${MEASURED} counted, one connection`);

/** Runs `count` requests one after another; fails on the first unexpected answer. */
async function requests(url: string, target: ComparedRequest, count: number, agent: Agent): Promise<void> {
  for (let i = 0; i < count; i++) {
    const response = await request(url, { method: target.method, headers: target.headers, ...(target.body ? { body: target.body } : {}), dispatcher: agent });
    const body = await response.body.text();
    if (response.statusCode !== 200 || !target.check(body)) throw new Error(`unexpected answer ${response.statusCode} ${body.slice(0, 300)}`);
  }
}

/** Zeroes the child's counters, runs `work`, dumps them, and returns the instructions counted. */
async function count(child: Child, name: string, work: () => Promise<void>): Promise<number> {
  const pid = String(child.proc.pid);
  await run('callgrind_control', ['--zero', pid]);
  await work();
  await run('callgrind_control', [`--dump=${name}`, pid]);
  // Each dump is a file of its own ("<out-file>.<n>") whose header names the --dump reason.
  const files = (await readdir(dir)).filter((f) => f.includes(`.${pid}.`));
  let total: number | undefined;
  for (const file of files) {
    const text = await readFile(join(dir, file), 'utf8');
    if (text.includes(`Trigger: dump ${name}\n`)) total = Number(/^totals: (\d+)/m.exec(text)?.[1]);
    if (KEEP) await copyFile(join(dir, file), join(KEEP, `${name}.callgrind`));
    await rm(join(dir, file));
  }
  if (!total) throw new Error(`no callgrind dump "${name}" of process ${pid} in ${dir}`);
  return total;
}

interface Row {
  name: string;
  perRequest: number;
  /** Instructions per second with no request (timers, pollers), over IDLE_MS before the measured requests. */
  idlePerSecond: number;
  /** Wall-clock length of the measured requests under callgrind. */
  windowMs: number;
}

async function measure(name: string, server: Child, url: string, target: ComparedRequest): Promise<Row> {
  const agent = new Agent({ connections: 1, keepAliveTimeout: 600_000 });
  try {
    await requests(url, target, WARMUP, agent);
    await sleep(SETTLE_MS);
    const slug = name.replace(/\W+/g, '-');
    const idle = await count(server, `idle-${slug}`, () => sleep(IDLE_MS));
    const started = Date.now();
    const measured = await count(server, `measured-${slug}`, () => requests(url, target, MEASURED, agent));
    const row = { name, perRequest: measured / MEASURED, idlePerSecond: idle / (IDLE_MS / 1000), windowMs: Date.now() - started };
    log(`${name}: ${fmt(row.perRequest / 1e6, 2)} M instructions per request (${fmt(measured / 1e6, 0)} M for ${MEASURED} in ${fmt(row.windowMs / 1000, 1)} s under callgrind); idle: ${fmt(row.idlePerSecond / 1e6, 2)} M per second`);
    return row;
  } finally {
    await agent.close();
  }
}

const rows: Row[] = [];
const children: Child[] = [];
const start = async (...args: Parameters<typeof startChild>) => {
  const child = await startChild(...args);
  children.push(child);
  return child;
};
try {
  if (ONLY.includes('direct')) {
    // The simulator itself is measured.
    const measuredSim = await start('./sim-process.ts', { BENCH_TOKEN: TOKEN }, 'simulator (callgrind)', untimed, 'tsx', underCallgrind('direct'));
    rows.push(await measure('direct REST (simulator)', measuredSim, `${measuredSim.ready['url']}${SERVICES_PATH}`, directRequest(TOKEN)));
    await measuredSim.stop();
  }
  // yoga and the gateway: the GraphQL server measured, a native simulator behind it.
  const sim = await start('./sim-process.ts', { BENCH_TOKEN: TOKEN }, 'simulator');
  const simUrl: string = sim.ready['url'];
  if (ONLY.includes('yoga')) {
    const yoga = await start('./baseline-process.ts', { BENCH_TOKEN: TOKEN, BENCH_SIM_URL: simUrl }, 'yoga (callgrind)', [...build.execArgv, ...untimed], build.runtime, underCallgrind('yoga'));
    rows.push(await measure('plain graphql-yoga', yoga, yoga.ready['url'], graphqlRequest));
    await yoga.stop();
  }
  // The gateway with the shipped limits and no idle release, in front of the simulator at `url`.
  const measureGateway = async (name: string, dump: string, url: string) => {
    const env = { ...build.env, BENCH_TOKEN: TOKEN, BENCH_SIM_URL: url, BENCH_SOURCE: 'aiven-bench', BENCH_GATEWAY_LIMITS: 'default', BENCH_GATEWAY_RELEASE: '0' };
    const gateway = await start('./gateway-process.ts', env, `${name} (callgrind)`, [...build.execArgv, ...untimed], build.runtime, underCallgrind(dump));
    rows.push(await measure(name, gateway, gateway.ready['url'], graphqlRequest));
    await gateway.stop();
  };
  if (ONLY.includes('gateway')) await measureGateway('gateway', 'gateway', simUrl);
  if (ONLY.includes('unchanged')) {
    // A minute into the scenario, so that the standing restores are in a phase with figures.
    const still = await start('./sim-process.ts', { BENCH_TOKEN: TOKEN, BENCH_SIM_CLOCK: 'manual', BENCH_SIM_ADVANCE_MS: '60000' }, 'simulator (still)');
    await measureGateway('gateway, listing unchanged', 'unchanged', still.ready['url']);
  }
} finally {
  for (const child of children.reverse()) await child.stop();
  await rm(dir, { recursive: true, force: true });
}

const [direct, yoga, gateway, unchanged] = ['direct REST (simulator)', 'plain graphql-yoga', 'gateway', 'gateway, listing unchanged'].map((name) => rows.find((r) => r.name === name));
log();
log(`Same query as the baseline, one connection, ${MEASURED} requests counted after ${WARMUP} (callgrind, every thread of the server's process)`);
log('| target | instructions / request | over direct | idle: instructions / s |');
log('| --- | ---: | ---: | ---: |');
for (const r of rows) log(`| ${r.name} | ${fmt(r.perRequest / 1e6, 2)} M | ${!direct || r === direct ? '—' : `+${fmt((r.perRequest - direct.perRequest) / 1e6, 2)} M`} | ${fmt(r.idlePerSecond / 1e6, 2)} M |`);
for (const r of [gateway, unchanged]) {
  if (r && yoga) log(`${r.name}: its own work over plain yoga ${fmt((r.perRequest - yoga.perRequest) / 1e6, 2)} M instructions per request (${fmt(r.perRequest / yoga.perRequest, 2)}×)`);
}
process.exit(0);
