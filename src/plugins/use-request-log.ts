import { randomUUID } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.js';

/**
 * One log line per HTTP request (at info in production, debug otherwise): request id (the
 * caller's `x-request-id`, or a new one, echoed in the response), method, path, operation name,
 * status and duration. Never the query's variables or headers.
 */
export function useRequestLog(logger: Logger, production = process.env['NODE_ENV'] === 'production'): Plugin {
  const started = new WeakMap<Request, { at: number; id: string; operationName?: string }>();
  const level = production ? 'info' : 'debug';
  return {
    onRequest({ request }) {
      const given = request.headers.get('x-request-id');
      started.set(request, { at: performance.now(), id: given && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID() });
    },
    onParams({ request, params }) {
      const entry = started.get(request);
      if (entry && typeof params.operationName === 'string') entry.operationName = params.operationName.slice(0, 100);
    },
    onResponse({ request, response, serverContext }) {
      const entry = started.get(request);
      if (!entry) return;
      void serverContext;
      response.headers.set('x-request-id', entry.id);
      const url = new URL(request.url, 'http://gateway');
      logger[level](
        { requestId: entry.id, method: request.method, path: url.pathname, operationName: entry.operationName, status: response.status, ms: Math.round(performance.now() - entry.at) },
        'request',
      );
    },
  };
}
