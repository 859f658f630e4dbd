import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { releaseMemoryWhenIdle } from '../src/release-memory.js';

interface Release {
  rssBeforeMiB: number;
  rssAfterMiB: number;
  pauseMs: number;
}

function capture(): { logger: pino.Logger; releases: Release[] } {
  const releases: Release[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write: (chunk, _encoding, done) => {
        for (const line of String(chunk).trim().split('\n')) releases.push(JSON.parse(line) as Release);
        done();
      },
    }),
  );
  return { logger, releases };
}

/** About `mib` MiB of small objects on the V8 heap, the way many subscriptions leave them. */
function burst(mib: number): unknown[] {
  const held: unknown[] = [];
  for (let i = 0; i < mib * 512; i++) held.push(Array.from({ length: 64 }, (_, j) => ({ i, j })));
  return held;
}

async function until(check: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !check() && Date.now() < end; ) await sleep(20);
}

describe('releasing memory when idle', () => {
  let stop: (() => void) | undefined;
  afterEach(() => stop?.());

  it('gives the pages of a finished burst back to the operating system once the loop is idle', async () => {
    const { logger, releases } = capture();
    let held: unknown[] | undefined = burst(128);
    const peak = process.memoryUsage.rss();
    held = undefined;
    stop = releaseMemoryWhenIdle({ logger, everyMs: 200, growthBytes: 32 * 1024 * 1024 });
    await until(() => releases.length > 0, 5_000);
    expect(held).toBeUndefined();
    expect(releases).toHaveLength(1);
    expect(releases[0]!.rssBeforeMiB).toBeGreaterThan(releases[0]!.rssAfterMiB + 64);
    expect(process.memoryUsage.rss()).toBeLessThan(peak - 64 * 1024 * 1024);
  });

  it('does not collect again while resident memory stays where the last release left it', async () => {
    const { logger, releases } = capture();
    stop = releaseMemoryWhenIdle({ logger, everyMs: 100, growthBytes: 32 * 1024 * 1024 });
    await until(() => releases.length > 0, 3_000);
    expect(releases).toHaveLength(1);
    await sleep(800);
    expect(releases).toHaveLength(1);
  });

  it('waits while the event loop is busy, and releases once it is idle', async () => {
    const { logger, releases } = capture();
    stop = releaseMemoryWhenIdle({ logger, everyMs: 100, growthBytes: 1, idleBelow: 0.5 });
    // Busy: the loop runs 90 ms of every 100 for about a second.
    for (const end = Date.now() + 1_000; Date.now() < end; ) {
      const slice = Date.now() + 90;
      while (Date.now() < slice);
      await sleep(10);
    }
    const releasedWhileBusy = releases.length;
    await until(() => releases.length > 0, 3_000);
    expect(releasedWhileBusy).toBe(0);
    expect(releases).toHaveLength(1);
  });
});
