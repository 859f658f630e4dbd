import type { Plugin } from 'graphql-yoga';

/**
 * Graceful drain: once `draining` fires, every running subscription's stream is ended (`return()`),
 * so it ends normally — graphql-ws sends `complete`, SSE sends its `complete` event — instead of
 * being cut; `/ready` (use-readiness.ts) turns 503 meanwhile. Nothing is added per event: the
 * plugin only keeps the set of running streams.
 */
export function useDrain(draining: AbortSignal): { plugin: Plugin; settled(timeoutMs: number): Promise<void> } {
  const running = new Set<AsyncIterator<unknown>>();
  let onIdle: (() => void) | undefined;
  draining.addEventListener('abort', () => {
    for (const stream of running) void stream.return?.();
  });
  const plugin: Plugin = {
    onSubscribe() {
      return {
        onSubscribeResult({ result }) {
          if (!isAsyncIterator(result)) return;
          running.add(result);
          if (draining.aborted) void result.return?.();
          return {
            onEnd: () => {
              running.delete(result);
              if (running.size === 0) onIdle?.();
            },
          };
        },
      };
    },
  };
  return {
    plugin,
    /** Resolves once every subscription has ended (their `complete` is on its way), or after timeoutMs. */
    settled: (timeoutMs) =>
      new Promise<void>((resolve) => {
        if (running.size === 0) return resolve();
        const timer = setTimeout(resolve, timeoutMs);
        onIdle = () => {
          clearTimeout(timer);
          // Let the transports write the `complete` messages before their sockets close.
          setImmediate(resolve);
        };
      }),
  };
}

function isAsyncIterator(value: unknown): value is AsyncIterator<unknown> & AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value && 'next' in value;
}
