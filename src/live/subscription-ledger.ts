import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { GatewayError } from '../errors.js';

/** The transports a subscription can run on (the `transport` label of `backupgraph_subscriptions`). */
export type Transport = 'graphql-ws' | 'sse';

interface Running {
  return?(): unknown;
}

/**
 * Every running subscription, on every transport, in one place: the caps (per connection and per
 * process, with a clear error instead of memory growing without bound), the gauge by transport,
 * and the set of streams a graceful drain ends (`return()`, so graphql-ws sends `complete` and SSE
 * its `complete` event instead of being cut).
 *
 * Subscriptions reach it two ways: through envelop (useSubscriptionLedger, every transport), and
 * directly from the graphql-ws transport for a subscriber that joins a running shared execution
 * without a pipeline of its own (transports/graphql-ws.ts).
 */
export class SubscriptionLedger {
  private readonly perSocket = new WeakMap<object, number>();
  private readonly running = new Set<Running>();
  private total = 0;
  private ending = false;
  private onIdle: (() => void) | undefined;

  constructor(
    private readonly limits: { perConnection: number; total: number },
    private readonly gauge: (transport: Transport, delta: 1 | -1) => void = () => undefined,
  ) {}

  /** Why one more subscription (on `socket`, for graphql-ws) is refused, as the client sees it; undefined when it may run. */
  refusal(socket?: object): GatewayError | undefined {
    const reason =
      socket && (this.perSocket.get(socket) ?? 0) >= this.limits.perConnection
        ? `at most ${this.limits.perConnection} subscriptions per connection`
        : this.total >= this.limits.total
          ? `the gateway runs at most ${this.limits.total} subscriptions`
          : undefined;
    return reason ? new GatewayError('LIMIT_EXCEEDED', `Subscription refused: ${reason}`) : undefined;
  }

  /** Counts a stream that started; the returned function (idempotent) is called when it ends. */
  open(stream: Running, transport: Transport, socket?: object): () => void {
    this.total++;
    if (socket) this.perSocket.set(socket, (this.perSocket.get(socket) ?? 0) + 1);
    this.gauge(transport, 1);
    this.running.add(stream);
    // Draining: ended once its caller has the function to call at its end.
    if (this.ending) queueMicrotask(() => void stream.return?.());
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      this.total--;
      if (socket) this.perSocket.set(socket, (this.perSocket.get(socket) ?? 1) - 1);
      this.gauge(transport, -1);
      this.running.delete(stream);
      if (this.running.size === 0) this.onIdle?.();
    };
  }

  /** Drain: ends every running stream, and every one that starts from now on. */
  endAll(): void {
    this.ending = true;
    for (const stream of this.running) void stream.return?.();
  }

  /** Resolves once every subscription has ended (their `complete` is on its way), or after timeoutMs. */
  settled(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.running.size === 0) return resolve();
      const timer = setTimeout(resolve, timeoutMs);
      this.onIdle = () => {
        clearTimeout(timer);
        // Let the transports write the `complete` messages before their sockets close.
        setImmediate(resolve);
      };
    });
  }
}

/** The ledger for subscriptions that run through envelop (SSE, and graphql-ws unless joined directly). */
export function useSubscriptionLedger(ledger: SubscriptionLedger): Plugin {
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const socket = (args.contextValue as { socket?: object }).socket;
      const refused = ledger.refusal(socket);
      if (refused) {
        setResultAndStopExecution({ errors: [refused] });
        return;
      }
      return {
        onSubscribeResult({ result }) {
          if (!isAsyncIterable(result)) return;
          const close = ledger.open(result as AsyncIterableIterator<unknown>, socket ? 'graphql-ws' : 'sse', socket);
          return { onEnd: close };
        },
      };
    },
  };
}
