/**
 * Child process: the Aiven simulator (realtime clock).
 * Env: BENCH_TOKEN; BENCH_SIM_ADVANCE_MS (advance the virtual clock this far at start, so the
 * restores are already in a phase that moves); BENCH_SIM_RESTORING=N: instead of demoScenario(),
 * N nodes of acme-prod restoring at once (restoringScenario); BENCH_SIM_OTHER_KINDS=1: also every
 * other kind's demo simulator (realtime), whose source configs come in the ready message
 * (`sources`, secrets resolved, named "<kind>-bench"); BENCH_SIM_CLOCK=manual: the clock stands still
 * (after the advance), so every listing is the same as the one before (the `requests` times are then
 * the simulator's own clock).
 * Calls: `requests { method, prefix, from, to }` → `{ at: number[] }`, wall-clock ms (Date.now()
 * of this machine) at which each matching request reached the simulator.
 */
import { demoScenario } from '../src/sources/aiven/scenarios.js';
import { startAivenSimulator } from '../src/sources/aiven/simulator.js';
import { KINDS } from '../src/sources/kinds.js';
import { serveParent } from './ipc.js';
import { restoringScenario } from './scenario.js';

const token = process.env['BENCH_TOKEN'] ?? 'bench-token';
const advance = Number(process.env['BENCH_SIM_ADVANCE_MS'] ?? '0');
const restoring = process.env['BENCH_SIM_RESTORING'];
const scenario = restoring ? restoringScenario('acme-prod', Number(restoring)) : demoScenario();
const sim = await startAivenSimulator({ token, scenario, clock: process.env['BENCH_SIM_CLOCK'] === 'manual' ? 'manual' : 'realtime' });
sim.advance(advance);
// realtime clock: sim.now() - Date.now() is a constant from here on (the advance, to the ms).
const virtualMinusWall = sim.now() - Date.now();
const others =
  process.env['BENCH_SIM_OTHER_KINDS'] === '1'
    ? await Promise.all(KINDS.filter((k) => k.kind !== 'aiven').map(async (kind) => ({ kind: kind.kind, sim: await kind.simulate({ scenario: 'demo', clock: 'realtime' }) })))
    : [];

serveParent(
  {
    requests: (m) => {
      const method = String(m['method']).toUpperCase();
      const prefix = String(m['prefix']);
      const from = Number(m['from'] ?? -Infinity);
      const to = Number(m['to'] ?? Infinity);
      const at = sim.requests
        .filter((r) => r.method === method && r.path.startsWith(prefix))
        .map((r) => r.at - virtualMinusWall)
        .filter((t) => t >= from && t <= to);
      return { at };
    },
    reset: () => {
      sim.resetRequests();
      return {};
    },
  },
  async () => {
    await Promise.all(others.map((o) => o.sim.close()));
    await sim.close();
  },
);
process.send?.({ type: 'ready', url: sim.url, sources: others.map((o) => o.sim.source(`${o.kind}-bench`)) });
