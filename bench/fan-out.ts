/**
 * `npm run bench` (part): fan-out to 18,000 graphql-ws connections (issue 12), one subscription per
 * connection, the shipped default limits (20,000 subscriptions per process). The clients run in two
 * child processes of 9,000 sockets each; the gateway and the simulator in their own.
 *
 *   A. all 18,000 on ONE operation (an Aiven node restore in basebackup: a change every poll;
 *      10 nodes restore at once, as in the smallest row of bench/cost.ts)
 *   B. 18,000 spread over 200 operations of all four vendors: every operation the other kinds' demo
 *      simulators have in flight, and Aiven node restores for the rest
 *
 * Figures, no thresholds: upstream listing calls per poll interval, delay from the poll that carried a
 * change (its updatedAt) to client receipt p50/p99, gateway RSS per subscription (after a GC, with
 * the subscriptions minus before, / 18,000) and after they all left (a few seconds, then a GC).
 * A's window is also the 18,000-subscriber row of the cost table (bench/cost.ts reads it).
 */
import { writeFileSync } from 'node:fs';
import type { Child } from './ipc.js';
import { activeOperations, FAN_OUT_RESULT, measureWindow, mib, p, POLL_MS, startFleet, subscribe, type ActiveOperation, type FleetOptions } from './fleet.js';
import { fmt, percentile, sleep } from './stats.js';

const SUBSCRIBERS = 18_000;
const WINDOW_MS = 10_000;
const SPREAD_OVER = 200;
// Long enough for the gateway's idle memory release (release-memory.ts: it looks every 5 s).
const LEAVE_WAIT_MS = 12_000;

const log = (line = '') => console.log(line);

interface Result {
  label: string;
  operations: string;
  setupMs: number;
  started: number;
  upstreamPerInterval: number;
  events: number;
  p50: string;
  p99: string;
  p50Ms: number;
  cpu: number;
  rssBefore: number;
  rssSubscribed: number;
  heapPerSub: number;
  rssInWindow: number;
  rssAfterLeave: number;
  heapBefore: number;
  heapAfterLeave: number;
  errors: string[];
}

type Choose = (operations: ActiveOperation[]) => { ids: string[]; describe: string };

async function run(label: string, fleetOptions: FleetOptions, atLeast: number, choose: Choose): Promise<Result> {
  const fleet = await startFleet(fleetOptions);
  let clients: Child[] = [];
  try {
    log(`-- ${label} (gateway: ${fleet.build}; ${fleet.sourceCount} sources)`);
    const { ids, describe } = choose(await activeOperations(fleet.url, atLeast));
    log(`   operations: ${describe}`);
    await sleep(2_000);
    const before = (await fleet.gateway.call<{ memory: NodeJS.MemoryUsage }>('memory')).memory;
    const opened = await subscribe(fleet.url, ids, SUBSCRIBERS, log);
    clients = opened.clients;
    const started = opened.status.reduce((n, s) => n + s.started, 0);
    const errors = opened.status.flatMap((s) => s.errors);
    log(`   ${started} / ${SUBSCRIBERS} subscriptions had a first event after ${fmt(opened.setupMs / 1000, 1)} s; sockets closed by the gateway: ${opened.status.reduce((n, s) => n + s.closedEarly, 0)}${errors.length ? `; errors: ${errors.join(' | ').slice(0, 500)}` : ''}`);
    await sleep(2 * POLL_MS);
    const subscribed = (await fleet.gateway.call<{ memory: NodeJS.MemoryUsage }>('memory')).memory;
    const window = await measureWindow(fleet, clients, WINDOW_MS);
    await Promise.all(clients.map((c) => c.call('leave', {}, 120_000)));
    await sleep(LEAVE_WAIT_MS);
    const after = (await fleet.gateway.call<{ memory: NodeJS.MemoryUsage }>('memory')).memory;
    const result: Result = {
      label,
      operations: describe,
      setupMs: opened.setupMs,
      started,
      upstreamPerInterval: window.upstreamPerInterval,
      events: window.delays.length,
      p50: p(window.delays, 50),
      p99: p(window.delays, 99),
      p50Ms: percentile(window.delays, 50),
      cpu: window.gatewayCpu,
      rssBefore: before.rss,
      rssSubscribed: subscribed.rss,
      heapPerSub: (subscribed.heapUsed - before.heapUsed) / SUBSCRIBERS,
      rssInWindow: window.rss,
      rssAfterLeave: after.rss,
      heapBefore: before.heapUsed,
      heapAfterLeave: after.heapUsed,
      errors,
    };
    log(`   ${JSON.stringify({ ...result, errors: undefined })}`);
    return result;
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
    await fleet.close();
  }
}

