import type { GatewayConfig } from './config.js';
import type { GatewayServices } from './context.js';
import { openHistoryStore } from './history/store.js';
import type { Logger } from './logger.js';
import { GatewayMetrics } from './metrics.js';
import { PollerHub, type PollerOptions } from './live/poller.js';
import { createGatewayPubSub } from './live/pubsub.js';
import { OperationTracker } from './live/tracker.js';
import { findKind } from './sources/kinds.js';
import { SourceRegistry } from './sources/registry.js';

const PRUNE_EVERY_MS = 60 * 60 * 1000;

/**
 * The long-lived parts of one gateway: history, pubsub, the shared poller, the tracker, and one
 * runtime per configured source, each created by its kind (sources/kinds.ts).
 */
export function createServices(
  config: GatewayConfig,
  logger: Logger,
  options: { pollTick?: PollerOptions['onTick'] } = {},
): GatewayServices & { close(): Promise<void> } {
  const history = openHistoryStore(config.history.path);
  const prune = () => {
    try {
      const removed = history.prune(config.history.retentionDays);
      if (removed > 0) logger.info({ removed }, 'history pruned');
    } catch (error) {
      logger.error({ err: error }, 'history pruning failed');
    }
  };
  prune();
  const metrics = new GatewayMetrics();
  const pruning = setInterval(prune, PRUNE_EVERY_MS).unref();
  const pubsub = createGatewayPubSub();
  const poller = new PollerHub({
    onCallbackError: (key, error) => logger.error({ err: error, feed: key }, 'live loop callback failed'),
    ...(options.pollTick ? { onTick: options.pollTick } : {}),
  });
  const tracker = new OperationTracker({
    pubsub,
    history,
    onError: (error) => {
      metrics.historyWriteErrors.inc();
      logger.error({ err: error }, 'operation tracker could not record or publish an event');
    },
    onEvent: (event) => metrics.onOperationEvent(event),
  });
  const registry = new SourceRegistry(
    config.sources.map((source) => {
      const kind = findKind(source.kind)!; // the config was validated against the same registry
      return kind.create(source as never, { poller, tracker, history, logger: logger.child({ source: source.name, kind: source.kind }) });
    }),
  );
  metrics.watch({ registry, poller, tracker });
  return {
    metrics,
    registry,
    poller,
    pubsub,
    tracker,
    history,
    logger,
    async close() {
      clearInterval(pruning);
      poller.close();
      await registry.close();
      history.close();
    },
  };
}
