import { demoScenario } from '../src/sources/aiven/scenarios.js';

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
