/**
 * Child process: the Aiven simulator (realtime clock, demoScenario()).
 * Env: BENCH_TOKEN; BENCH_SIM_REWIND_MS (start the virtual clock this far in the past, so the
 * restores are already in a phase that moves).
 * Calls: `requests { method, prefix, from, to }` → `{ at: number[] }`, wall-clock ms (Date.now()
 * of this machine) at which each matching request reached the simulator.
 */
import { demoScenario } from '../src/sources/aiven/scenarios.js';
import { startAivenSimulator } from '../src/sources/aiven/simulator.js';
import { serveParent } from './ipc.js';

const token = process.env['BENCH_TOKEN'] ?? 'bench-token';
const rewind = Number(process.env['BENCH_SIM_REWIND_MS'] ?? '0');
const sim = await startAivenSimulator({ token, scenario: demoScenario(), clock: 'realtime', startAt: Date.now() - rewind });
// realtime clock: sim.now() - Date.now() is a constant (the rewind, to the ms).
const virtualMinusWall = sim.now() - Date.now();

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
  () => sim.close(),
);
process.send?.({ type: 'ready', url: sim.url });
