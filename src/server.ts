import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { Authenticator, OPEN_AUTH } from './auth.js';
import type { GatewayConfig } from './config.js';
import { createContext, lastEventIdOf, type GatewayContext, type GatewayServices } from './context.js';
import { createLogger, type Logger } from './logger.js';
import { createMaskError } from './plugins/mask-errors.js';
import { useAuth, type Caller } from './plugins/use-auth.js';
import { hostChecker, useHostCheck } from './plugins/use-host-check.js';
import { useRequestLog } from './plugins/use-request-log.js';
import { useProgressPage } from './page/use-progress-page.js';
import { useBodyLimit } from './plugins/use-body-limit.js';
import { useEventIds } from './plugins/use-event-ids.js';
import { useSseEventIds } from './transports/sse-event-ids.js';
import { useSseSlowConsumers } from './transports/sse-slow-consumers.js';
import { renderGraphiQLOnFirstUse } from './plugins/use-graphiql.js';
import { useHealth } from './plugins/use-health.js';
import { persistedOperations } from './plugins/use-persisted-operations-only.js';
import { DEFAULT_LIMITS, useQueryLimits } from './plugins/use-query-limits.js';
import { useReadiness } from './plugins/use-readiness.js';
import { sharedSubscriptions } from './plugins/use-shared-subscriptions.js';
import { SubscriptionLedger, useSubscriptionLedger } from './live/subscription-ledger.js';
import { schema } from './schema/index.js';
import { createServices } from './services.js';
import { startTracing, type TracingOptions } from './tracing.js';
import type { SourceRegistry } from './sources/registry.js';
import { attachGraphqlWs } from './transports/graphql-ws.js';

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

/** Largest request body and WebSocket message, unless the config says otherwise. */
const DEFAULT_MAX_BODY_BYTES = 1_000_000;

export interface GatewayOptions {
  /** The structured logger (default: JSON lines on stdout at LOG_LEVEL or info). */
  logger?: Logger;
  /** GraphiQL's initial query. */
  defaultQuery?: string;
  /** How often graphql-ws pings clients; one missed pong ends the connection (default 12 s). */
  keepAliveMs?: number;
  /** On close: how long in-flight requests may take to finish before their sockets are cut (default 10 s). */
  drainMs?: number;
  /** Reported by /health (default: package.json's). */
  version?: string;
  /** OpenTelemetry traces to an OTLP endpoint (default: the config's `tracing`; off when neither). */
  tracing?: TracingOptions;
}

