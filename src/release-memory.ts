import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from './logger.js';

/**
 * Gives memory back to the operating system once a burst of work is over (18,000 subscribers
 * leaving, a load test ending, the garbage of start-up). V8 collects the garbage of such a burst
 * by itself but keeps the freed pages, so the process stays at its high-water mark for good; only
 * a memory-reducing collection ("last resort") releases them. That collection stops the process
 * for as long as a full GC, so it runs only when the event loop was nearly idle over the last
 * check and resident memory grew by `growthBytes` since the last release; after it, the new
 * resident size is the baseline, so an idle process with many open subscriptions is not collected
 * again and again.
 */
export interface ReleaseMemoryOptions {
  logger: Logger;
  /** How often to look (default 5 s). */
  everyMs?: number;
  /** Growth of resident memory since the last release that is worth a collection (default 32 MiB). */
  growthBytes?: number;
  /** Event-loop utilisation over the last `everyMs` under which the process counts as idle (default 5 %). */
  idleBelow?: number;
}

type Collect = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

export function releaseMemoryWhenIdle({ logger, everyMs = 5_000, growthBytes = 32 * 1024 * 1024, idleBelow = 0.05 }: ReleaseMemoryOptions): () => void {
  const collect = memoryReducingGc();
  // No baseline yet: the first idle look after start-up releases what building the schema left.
  let baseline = 0;
  let last = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    const rss = process.memoryUsage.rss();
    if (rss < baseline) baseline = rss;
    if (busy >= idleBelow || rss - baseline < growthBytes) return;
    const started = performance.now();
    collect({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    baseline = process.memoryUsage.rss();
    const mib = (bytes: number) => Math.round(bytes / 1048576);
    logger.info({ rssBeforeMiB: mib(rss), rssAfterMiB: mib(baseline), pauseMs: Math.round(performance.now() - started) }, 'idle: released memory to the operating system');
    // The collection itself counts as busy time; the next look measures from here.
    last = performance.eventLoopUtilization();
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * V8's `gc` with options, without asking every deployment to start Node with --expose-gc: the
 * flag only decides whether a new context gets the function, so one context made after setting it
 * lends us its `gc`, and the flag is set back at once.
 */
function memoryReducingGc(): Collect {
  const exposed = (globalThis as { gc?: Collect }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  try {
    return runInNewContext('gc') as Collect;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}
