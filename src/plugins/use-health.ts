import type { Plugin } from 'graphql-yoga';

/** `/health`: the process is up (liveness), with a small JSON body; sources are `/ready`'s concern. */
export function useHealth(version: string, draining: AbortSignal): Plugin {
  const started = Date.now();
  return {
    onRequest({ url, fetchAPI, endResponse }) {
      if (url.pathname !== '/health') return;
      const body = { status: draining.aborted ? 'draining' : 'ok', version, uptimeSeconds: Math.round((Date.now() - started) / 1000) };
      endResponse(new fetchAPI.Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } }));
    },
  };
}
