/**
 * Child process: the Aiven simulator (realtime clock, demoScenario()).
 * Env: BENCH_TOKEN; BENCH_SIM_ADVANCE_MS (advance the virtual clock this far at start, so the
 * restores are already in a phase that moves).
 * Calls: `requests { method, prefix, from, to }` → `{ at: number[] }`, wall-clock ms (Date.now()
 * of this machine) at which each matching request reached the simulator.
 */
import { demoScenario } from '../src/sources/aiven/scenarios.js';
import { startAivenSimulator } from '../src/sources/aiven/simulator.js';
import { serveParent } from './ipc.js';

const token = process.env['BENCH_TOKEN'] ?? 'bench-token';
const advance = Number(process.env['BENCH_SIM_ADVANCE_MS'] ?? '0');
const sim = await startAivenSimulator({ token, scenario: demoScenario(), clock: 'realtime' });
sim.advance(advance);
// realtime clock: sim.now() - Date.now() is a constant from here on (the advance, to the ms).
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
