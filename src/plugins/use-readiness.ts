import type { Plugin } from 'graphql-yoga';
import type { Dependencies } from '../services.js';
import { sourceKindValue } from '../sources/kind.js';
import type { SourceRegistry } from '../sources/registry.js';

const DEPENDENCY_TIMEOUT_MS = 1_000;

/**
 * `/ready`: 200 once every source has been contacted at least once — reachable, or explicitly
 * DEGRADED/DOWN (listed in the body) — so an orchestrator can hold traffic until start-up probes
 * are done, without one bad upstream keeping the whole gateway out of service.
 *
 * The history must answer (PostgreSQL shared by several instances: without it nothing is recorded
 * and no client can catch up). Redis is reported but does not make the instance unready: without
 * it the instance serves its own subscribers (local-only) until Redis is back.
 *
 * A plain path comparison, not yoga's useReadinessCheck: that one tests a URLPattern against every
 * request that is not for /ready (about 1 % of a query's CPU).
 */
export function useReadiness(registry: SourceRegistry, dependencies: Dependencies, draining: AbortSignal): Plugin {
  const check = async (fetchAPI: { Response: typeof Response }): Promise<Response> => {
    const sources = registry.all().map((s) => ({ name: s.name, kind: sourceKindValue(s.kind), ...s.health.snapshot() }));
    const [history, redis] = await Promise.all([
      answers(dependencies.history.ping()),
      dependencies.redis ? answers(dependencies.redis.ping(DEPENDENCY_TIMEOUT_MS)) : undefined,
    ]);
    // Draining: out of service at once, whatever the sources say.
    const ready = !draining.aborted && history.ok && sources.every((s) => s.checked);
    const body = {
      ready,
      ...(draining.aborted ? { draining: true } : {}),
      history: { engine: dependencies.history.engine, status: history.ok ? 'UP' : 'DOWN', ...(history.ok ? {} : { error: history.error }) },
      ...(redis && dependencies.redis
        ? { redis: { status: redis.ok ? 'UP' : 'DOWN', instance: dependencies.redis.instanceId, ...(redis.ok ? {} : { error: redis.error, mode: 'local-only' }) } }
        : {}),
      sources: sources.map(({ name, kind, status, checked, lastError }) => ({ name, kind, status: checked ? status : 'PENDING', lastError })),
    };
    return new fetchAPI.Response(JSON.stringify(body), {
      status: ready ? 200 : 503,
      headers: { 'content-type': 'application/json' },
    });
  };
  return {
    onRequest({ url, fetchAPI, endResponse }) {
      if (url.pathname !== '/ready') return;
      return check(fetchAPI).then(endResponse);
    },
  };
}

/** Whether a dependency answered in time; the error is a short fixed text (never a URL or a credential). */
async function answers(check: Promise<void>): Promise<{ ok: true } | { ok: false; error: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), DEPENDENCY_TIMEOUT_MS);
      }),
    ]);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: error instanceof Error && error.message === 'timeout' ? 'no answer in time' : 'unreachable' };
  } finally {
    clearTimeout(timer);
  }
}
