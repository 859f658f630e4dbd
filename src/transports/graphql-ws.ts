import type { Server } from 'node:http';
import type { ExecutionArgs, ExecutionResult } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Authenticator, Identity } from '../auth.js';
import { lastEventIdOf, type GatewayContext } from '../context.js';
import type { SubscriptionLedger } from '../live/subscription-ledger.js';
import type { PersistedOperations } from '../plugins/use-persisted-operations-only.js';
import type { DirectSink, SharedExecution, SharedSubscriptions } from '../plugins/use-shared-subscriptions.js';
import { SLOW_CONSUMER_BYTES, SLOW_CONSUMER_CLOSE } from './slow-consumer.js';

/** What onSubscribe leaves for graphql-ws's execute/subscribe call, in the arguments' rootValue. */
type Prepared =
  | { execute: (args: ExecutionArgs) => unknown; subscribe: (args: ExecutionArgs) => unknown }
  | { join: SharedExecution; sink: DirectSink; socket: WebSocket };

/** A shared result is the same object for every subscriber: serialised once for all of them. */
const serialisedResults = new WeakMap<object, string>();

function serialised(result: ExecutionResult): string {
  let json = serialisedResults.get(result);
  if (json === undefined) {
    // GraphQLError's toJSON gives the same shape graphql-ws would send.
    json = JSON.stringify(result);
    serialisedResults.set(result, json);
  }
  return json;
}

type SendCallback = (error?: Error) => void;

/**
 * A shared state subscription's results go straight to the socket (use-shared-subscriptions.ts,
 * DirectSink): the `next` frame is built around the result serialised once for all subscribers.
 */
function directSink(socket: WebSocket, id: string): DirectSink {
  const head = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
  return (result: ExecutionResult) => {
    if (socket.readyState !== socket.OPEN) return;
    socket.send(`${head}${serialised(result)}}`);
  };
}

/**
 * Wraps one socket's `send` with the slow-consumer limit, for every message (graphql-ws's own and
 * the direct sinks'). The callback is called at once rather than when the bytes reach the kernel,
 * so a subscriber that stops reading shows as a growing `bufferedAmount` (and is closed) instead of
 * silently stalling its subscriptions' loops.
 */
function wrapSend(socket: WebSocket, onSlowConsumer: () => void): void {
  const send = socket.send.bind(socket) as (data: string, callback: SendCallback) => void;
  const wrapped = (data: string, callback?: SendCallback) => {
    if (socket.readyState !== socket.OPEN) return callback?.();
    if (socket.bufferedAmount + data.length > SLOW_CONSUMER_BYTES) {
      socket.close(SLOW_CONSUMER_CLOSE.code, SLOW_CONSUMER_CLOSE.reason);
      onSlowConsumer();
      return callback?.();
    }
    send(data, () => undefined);
    callback?.();
  };
  socket.send = wrapped as typeof socket.send;
}

/**
 * graphql-ws on the same server and path as yoga, running through yoga's envelop so that both
 * transports share schema, context, masking and plugins. graphql-ws's own keep-alive pings every
 * `keepAliveMs` and drops a client that missed the previous pong, which also releases its
 * subscriptions and the upstream loops behind them.
 */
export function attachGraphqlWs(
  httpServer: Server,
  yoga: YogaServerInstance<Record<string, unknown>, GatewayContext>,
  options: {
    keepAliveMs: number;
    maskError: (error: unknown, message: string) => Error;
    maxPayloadBytes: number;
    authenticator: Authenticator;
    hostAllowed: (host: string | undefined) => boolean;
    shared: SharedSubscriptions;
    ledger: SubscriptionLedger;
    persisted?: PersistedOperations;
    onSlowConsumer?: () => void;
  },
): { close(): Promise<void> } {
  // The same size limit as an HTTP body: a larger message (a 99 MB connection_init) closes the socket (1009).
  const wsServer = new WebSocketServer({
    server: httpServer,
    path: yoga.graphqlEndpoint,
    maxPayload: options.maxPayloadBytes,
    verifyClient: ({ req }: { req: { headers: { host?: string } } }) => options.hostAllowed(req.headers.host),
  });
  // Registered before useServer's own listener, so the socket's send is wrapped before first use.
  wsServer.on('connection', (socket: WebSocket) => {
    let dropped = false;
    wrapSend(socket, () => {
      if (dropped) return; // counted once, however many sends were refused before the close
      dropped = true;
      options.onSlowConsumer?.();
    });
  });
  const disposable = useServer(
    {
      execute: (args) => (args.rootValue as Extract<Prepared, { execute: unknown }>).execute(args) as never,
      subscribe: (args) => {
        const prepared = args.rootValue as Prepared;
        if (!('join' in prepared)) return prepared.subscribe(args) as never;
        // Counted like any subscription (caps, gauge, drain), then attached to the running execution.
        const refused = options.ledger.refusal(prepared.socket);
        if (refused) return { errors: [refused] } as never;
        let close: () => void = () => undefined;
        const stream = options.shared.attach(prepared.join, prepared.sink, () => close());
        close = options.ledger.open(stream, 'graphql-ws', prepared.socket);
        return stream as never;
      },
      // The key travels in the connection_init payload: { authorization: "Bearer …" } (or { apiKey }).
      // No key where one is needed: 4401; a key the gateway does not know: 4403.
      onConnect: async (ctx) => {
        const payload = (ctx.connectionParams ?? {}) as { authorization?: unknown; apiKey?: unknown };
        const credential = typeof payload.authorization === 'string' ? payload.authorization : typeof payload.apiKey === 'string' ? payload.apiKey : undefined;
        const identity = await options.authenticator.identify(credential);
        if ('role' in identity) {
          (ctx.extra as { caller?: Identity }).caller = identity;
          return true;
        }
        if (identity.refused === 'missing') ctx.extra.socket.close(4401, 'Unauthorized');
        return false;
      },
      onSubscribe: async (ctx, id, params) => {
        const caller = (ctx.extra as { caller?: Identity }).caller;
        const socket = ctx.extra.socket;
        const sink = directSink(socket, id);
        const enveloped = yoga.getEnveloped({ ...ctx, req: ctx.extra.request, socket, params, caller, directSink: sink });
        let document;
        try {
          document = enveloped.parse(options.persisted ? options.persisted.resolve(params) : params.query);
        } catch (error) {
          return [options.maskError(error, 'Unexpected error.')] as never;
        }
        // A validation rule that throws (a limit) must become an error message, not a closed socket.
        let errors: readonly Error[];
        try {
          errors = enveloped.validate(enveloped.schema, document);
        } catch (error) {
          return [options.maskError(error, 'Unexpected error.')] as never;
        }
        if (errors.length) return errors as never;
        const args = { schema: enveloped.schema, operationName: params.operationName ?? null, document, variableValues: params.variables ?? null };
        // Identical to a running shared state subscription: joined directly, with no context, pipeline
        // or stream of its own (use-shared-subscriptions.ts); parsed, validated and counted all the same.
        const join = caller && 'role' in caller ? options.shared.joinable({ ...args, role: caller.role, lastEventId: lastEventIdOf({ connectionParams: ctx.connectionParams }) }) : undefined;
        if (join) return { ...args, contextValue: {}, rootValue: { join, sink, socket } satisfies Prepared };
        return {
          ...args,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe } satisfies Prepared,
        };
      },
    },
    wsServer,
    options.keepAliveMs,
  );
  return {
    async close() {
      await disposable.dispose(); // completes subscriptions and closes their sockets
      for (const client of wsServer.clients) client.terminate();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}
