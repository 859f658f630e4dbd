import { demoScenario, type AivenScenario, type AivenServiceSeed } from '../src/sources/aiven/scenarios.js';

/** How far to advance a fresh demo simulator so that a node's (looping) restore is `offsetMs` into a run. */
export function advanceToRestoreOffset(project: string, service: string, node: string, offsetMs: number): number {
  const plan = demoScenario().projects[project]?.find((s) => s.service_name === service)?.nodes?.find((n) => n.name === node)?.restore;
  if (!plan) throw new Error(`demoScenario() has no restore for ${project}/${service}/${node}`);
  const start = plan.startAfterMs ?? 0; // a negative start: already this far into the run at t = 0
  if (plan.loopAfterMs === undefined) {
    if (offsetMs + start < 0) throw new Error(`${node}'s restore is already past ${offsetMs} ms at start and does not loop`);
    return offsetMs + start;
  }
  if (plan.timingOutForMs) throw new Error(`${node}'s restore pauses in timing_out: derive its cycle before using it here`);
  const cycle = plan.setupMs + plan.phases.reduce((sum, p) => sum + p.durationMs, 0) + plan.loopAfterMs;
  return (((offsetMs + start) % cycle) + cycle) % cycle;
}

/**
 * `count` nodes restoring at once in one project, 10 per service, each already in a basebackup that
 * lasts an hour: every poll sees every node's progress move. For the fan-out and cost benchmarks.
 */
export function restoringScenario(project: string, count: number): AivenScenario {
  const NODES_PER_SERVICE = 10;
  const services: AivenServiceSeed[] = [];
  for (let s = 0; s * NODES_PER_SERVICE < count; s++) {
    const service = `bench-pg-${String(s + 1).padStart(3, '0')}`;
    const nodes = Math.min(NODES_PER_SERVICE, count - s * NODES_PER_SERVICE);
    services.push({
      service_name: service,
      service_type: 'pg',
      plan: 'business-8',
      cloud_name: 'google-europe-west3',
      nodes: Array.from({ length: nodes }, (_, n) => ({
        name: `${service}-${n + 1}`,
        role: n === 0 ? 'master' : 'standby',
        restore: {
          startAfterMs: -3_000, // 1 s into basebackup at start
          setupMs: 1_000,
          phases: [
            { phase: 'prepare', unit: 'prepare_percent', min: 0, max: 100, durationMs: 1_000 },
            { phase: 'basebackup', unit: 'bytes_uncompressed', min: 0, max: 100 * 2 ** 30, durationMs: 3_600_000 },
            { phase: 'stream', unit: 'wal_lsn', min: 0, max: 2 ** 30, durationMs: 60_000 },
            { phase: 'finalize', unit: null, min: null, max: null, durationMs: 6_000 },
          ],
        },
      })),
    });
  }
  return { projects: { [project]: services } };
}
