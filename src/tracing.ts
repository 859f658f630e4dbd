/**
 * OpenTelemetry traces (docs/ARCHITECTURE.md, "Errors and logging"), off unless
 * `tracing.otlpEndpoint` is set. The SDK and its exporter (about 28 MiB once loaded) are imported
 * only then: see tracing-otel.ts for what a span carries.
 */
import type { Plugin } from 'graphql-yoga';
import type { Logger } from './logger.js';

export interface TracingOptions {
  /**
   * The collector's OTLP/HTTP endpoint: a base URL (`http://collector:4318`, to which
   * `/v1/traces` is added) or the full traces URL (`…/v1/traces`). JSON over HTTP.
   */
  otlpEndpoint: string;
  /** `service.name` of the resource (default "backupgraph"). */
  serviceName?: string;
}

export interface Tracing {
  /** yoga/envelop plugins: a span per GraphQL operation. Place them first, so refusals are traced too. */
  plugins(): Plugin[];
  /** Runs one poll tick as its own root trace (a `poll` span with the feed key). */
  pollTick<R>(feed: string, tick: () => Promise<R>): Promise<R>;
  /** Ends upstream instrumentation, flushes the spans still buffered and shuts the exporter down. Idempotent. */
  close(): Promise<void>;
}

/** Tracing off: no plugins, ticks run as they are. */
export const NO_TRACING: Tracing = {
  plugins: () => [],
  pollTick: (_feed, tick) => tick(),
  close: async () => undefined,
};

/** Starts tracing to `options.otlpEndpoint`; without an endpoint, the no-op NO_TRACING. */
export async function startTracing(options: TracingOptions | undefined, logger: Logger): Promise<Tracing> {
  if (!options?.otlpEndpoint) return NO_TRACING;
  const { startOtelTracing } = await import('./tracing-otel.js');
  return startOtelTracing(options, logger);
}
