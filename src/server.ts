import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { GatewayConfig, SourceConfig } from './config.js';
import { createContext, type GatewayContext, type GatewayServices } from './context.js';
import { openHistoryStore } from './history/store.js';
import { PollerHub } from './live/poller.js';
import { createGatewayPubSub } from './live/pubsub.js';
import { OperationTracker } from './live/tracker.js';
import { maskError } from './plugins/mask-errors.js';
import { useReadiness } from './plugins/use-readiness.js';
import { useSharedSubscriptions } from './plugins/use-shared-subscriptions.js';
import { startHeartbeat } from './plugins/ws-heartbeat.js';
import { schema } from './schema/index.js';
import { AivenSource } from './sources/aiven/source.js';
import { SourceRegistry } from './sources/registry.js';
import type { SourceRuntime } from './sources/source.js';

export interface Gateway {
  /** e.g. http://127.0.0.1:4000/graphql */
  url: string;
  port: number;
  httpServer: Server;
  yoga: YogaServerInstance<Record<string, unknown>, GatewayContext>;
  services: GatewayServices;
  /** Closes subscriptions, sockets, pollers and the history store. Idempotent. */
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** Log lines (start-up, probes); default console.log. */
  log?: (line: string) => void;
  /** GraphiQL's initial query. */
  defaultQuery?: string;
  /** How often WebSocket clients are pinged; one missed pong ends the connection (default 30 s). */
  heartbeatMs?: number;
}

function createSource(config: SourceConfig, services: Pick<GatewayServices, 'poller' | 'tracker'>): SourceRuntime {
  switch (config.kind) {
    case 'aiven':
      return new AivenSource(config, services);
  }
}

export async function createGateway(config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> {
  const log = options.log ?? ((line: string) => console.log(line));
  const history = openHistoryStore(config.history.path);
  history.prune(config.history.retentionDays);
  const pruning = setInterval(() => history.prune(config.history.retentionDays), 60 * 60 * 1000).unref();
  const pubsub = createGatewayPubSub();
  const poller = new PollerHub();
  const tracker = new OperationTracker({ pubsub, history });
  const registry = new SourceRegistry(config.sources.map((s) => createSource(s, { poller, tracker })));
  const services: GatewayServices = { registry, poller, pubsub, tracker, history };

  const yoga = createYoga<Record<string, unknown>, GatewayContext>({
    schema,
    context: () => createContext(services),
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health',
    landingPage: false,
    maskedErrors: { maskError },
    graphiql: {
      title: 'backupgraph',
      subscriptionsProtocol: 'WS',
      ...(options.defaultQuery ? { defaultQuery: options.defaultQuery } : {}),
    },
    renderGraphiQL,
    plugins: [useReadiness(registry), useSharedSubscriptions()],
    logging: 'warn',
  });

  const httpServer = createServer(yoga);
  const wsServer = new WebSocketServer({ server: httpServer, path: yoga.graphqlEndpoint });
  // graphql-ws runs through yoga's envelop, so both transports share schema, context, masking.
  const wsDisposable = useServer(
    {
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const enveloped = yoga.getEnveloped({ ...ctx, req: ctx.extra.request, socket: ctx.extra.socket, params });
        let document;
        try {
          document = enveloped.parse(params.query);
        } catch (error) {
          return [maskError(error, 'Unexpected error.')] as never;
        }
        const args: ExecutionArgs = {
          schema: enveloped.schema,
          operationName: params.operationName ?? null,
          document,
          variableValues: params.variables ?? null,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        };
        const errors = enveloped.validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
    },
    wsServer,
  );

  const stopHeartbeat = startHeartbeat(wsServer, options.heartbeatMs ?? 30_000);

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.listen.port, config.listen.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const port = (httpServer.address() as AddressInfo).port;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  const url = `http://${host}:${port}/graphql`;

  // Start-up probes feed /ready and Source.health; a failing upstream does not stop the gateway.
  for (const source of registry.all()) {
    source.probe(AbortSignal.timeout(15_000)).then(
      () => log(`source ${source.name} (${source.kind}): reachable`),
      (error: unknown) => {
        if (!source.health.snapshot().checked) source.health.failure(error);
        log(`source ${source.name} (${source.kind}): ${source.health.snapshot().status}: ${source.health.snapshot().lastError ?? 'unreachable'}`);
      },
    );
  }

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      clearInterval(pruning);
      stopHeartbeat();
      poller.close();
      await wsDisposable.dispose(); // completes graphql-ws subscriptions and closes their sockets
      for (const client of wsServer.clients) client.terminate();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
      await yoga.dispose();
      httpServer.closeAllConnections(); // ends SSE streams and idle keep-alive sockets
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await registry.close();
      history.close();
    })());

  return { url, port, httpServer, yoga, services, close };
}

interface Enveloped {
  execute: (args: ExecutionArgs) => never;
  subscribe: (args: ExecutionArgs) => never;
}
