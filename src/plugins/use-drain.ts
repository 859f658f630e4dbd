import { Repeater, type Plugin } from 'graphql-yoga';
import type { ExecutionResult } from 'graphql';

/**
 * Graceful drain: once `draining` fires, every running subscription ends normally — graphql-ws
 * sends `complete`, SSE sends its `complete` event — instead of being cut, and `/ready` (see
 * use-readiness.ts) turns 503 so the load balancer stops sending traffic.
 */
export function useDrain(draining: AbortSignal): { plugin: Plugin; settled(timeoutMs: number): Promise<void> } {
  let running = 0;
  let onIdle: (() => void) | undefined;
  const plugin: Plugin = {
    onSubscribe() {
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) return;
          setResult(
            new Repeater<ExecutionResult>(async (push, stop) => {
              running++;
              const iterator = result[Symbol.asyncIterator]();
              const end = () => stop();
              if (draining.aborted) end();
              draining.addEventListener('abort', end, { once: true });
              void stop.then(() => iterator.return?.());
              try {
                for (;;) {
                  const next = await Promise.race([iterator.next(), stop.then(() => ({ done: true, value: undefined }) as const)]);
                  if (next.done) break;
                  await push(next.value);
                }
              } finally {
                draining.removeEventListener('abort', end);
                stop();
                if (--running === 0) onIdle?.();
              }
            }),
          );
        },
      };
    },
  };
  return {
    plugin,
    /** Resolves once every subscription has ended (their `complete` is on its way), or after timeoutMs. */
    settled: (timeoutMs) =>
      new Promise<void>((resolve) => {
        if (running === 0) return resolve();
        const timer = setTimeout(resolve, timeoutMs);
        onIdle = () => {
          clearTimeout(timer);
          // Let the transports write the `complete` messages before their sockets close.
          setImmediate(resolve);
        };
      }),
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
