import type { Server } from 'node:http';
import type { ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { Authenticator, Identity } from '../auth.js';
import type { GatewayContext } from '../context.js';
import type { PersistedOperations } from '../plugins/use-persisted-operations-only.js';

interface Enveloped {
  execute: (args: ExecutionArgs) => never;
  subscribe: (args: ExecutionArgs) => never;
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
  options: { keepAliveMs: number; maskError: (error: unknown, message: string) => Error; maxPayloadBytes: number; authenticator: Authenticator; hostAllowed: (host: string | undefined) => boolean; persisted?: PersistedOperations },
): { close(): Promise<void> } {
  // The same size limit as an HTTP body: a larger message (a 99 MB connection_init) closes the socket (1009).
  const wsServer = new WebSocketServer({
    server: httpServer,
    path: yoga.graphqlEndpoint,
    maxPayload: options.maxPayloadBytes,
    verifyClient: ({ req }: { req: { headers: { host?: string } } }) => options.hostAllowed(req.headers.host),
  });
  const disposable = useServer(
    {
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
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
      onSubscribe: async (ctx, _id, params) => {
        const caller = (ctx.extra as { caller?: Identity }).caller;
        const enveloped = yoga.getEnveloped({ ...ctx, req: ctx.extra.request, socket: ctx.extra.socket, params, caller });
        let document;
        try {
          document = enveloped.parse(options.persisted ? options.persisted.resolve(params) : params.query);
        } catch (error) {
          return [options.maskError(error, 'Unexpected error.')] as never;
        }
        const args: ExecutionArgs = {
          schema: enveloped.schema,
          operationName: params.operationName ?? null,
          document,
          variableValues: params.variables ?? null,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        };
        // A validation rule that throws (a limit) must become an error message, not a closed socket.
        let errors: readonly Error[];
        try {
          errors = enveloped.validate(args.schema, args.document);
        } catch (error) {
          return [options.maskError(error, 'Unexpected error.')] as never;
        }
        if (errors.length) return errors as never;
        return args;
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
