import { useReadinessCheck, type Plugin } from 'graphql-yoga';
import { sourceKindValue } from '../sources/kind.js';
import type { SourceRegistry } from '../sources/registry.js';

/**
 * `/ready`: 200 once every source has been contacted at least once — reachable, or explicitly
 * DEGRADED/DOWN (listed in the body) — so an orchestrator can hold traffic until start-up probes
 * are done, without one bad upstream keeping the whole gateway out of service.
 */
export function useReadiness(registry: SourceRegistry, draining: AbortSignal): Plugin {
  return useReadinessCheck({
    endpoint: '/ready',
    check: ({ fetchAPI }) => {
      const sources = registry.all().map((s) => ({ name: s.name, kind: sourceKindValue(s.kind), ...s.health.snapshot() }));
      // Draining: out of service at once, whatever the sources say.
      const ready = !draining.aborted && sources.every((s) => s.checked);
      const body = {
        ready,
        ...(draining.aborted ? { draining: true } : {}),
        sources: sources.map(({ name, kind, status, checked, lastError }) => ({ name, kind, status: checked ? status : 'PENDING', lastError })),
      };
      return new fetchAPI.Response(JSON.stringify(body), {
        status: ready ? 200 : 503,
        headers: { 'content-type': 'application/json' },
      });
    },
  });
}