/** One gateway: the shared services, yoga (HTTP, SSE, GraphiQL) and graphql-ws on one port. */
export async function createGateway(config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> {
  const logger = options.logger ?? createLogger();
  const tracing = await startTracing(options.tracing ?? config.tracing, logger);
  const services = await createServices(config, logger, { pollTick: tracing.pollTick });
  const maskError = createMaskError(logger);
  const maxBodyBytes = config.http?.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const corsOrigins = config.http?.cors?.origins ?? [];
  const hostAllowed = hostChecker(config.http?.allowedHosts, config.listen.host);
  const authenticator = new Authenticator(config.auth ?? OPEN_AUTH);
  const auth = useAuth(authenticator, '/graphql');
  const persisted = config.persistedOperations ? persistedOperations(config.persistedOperations) : undefined;
  const draining = new AbortController();
  const limits = { ...DEFAULT_LIMITS, ...config.limits };
  const ledger = new SubscriptionLedger({ perConnection: limits.subscriptionsPerConnection, total: limits.subscriptions }, (transport, delta) =>
    services.metrics.subscriptions.inc({ transport }, delta),
  );
  // Draining ends every running subscription normally (graphql-ws `complete`, SSE's `complete` event).
  draining.signal.addEventListener('abort', () => ledger.endAll());
  const shared = sharedSubscriptions(logger, maskError);

  const yoga = createYoga<Record<string, unknown>, GatewayContext>({
    schema,
    // graphql-ws puts the role it checked at connection_init in the initial context; HTTP's comes from useAuth.
    context: (initial) =>
      createContext(services, (initial as { caller?: Caller }).caller ?? auth.identityOf((initial as { request?: Request }).request), lastEventIdOf(initial as never)),
    graphqlEndpoint: '/graphql',
    // yoga's own liveness answer has an empty body; /health is use-health.ts's, with JSON.
    healthCheckEndpoint: '/.well-known/yoga-health',
    landingPage: false,
    maskedErrors: { maskError },
    graphiql: {
      title: 'backupgraph',
      subscriptionsProtocol: 'WS',
      ...(options.defaultQuery ? { defaultQuery: options.defaultQuery } : {}),
    },
    renderGraphiQL: renderGraphiQLOnFirstUse(),
    // Browsers may call only from configured origins; a cross-site "simple" request (form or
    // multipart POST, no preflight) must carry a header a form cannot set.
    cors: corsOrigins.length > 0 ? { origin: corsOrigins, credentials: false, methods: ['GET', 'POST'] } : false,
    multipart: false,
    // use-body-limit.ts applies it, more cheaply.
    maxRequestBodySize: false,
    plugins: [
      // First, so that refusals by the plugins after it are traced too.
      ...tracing.plugins(),
      useRequestLog(logger.child({ component: 'http' })),
      useHostCheck(hostAllowed),
      useBodyLimit(maxBodyBytes),
      auth.plugin as never,
      useCSRFPrevention({ requestHeaders: ['x-graphql-csrf', 'graphql-preflight', 'apollo-require-preflight'] }),
      useHealth(options.version ?? packageVersion(), draining.signal),
      useProgressPage(),
      ...(persisted ? [persisted.plugin] : []),
      ...useQueryLimits(config.limits),
      useReadiness(services.registry, services.dependencies, draining.signal),
      useSubscriptionLedger(ledger),
      useEventIds(),
      useSseEventIds(),
      useSseSlowConsumers(logger.child({ component: 'sse' }), services.metrics), // after every plugin that rewrites the SSE body
      shared.plugin,
      ...services.metrics.plugins(),
    ],
    logging: logger.child({ component: 'yoga' }),
  });

  const httpServer = createServer(yoga);
  let port: number;
  try {
    port = await listen(httpServer, config.listen);
  } catch (error) {
    // A port in use: nothing else was started on the socket; release what the services hold.
    await services.close();
    await tracing.close();
    throw error;
  }
  // After listening, so that a listen error is the caller's one clear error, not graphql-ws's log.
  const ws = attachGraphqlWs(httpServer, yoga, { keepAliveMs: options.keepAliveMs ?? 12_000, maskError, maxPayloadBytes: maxBodyBytes, authenticator, hostAllowed, shared, ledger, ...(persisted ? { persisted } : {}),
    onSlowConsumer: () => {
      services.metrics.slowConsumersDropped.inc({ transport: 'graphql-ws' });
      logger.warn({ component: 'graphql-ws' }, 'slow consumer dropped: send buffer full');
    },
  });
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  probeSources(services.registry, logger);

  let closing: Promise<void> | undefined;
  /**
   * Graceful: /ready turns 503 and new connections are refused; every subscription ends with
   * `complete` (graphql-ws and SSE); in-flight requests finish (up to drainMs, then their sockets
   * are cut); then upstream loops and sessions stop and history is closed.
   */
  const close = () =>
    (closing ??= (async () => {
      draining.abort();
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeIdleConnections();
      await ledger.settled(2_000);
      await ws.close();
      const deadline = setTimeout(() => httpServer.closeAllConnections(), options.drainMs ?? config.shutdown?.drainMs ?? 10_000);
      await closed;
      clearTimeout(deadline);
      await yoga.dispose();
      await services.close();
      await tracing.close();
    })());

  return { url: `http://${host}:${port}/graphql`, port, httpServer, yoga, services, close };
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function listen(server: Server, at: { host: string; port: number }): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Start-up probes feed /ready and Source.health; a failing upstream does not stop the gateway. */
function probeSources(registry: SourceRegistry, logger: Logger): void {
  for (const source of registry.all()) {
    const log = logger.child({ source: source.name, kind: source.kind });
    source.probe(AbortSignal.timeout(15_000)).then(
      () => log.info('source reachable'),
      (error: unknown) => {
        if (!source.health.snapshot().checked) source.health.failure(error);
        const health = source.health.snapshot();
        log.warn({ status: health.status, lastError: health.lastError }, 'source probe failed');
      },
    );
  }
}
