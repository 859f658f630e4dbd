/**
 * Rate and ETA from successive samples of one operation's progress (docs/ARCHITECTURE.md, "Live updates": "computed from
 * successive samples when the vendor does not send them"). Pure: a sample window in, figures out.
 *
 * - The window holds the samples of the last `windowMs` (by observation time), all in the same
 *   progress unit; it restarts when the unit changes or `done` / `percent` go backwards (a new
 *   phase, a restarted run) — a slope across such a jump means nothing.
 * - `ratePerSecond` = Δdone / Δt between the oldest and the newest sample that have `done`.
 * - `estimatedEndAt` from the percent slope between the oldest and newest samples with a percent:
 *   newest.at + (100 − percent) / slope; when there is no percent, from done/total and the rate
 *   (the vendor's rate when it gives one, otherwise the computed one).
 * - Fewer than two samples at distinct times, or a slope that is not positive (stalled) ⇒ null.
 * - Vendor-given figures are kept as they are; `estimated` is true only when this module computed
 *   something. Final operations get no ETA.
 *
 * The arithmetic is ordered (multiply, then divide) so that a linear scenario gives exact figures.
 */
import type { Progress } from '../model/operation.js';

export interface ProgressSample {
  /** Observation time, epoch ms. */
  at: number;
  percent: number | null;
  done: number | null;
  total: number | null;
  unit: string | null;
}

export interface Estimate {
  ratePerSecond: number | null;
  estimatedEndAt: string | null;
}

/** Upper bound on samples kept per operation (oldest dropped first). */
export const MAX_SAMPLES = 256;

export function sampleOf(progress: Progress, at: number): ProgressSample {
  return {
    at,
    percent: finiteOrNull(progress.percent),
    done: finiteOrNull(progress.done),
    total: finiteOrNull(progress.total),
    unit: progress.unit,
  };
}

function finiteOrNull(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function lastWith<K extends 'percent' | 'done'>(
  samples: readonly ProgressSample[],
  key: K,
): ProgressSample | undefined {
  for (let i = samples.length - 1; i >= 0; i -= 1) {
    const sample = samples[i];
    if (sample && sample[key] !== null) return sample;
  }
  return undefined;
}

function firstWith<K extends 'percent' | 'done'>(
  samples: readonly ProgressSample[],
  key: K,
): ProgressSample | undefined {
  for (const sample of samples) if (sample[key] !== null) return sample;
  return undefined;
}

/**
 * Adds a sample to a window and returns the new window (the input is not modified): restarts on a
 * unit change or a decrease of done/percent, drops the samples older than `windowMs` before the new
 * one, and keeps the samples at least windowMs / MAX_SAMPLES apart: the newest one is provisional
 * while it is closer than that to the one before it (or taken at the same instant as the new one),
 * and the new sample takes its place. So the window spans `windowMs` however often the operation is
 * observed — a burst of queries must not shrink it to a fraction of a second, in which a vendor's
 * figures that move every few seconds would look stalled — and holds at most MAX_SAMPLES.
 */
export function addSample(
  window: readonly ProgressSample[],
  sample: ProgressSample,
  windowMs: number,
): ProgressSample[] {
  const previous = window[window.length - 1];
  if (previous) {
    const restarted =
      previous.unit !== sample.unit ||
      sample.at < previous.at ||
      (previous.done !== null && sample.done !== null && sample.done < previous.done) ||
      (previous.percent !== null && sample.percent !== null && sample.percent < previous.percent);
    if (restarted) return [sample];
  }
  // The window is in time order (an earlier sample restarts it): drop what fell out of it from the
  // front, a provisional newest sample from the back, and keep at most MAX_SAMPLES, in one copy.
  const from = sample.at - windowMs;
  let start = 0;
  while (start < window.length && window[start]!.at < from) start++;
  let end = window.length;
  if (previous) {
    const before = window[window.length - 2];
    const crowded = before !== undefined && previous.at - before.at < windowMs / MAX_SAMPLES && covers(sample, previous);
    if (previous.at === sample.at || crowded) end -= 1;
  }
  const kept = window.slice(Math.max(start, end + 1 - MAX_SAMPLES), end);
  kept.push(sample);
  return kept;
}

/** Whether `next` has every figure `previous` has (replacing it loses none). */
function covers(next: ProgressSample, previous: ProgressSample): boolean {
  return (previous.percent === null || next.percent !== null) && (previous.done === null || next.done !== null);
}

/** Figures computable from the window; null where there are not two distinct samples. */
export function estimate(window: readonly ProgressSample[], vendorRatePerSecond: number | null = null): Estimate {
  let ratePerSecond: number | null = null;
  const doneFirst = firstWith(window, 'done');
  const doneLast = lastWith(window, 'done');
  if (doneFirst && doneLast && doneLast.at > doneFirst.at) {
    ratePerSecond = ((doneLast.done! - doneFirst.done!) * 1000) / (doneLast.at - doneFirst.at);
  }

  let estimatedEndAt: string | null = null;
  const percentFirst = firstWith(window, 'percent');
  const percentLast = lastWith(window, 'percent');
  const newest = window[window.length - 1];
  if (newest && newest.percent !== null) {
    if (percentFirst && percentLast && percentLast.at > percentFirst.at) {
      const dp = percentLast.percent! - percentFirst.percent!;
      if (dp > 0) {
        const remaining = Math.max(0, 100 - percentLast.percent!);
        const end = percentLast.at + (remaining * (percentLast.at - percentFirst.at)) / dp;
        estimatedEndAt = toIso(end);
      }
    }
  } else if (newest && newest.done !== null && newest.total !== null) {
    const rate = vendorRatePerSecond ?? ratePerSecond;
    if (rate !== null && rate > 0) {
      const remaining = Math.max(0, newest.total - newest.done);
      // Exact on a linear scenario when the rate is the computed one: remaining·Δt/Δdone.
      const end =
        vendorRatePerSecond === null && doneFirst && doneLast
          ? newest.at + (remaining * (doneLast.at - doneFirst.at)) / (doneLast.done! - doneFirst.done!)
          : newest.at + (remaining * 1000) / rate;
      estimatedEndAt = toIso(end);
    }
  }
  return { ratePerSecond, estimatedEndAt };
}

function toIso(ms: number): string | null {
  if (!Number.isFinite(ms)) return null;
  const date = new Date(Math.round(ms));
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/**
 * The progress to publish: vendor figures kept, missing ones filled from the window, `estimated`
 * set when something was computed here. Final operations: no ETA, nothing computed.
 */
export function applyEstimate(progress: Progress, window: readonly ProgressSample[], final: boolean): Progress {
  if (final) return { ...progress, estimatedEndAt: null };
  if (progress.ratePerSecond !== null && progress.estimatedEndAt !== null) return { ...progress };
  const figures = estimate(window, progress.ratePerSecond);
  const ratePerSecond = progress.ratePerSecond ?? figures.ratePerSecond;
  const estimatedEndAt = progress.estimatedEndAt ?? figures.estimatedEndAt;
  const computed =
    (progress.ratePerSecond === null && figures.ratePerSecond !== null) ||
    (progress.estimatedEndAt === null && figures.estimatedEndAt !== null);
  return { ...progress, ratePerSecond, estimatedEndAt, estimated: progress.estimated || computed };
}
