/**
 * Node lifecycle of the Aiven simulator: pure functions of (restore plan, anchor, virtual now), as
 * docs/upstreams/aiven.md describes the states and progress_updates.
 */
import type { AivenPhaseSeed, AivenRestorePlan } from './scenarios.js';

export type AivenNodeStateName = 'leaving' | 'running' | 'setting_up_vm' | 'syncing_data' | 'timing_out' | 'unknown';
export interface AivenNodeStateAt { state: AivenNodeStateName; progress_updates?: Record<string, unknown>[] }

export function restoreTotals(plan: AivenRestorePlan): { base: number; pause: number } {
  const base = plan.setupMs + plan.phases.reduce((s, p) => s + p.durationMs, 0);
  const t = plan.timingOutAtMs;
  const pause = t !== undefined && t < base && (plan.timingOutForMs ?? 0) > 0 ? (plan.timingOutForMs ?? 0) : 0;
  return { base, pause };
}

export function phaseEntry(ph: AivenPhaseSeed, f: number, completed: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { completed };
  let maxNow: number | null | undefined = ph.max;
  const finalMax = typeof ph.max === 'number' ? (ph.maxGrowsTo ?? ph.max) : undefined;
  if (typeof ph.max === 'number' && ph.maxGrowsTo !== undefined) {
    maxNow = completed ? ph.maxGrowsTo : Math.floor(ph.max + (ph.maxGrowsTo - ph.max) * f);
  }
  if (ph.current === null) out['current'] = null;
  else if (ph.current !== 'absent') {
    if (finalMax !== undefined) {
      const lo = typeof ph.min === 'number' ? ph.min : 0;
      out['current'] = completed ? finalMax : Math.min(finalMax, Math.floor(lo + (finalMax - lo) * f));
    } else if (ph.max === null) out['current'] = null;
  }
  if (maxNow !== undefined) out['max'] = maxNow;
  if (ph.min !== undefined) out['min'] = ph.min;
  out['phase'] = ph.phase;
  if (ph.position) out['position'] = { ...ph.position };
  if (ph.unit !== undefined) out['unit'] = ph.unit;
  return out;
}

/** State of one node whose restore plan is anchored at `anchor` (virtual epoch ms), at `now`. */
export function nodeStateAt(plan: AivenRestorePlan | undefined, anchor: number, now: number): AivenNodeStateAt {
  if (!plan) return { state: 'running', progress_updates: [] };
  const e = now - anchor - (plan.startAfterMs ?? 0);
  if (e < 0) return { state: 'running', progress_updates: [] };
  const { base, pause } = restoreTotals(plan);
  const total = base + pause;
  let r = e;
  if (plan.loopAfterMs !== undefined) {
    r = e % (total + plan.loopAfterMs);
    if (r >= total) return { state: 'running', progress_updates: [] };
  } else if (r >= total) return { state: plan.thenState ?? 'running', progress_updates: [] };
  const t = plan.timingOutAtMs ?? 0;
  if (pause > 0 && r >= t && r < t + pause) return { state: 'timing_out', progress_updates: [] };
  const s = pause > 0 && r >= t + pause ? r - pause : r;
  if (s < plan.setupMs) return { state: 'setting_up_vm', progress_updates: [] };
  if (plan.reportProgress === false) return { state: 'syncing_data' };
  if (plan.reportProgress === 'empty') return { state: 'syncing_data', progress_updates: [] };
  const updates: Record<string, unknown>[] = [];
  let p = s - plan.setupMs;
  for (const ph of plan.phases) {
    if (p >= ph.durationMs) {
      updates.push(phaseEntry(ph, 1, true));
      p -= ph.durationMs;
    } else {
      updates.push(phaseEntry(ph, ph.durationMs > 0 ? p / ph.durationMs : 1, false));
      break;
    }
  }
  return { state: 'syncing_data', progress_updates: updates };
}


/** The restore a node goes through when a plan or cloud change replaces it. */
export function replacementPlan(setupMs: number, diskMb: number): AivenRestorePlan {
  return {
    setupMs,
    phases: [
      { phase: 'prepare', unit: 'prepare_percent', min: 0, max: 100, durationMs: 2_000 },
      { phase: 'basebackup', unit: 'bytes_uncompressed', min: 0, max: Math.floor(diskMb * 1024 * 1024 * 0.1), durationMs: 6_000 },
      { phase: 'stream', unit: 'wal_lsn', min: 0x0100_0000, max: 0x0180_0000, durationMs: 3_000 },
      { phase: 'finalize', unit: null, durationMs: 1_000 },
    ],
  };
}
