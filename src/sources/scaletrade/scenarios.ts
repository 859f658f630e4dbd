/**
 * Scenario types for the ScaleTrade simulator (simulator.ts) and two ready scenarios.
 *
 * A run backs up the participants in turn (phase `backup`), then `validate`, `finalize`, and
 * `publish_remote` (for every remote target: one upload per participant, then the manifest), then
 * ends `done`. A critical participant that fails ends the run `failed` at once; an optional one
 * that fails makes it `partial`. A restore walks the source run's participants in turn.
 */

export interface ScaleTradeArtifactSeed {
  logical_name: string;
  size_bytes: number;
}

export interface ScaleTradeParticipantSeed {
  name: string;
  /** A critical participant's failure fails the run; an optional one's makes it partial. */
  critical: boolean;
  /** Virtual ms its backup step takes. */
  durationMs: number;
  artifacts: ScaleTradeArtifactSeed[];
}

export interface ScaleTradeScenario {
  participants: ScaleTradeParticipantSeed[];
  validateMs: number;
  finalizeMs: number;
  /** Remote backup servers the run is published to (none: no publish_remote phase). */
  remoteTargets: string[];
  remoteStepMs: number;
  /** Virtual ms each participant's restore step takes. */
  restoreStepMs: number;
  /** Spacing of progress pushes while a run is active (virtual ms). */
  tickMs: number;
  /** Completed cron runs already in the history at start, one per hour back. */
  historyRuns?: number;
  /** Cron runs: the first at start, `headStartMs` into its timeline already, then every `everyMs`. */
  schedule?: {
    everyMs: number;
    headStartMs?: number;
    /** Every n-th cron run an optional participant fails (the run ends `partial`). */
    partialEvery?: number;
    /** Every n-th cron run a critical participant fails (the run ends `failed`). */
    failEvery?: number;
  };
}

const MiB = 1024 * 1024;

function participant(name: string, critical: boolean, durationMs: number, sizeBytes: number): ScaleTradeParticipantSeed {
  return { name, critical, durationMs, artifacts: [{ logical_name: `${name}.snapshot`, size_bytes: sizeBytes }] };
}

/**
 * Live demo: a cron run every 3 minutes (~90 s each), the first already 40 s in when the
 * simulator starts, so progress moves from the first second. Every third run ends `partial`
 * (the optional `reports` participant fails), every seventh `failed`.
 */
export function demoScenario(): ScaleTradeScenario {
  return {
    participants: [
      participant('symbols', true, 8_000, 3 * MiB),
      participant('accounts', true, 20_000, 180 * MiB),
      participant('staff', true, 6_000, 2 * MiB),
      { ...participant('trades', true, 25_000, 900 * MiB), artifacts: [{ logical_name: 'trades.snapshot', size_bytes: 850 * MiB }, { logical_name: 'trades.journal', size_bytes: 64 * MiB }] },
      participant('reports', false, 10_000, 40 * MiB),
    ],
    validateMs: 4_000,
    finalizeMs: 2_000,
    remoteTargets: ['backup-eu-1', 'backup-us-1'],
    remoteStepMs: 1_500,
    restoreStepMs: 5_000,
    tickMs: 1_000,
    historyRuns: 3,
    schedule: { everyMs: 180_000, headStartMs: 40_000, partialEvery: 3, failEvery: 7 },
  };
}

/**
 * Tests: five participants (4 s, 10 s, 4 s, 6 s, and the optional `reports` 4 s), validate 2 s,
 * finalize 1 s, one remote target with 6 steps of 1 s (37 s in all), two completed runs in the
 * history, no cron.
 */
export function testScenario(): ScaleTradeScenario {
  return {
    participants: [
      participant('symbols', true, 4_000, 327_680),
      participant('accounts', true, 10_000, 4 * MiB),
      participant('staff', true, 4_000, 65_536),
      participant('trades', true, 6_000, 8 * MiB),
      participant('reports', false, 4_000, MiB),
    ],
    validateMs: 2_000,
    finalizeMs: 1_000,
    remoteTargets: ['backup-eu-1'],
    remoteStepMs: 1_000,
    restoreStepMs: 2_000,
    tickMs: 1_000,
    historyRuns: 2,
  };
}
