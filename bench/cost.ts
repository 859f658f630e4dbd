/**
 * `npm run bench` (part): what the gateway costs as work grows (issue 12). One axis at a time, the
 * others at their smallest (1 source, 10 operations in flight, 1 subscriber):
 *   sources      1, 10, 100 Aiven sources on one simulator and project: each polls it and tracks the
 *                same 10 restores as its own (so 10 operations in flight per source)
 *   operations   10, 1,000 Aiven node restores in flight at once (every one moves at every poll)
 *   subscribers  1, 1,000 graphql-ws connections (one subscription each); the 18,000 row is
 *                bench/fan-out.ts's window A, read from its result file when present
 * The single subscriber is operationsChanged(filter: { active: true }): it holds every source's feed,
 * so every source polls (a source nobody watches makes no upstream calls at all). The 1,000 and
 * 18,000 subscribers are operationUpdated on one restore (which holds that project's feed).
 * Per setup, after a 3 s settle: the gateway child's CPU over a 10 s window (share of one core,
 * process.cpuUsage()), its RSS at the end of the window (no forced GC), and the upstream listing
 * calls per poll interval (all sources). Figures, no thresholds.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Child } from './ipc.js';
import { activeOperations, FAN_OUT_RESULT, measureWindow, mib, POLL_MS, startFleet, subscribe } from './fleet.js';
import { fmt, percentile, sleep } from './stats.js';

const WINDOW_MS = 10_000;
const SETTLE_MS = 3_000;
/** operations(first:) pages at most 500. */
const PAGE = 500;

interface Setup {
  axis: 'sources' | 'operations' | 'subscribers';
  sources: number;
  restoring: number;
  subscribers: number;
}
interface Row extends Setup {
  cpu: number;
  rss: number;
  upstreamPerInterval: number;
  events: number;
  p50: number;
  note?: string;
}

const log = (line = '') => console.log(line);

async function measure(setup: Setup): Promise<Row> {
  const fleet = await startFleet({ restoring: setup.restoring, aivenSources: setup.sources });
  let clients: Child[] = [];
  try {
    const operations = await activeOperations(fleet.url, Math.min(setup.restoring, PAGE));
    const opened = await subscribe(fleet.url, [operations[0]!.id], setup.subscribers, log, setup.subscribers === 1 ? 'operationsChanged' : 'operationUpdated');
    clients = opened.clients;
    const started = opened.status.reduce((n, s) => n + s.started, 0);
    await sleep(SETTLE_MS);
    const window = await measureWindow(fleet, clients, WINDOW_MS);
    const row: Row = { ...setup, cpu: window.gatewayCpu, rss: window.rss, upstreamPerInterval: window.upstreamPerInterval, events: window.delays.length, p50: percentile(window.delays, 50), ...(started < setup.subscribers ? { note: `only ${started} subscribers started` } : {}) };
    log(`cost: ${JSON.stringify(row)} (gateway: ${fleet.build})`);
    return row;
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
    await fleet.close();
  }
}

const smallest = { sources: 1, restoring: 10, subscribers: 1 };
const setups: Setup[] = [
  { axis: 'sources', ...smallest },
  { axis: 'sources', ...smallest, sources: 10 },
  { axis: 'sources', ...smallest, sources: 100 },
  { axis: 'operations', ...smallest, restoring: 1_000 },
  { axis: 'subscribers', ...smallest, subscribers: 1_000 },
];
log(`== cost as work grows: one axis at a time, the others at ${smallest.sources} source, ${smallest.restoring} operations in flight, ${smallest.subscribers} subscriber; poll ${POLL_MS} ms; ${WINDOW_MS / 1000} s window`);
const rows: Row[] = [];
for (const setup of setups) rows.push(await measure(setup));

// The 18,000-subscriber row comes from bench/fan-out.ts (same setup: 1 source, 10 restores, one operation), if it ran in the last hour.
if (existsSync(FAN_OUT_RESULT)) {
  const fan = JSON.parse(readFileSync(FAN_OUT_RESULT, 'utf8')) as { at: number; subscribers: number; cpu: number; rss: number; upstreamPerInterval: number; events: number; p50: number };
  if (Date.now() - fan.at < 3_600_000) rows.push({ axis: 'subscribers', ...smallest, ...fan, note: 'bench/fan-out.ts, A' });
}

const base = rows[0]!;
const shown: Row[] = [base, ...rows.slice(1).filter((r) => r.axis === 'sources'), ...rows.filter((r) => r.axis === 'operations'), ...rows.filter((r) => r.axis === 'subscribers')];
log();
log(`Gateway cost as work grows (one axis at a time; the first row is the smallest setup of every axis); CPU = share of one core over ${WINDOW_MS / 1000} s, RSS at the end of the window; 1 subscriber = operationsChanged(active), more = operationUpdated on one restore`);
log('| axis | sources | operations in flight | subscribers | gateway CPU | gateway RSS | listing calls / interval | events delivered in the window | delay p50 |');
log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of shown) {
  const axis = r === base ? 'smallest (all axes)' : r.axis;
  const operations = r.sources * r.restoring;
  log(`| ${axis}${r.note ? ` (${r.note})` : ''} | ${r.sources} | ${operations.toLocaleString('en')}${r.sources > 1 ? ` (${r.restoring} per source)` : ''} | ${r.subscribers.toLocaleString('en')} | ${fmt(r.cpu, 1)} % | ${mib(r.rss)} MiB | ${fmt(r.upstreamPerInterval, 2)} | ${Number.isFinite(r.events) ? r.events.toLocaleString('en') : 'n/a'} | ${fmt(r.p50, 0)} ms |`);
}
process.exit(0);