const t0 = Date.now();
log(`== fan-out: ${SUBSCRIBERS.toLocaleString('en')} graphql-ws connections, one subscription each, two client processes; default limits; poll ${POLL_MS} ms; ${WINDOW_MS / 1000} s window`);
const one = await run('A. one operation', { restoring: 10 }, 10, (ops) => ({ ids: [ops[0]!.id], describe: `1 (an Aiven node restore, of ${ops.length} in flight)` }));
writeFileSync(FAN_OUT_RESULT, JSON.stringify({ at: Date.now(), subscribers: SUBSCRIBERS, restoring: 10, sources: 1, cpu: one.cpu, rss: one.rssInWindow, upstreamPerInterval: one.upstreamPerInterval, events: one.events, p50: one.p50Ms }));
// BENCH_FANOUT_ONLY=A: only the one-operation run (quicker, when working on it).
const spread = process.env['BENCH_FANOUT_ONLY'] === 'A' ? one : await run(`B. ${SPREAD_OVER} operations, four vendors`, { restoring: SPREAD_OVER, otherKinds: true }, SPREAD_OVER, (ops) => {
  // Every operation the other vendors have in flight, Aiven restores for the rest.
  const others = ops.filter((o) => o.source !== 'AIVEN').slice(0, SPREAD_OVER);
  const aiven = ops.filter((o) => o.source === 'AIVEN').slice(0, SPREAD_OVER - others.length);
  const chosen = [...others, ...aiven];
  const byVendor = new Map<string, number>();
  for (const o of chosen) byVendor.set(o.source, (byVendor.get(o.source) ?? 0) + 1);
  return { ids: chosen.map((o) => o.id), describe: `${chosen.length}: ${[...byVendor].map(([k, n]) => `${k} ${n}`).join(', ')}` };
});

log();
log(`Fan-out, ${SUBSCRIBERS.toLocaleString('en')} graphql-ws connections (one subscription each, 2 client processes × 9,000), default limits, poll ${POLL_MS} ms, ${WINDOW_MS / 1000} s window`);
log('| | subscribed to | setup (first event on all) | upstream listing calls / interval | events in window | delay p50 / p99 | gateway CPU | RSS before → subscribed (after GC) | RSS / subscription | heap / subscription | RSS in the window | RSS after all left (+12 s, GC) | heap before → after all left |');
log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of [one, spread]) {
  log(`| ${r.label} | ${r.operations} | ${fmt(r.setupMs / 1000, 1)} s (${r.started.toLocaleString('en')} started) | ${fmt(r.upstreamPerInterval, 2)} | ${r.events.toLocaleString('en')} | ${r.p50} / ${r.p99} ms | ${fmt(r.cpu, 0)} % | ${mib(r.rssBefore)} → ${mib(r.rssSubscribed)} MiB | ${fmt((r.rssSubscribed - r.rssBefore) / SUBSCRIBERS / 1024, 1)} KiB | ${fmt(r.heapPerSub / 1024, 1)} KiB | ${mib(r.rssInWindow)} MiB | ${mib(r.rssAfterLeave)} MiB | ${mib(r.heapBefore)} → ${mib(r.heapAfterLeave)} MiB |`);
}
log(`(B's upstream calls are the Aiven listing only; total ${fmt((Date.now() - t0) / 1000, 0)} s)`);
process.exit(0);
