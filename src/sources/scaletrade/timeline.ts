import { createHash } from 'node:crypto';
import type { ScaleTradeArtifactWire, ScaleTradeProgressWire, ScaleTradeRestoreRunWire, ScaleTradeRunWire } from './client.js';
import type { ScaleTradeParticipantSeed } from './scenarios.js';

/**
 * The simulator's runs as pure functions of (plan, virtual time): the progress snapshot and the
 * run record a ScaleTrade server would show at that moment. Wire shapes as in
 * docs/upstreams/scaletrade.md.
 */

export interface RunPlan {
  runId: string;
  type: 'full' | 'scoped';
  trigger: string;
  /** Empty for a full run. */
  requested: string[];
  participants: Array<{ seed: ScaleTradeParticipantSeed; error?: string }>;
  validateMs: number;
  finalizeMs: number;
  remoteTargets: string[];
  remoteStepMs: number;
  /** Virtual epoch ms. */
  startMs: number;
}

export interface RunView {
  progress: ScaleTradeProgressWire;
  record: ScaleTradeRunWire;
  finished: boolean;
  /** Virtual epoch ms at which the run ended (when finished). */
  endMs: number;
}

type ProgressParticipant = NonNullable<ScaleTradeProgressWire['participants']>[number];
type RecordParticipant = NonNullable<ScaleTradeRunWire['participants']>[number];

export const sec = (ms: number): number => Math.floor(ms / 1000);

function sha256(...parts: string[]): string {
  return createHash('sha256').update(parts.join('/')).digest('hex');
}

function artifactsOf(seed: ScaleTradeParticipantSeed, runId: string, dir: string): ScaleTradeArtifactWire[] {
  return seed.artifacts.map((a) => ({
    logical_name: a.logical_name,
    path: `${dir}/${a.logical_name}`,
    size_bytes: a.size_bytes,
    sha256: sha256(runId, a.logical_name),
    integrity_ok: true,
    integrity_error: '',
    validation_ok: true,
    validation_error: '',
  }));
}

function runPath(runId: string, status: string): string {
  if (status === 'running') return `backups/.running/${runId}`;
  return status === 'failed' ? `backups/failed/${runId}` : `backups/completed/${runId}`;
}

/** The state of a run at virtual time `atMs`. */
export function runViewAt(plan: RunPlan, atMs: number): RunView {
  const elapsed = Math.max(0, atMs - plan.startMs);
  const n = plan.participants.length;
  const progressParts: ProgressParticipant[] = [];
  const recordParts: RecordParticipant[] = [];
  const failures: string[] = [];
  let t = 0;
  let finishedParts = 0;

  const view = (state: {
    status: string;
    phase: string;
    message: string;
    current?: string;
    percent: number;
    remoteTotal?: number;
    remoteDone?: number;
    endMs?: number;
  }): RunView => {
    const finished = state.endMs !== undefined;
    const at = finished ? state.endMs! : atMs;
    const record: ScaleTradeRunWire = {
      run_id: plan.runId,
      type: plan.type,
      trigger: plan.trigger,
      status: state.status,
      path: runPath(plan.runId, state.status),
      started_at: sec(plan.startMs),
      finished_at: finished ? sec(at) : 0,
      error_summary: failures.join('; '),
      requested_participants: [...plan.requested],
      participants: recordParts.map((p) => ({
        ...p,
        artifacts: (p.artifacts ?? []).map((a) => ({ ...a, path: `${runPath(plan.runId, state.status)}/${a.logical_name}` })),
      })),
    };
    const progress: ScaleTradeProgressWire = {
      active: !finished,
      run_id: plan.runId,
      type: plan.type,
      trigger: plan.trigger,
      status: state.status,
      phase: state.phase,
      message: state.message,
      current_participant: state.current ?? '',
      overall_percent: state.percent,
      participants_total: n,
      participants_done: finishedParts,
      remote_total: state.remoteTotal ?? 0,
      remote_done: state.remoteDone ?? 0,
      started_at: sec(plan.startMs),
      updated_at: sec(at),
      finished_at: finished ? sec(at) : 0,
      participants: progressParts,
    };
    return { progress, record, finished, endMs: finished ? at : 0 };
  };

  for (const [index, { seed, error }] of plan.participants.entries()) {
    const start = plan.startMs + t;
    const end = start + seed.durationMs;
    if (elapsed < t + seed.durationMs) {
      const fraction = (elapsed - t) / seed.durationMs;
      progressParts.push({
        name: seed.name, status: 'running', phase: 'backup', percent: Math.floor(fraction * 100), message: 'dumping',
        artifacts: 0, size_bytes: 0, started_at: sec(start), finished_at: 0,
      });
      recordParts.push({ name: seed.name, critical: seed.critical, ok: false, status: 'running', started_at: sec(start), finished_at: 0, error: '', artifacts: [] });
      return view({ status: 'running', phase: 'backup', message: `dumping ${seed.name}`, current: seed.name, percent: Math.floor(((index + fraction) / n) * 85) });
    }
    finishedParts++;
    if (error !== undefined) {
      failures.push(`${seed.name}: ${error}`);
      progressParts.push({ name: seed.name, status: 'failed', phase: 'failed', percent: 100, message: error, artifacts: 0, size_bytes: 0, started_at: sec(start), finished_at: sec(end) });
      recordParts.push({ name: seed.name, critical: seed.critical, ok: false, status: 'failed', started_at: sec(start), finished_at: sec(end), error, artifacts: [] });
      if (seed.critical) {
        return view({ status: 'failed', phase: 'failed', message: `critical participant ${seed.name} failed: ${error}`, percent: Math.floor(((index + 1) / n) * 85), endMs: end });
      }
    } else {
      const artifacts = artifactsOf(seed, plan.runId, runPath(plan.runId, 'running'));
      const size = seed.artifacts.reduce((sum, a) => sum + a.size_bytes, 0);
      progressParts.push({ name: seed.name, status: 'completed', phase: 'completed', percent: 100, message: '', artifacts: artifacts.length, size_bytes: size, started_at: sec(start), finished_at: sec(end) });
      recordParts.push({ name: seed.name, critical: seed.critical, ok: true, status: 'completed', started_at: sec(start), finished_at: sec(end), error: '', artifacts });
    }
    t += seed.durationMs;
  }

  const steps: Array<{ phase: string; ms: number; from: number; to: number; message: string }> = [
    { phase: 'validate', ms: plan.validateMs, from: 85, to: 88, message: 'validating artifacts' },
    { phase: 'finalize', ms: plan.finalizeMs, from: 88, to: 90, message: 'writing manifest' },
  ];
  for (const step of steps) {
    if (elapsed < t + step.ms) {
      const fraction = (elapsed - t) / step.ms;
      return view({ status: 'running', phase: step.phase, message: step.message, percent: Math.floor(step.from + (step.to - step.from) * fraction) });
    }
    t += step.ms;
  }

  const uploaded = plan.participants.filter((p) => p.error === undefined).map((p) => p.seed.name);
  const perTarget = uploaded.length + 1;
  const remoteTotal = plan.remoteTargets.length * perTarget;
  if (remoteTotal > 0 && elapsed < t + remoteTotal * plan.remoteStepMs) {
    const done = Math.floor((elapsed - t) / plan.remoteStepMs);
    const target = plan.remoteTargets[Math.floor(done / perTarget)]!;
    const item = uploaded[done % perTarget];
    const message = item === undefined ? `remote manifest publish ${target}` : `remote upload ${item} ${target}`;
    return view({ status: 'running', phase: 'publish_remote', message, percent: 90 + Math.floor((done / remoteTotal) * 9), remoteTotal, remoteDone: done });
  }
  t += remoteTotal * plan.remoteStepMs;
  const status = failures.length > 0 ? 'partial' : 'completed';
  const message = status === 'partial' ? 'backup completed with optional participant errors' : 'backup completed';
  return view({ status, phase: 'done', message, percent: 100, remoteTotal, remoteDone: remoteTotal, endMs: plan.startMs + t });
}

export interface RestorePlan {
  restoreId: string;
  source: ScaleTradeRunWire;
  participants: string[];
  dryRun: boolean;
  force: boolean;
  stepMs: number;
  startMs: number;
}

export interface RestoreView {
  record: ScaleTradeRestoreRunWire;
  finished: boolean;
  endMs: number;
}

/** The state of a restore at virtual time `atMs`: every participant listed, pending until its turn. */
export function restoreViewAt(plan: RestorePlan, atMs: number): RestoreView {
  const elapsed = Math.max(0, atMs - plan.startMs);
  const preRestorePath = plan.dryRun ? '' : `backups/pre-restore/${plan.restoreId}`;
  const endMs = plan.startMs + plan.participants.length * plan.stepMs;
  const finished = atMs >= endMs;
  const participants = plan.participants.map((name, index) => {
    const sourcePart = plan.source.participants?.find((p) => p.name === name);
    const start = plan.startMs + index * plan.stepMs;
    const end = start + plan.stepMs;
    const status = elapsed >= (index + 1) * plan.stepMs ? 'completed' : elapsed >= index * plan.stepMs ? 'running' : 'pending';
    const artifacts = sourcePart?.artifacts ?? [];
    return {
      name,
      critical: sourcePart?.critical ?? true,
      ok: status === 'completed',
      status,
      started_at: status === 'pending' ? 0 : sec(start),
      finished_at: status === 'completed' ? sec(end) : 0,
      error: '',
      safety_snapshot_path: status === 'pending' ? '' : preRestorePath,
      artifacts: status === 'completed' ? artifacts : [],
      safety_artifacts:
        plan.dryRun || status === 'pending'
          ? []
          : artifacts.map((a) => ({ ...a, path: `${preRestorePath}/${a.logical_name}`, sha256: sha256(plan.restoreId, a.logical_name) })),
    };
  });
  return {
    record: {
      restore_id: plan.restoreId,
      source_run_id: plan.source.run_id,
      dry_run: plan.dryRun,
      force: plan.force,
      pre_restore_path: preRestorePath,
      status: finished ? 'completed' : 'running',
      started_at: sec(plan.startMs),
      finished_at: finished ? sec(endMs) : 0,
      error_summary: '',
      participants,
    },
    finished,
    endMs,
  };
}
