import type { GatewayConfig } from './config.js';
import type { GatewayServices } from './context.js';
import { RedisLoopElection } from './cluster/leases.js';
import type { RedisLink } from './cluster/redis-link.js';
import type { HistoryStore } from './history/history.js';
import { openHistoryStore } from './history/store.js';
import type { Logger } from './logger.js';
import { GatewayMetrics } from './metrics.js';
import { PollerHub, type PollerOptions } from './live/poller.js';
import { createGatewayPubSub } from './live/pubsub.js';
import { OperationTracker } from './live/tracker.js';
import { findKind } from './sources/kinds.js';
import { SourceRegistry } from './sources/registry.js';

const PRUNE_EVERY_MS = 60 * 60 * 1000;
const DEFAULT_EVENT_RETENTION_HOURS = 24;

/**
 * Progress-only changes of one operation closer together than this are published as one, the
 * latest (tracker.ts). Polls (a second or more apart) are never held, nor pushes as often as
 * ScaleTrade's simulator sends them (a second apart; the vendor documents no rate); a burst of
 * queries, each fetching a listing that has moved, is.
 */
export const PROGRESS_GAP_MS = 100;

/** What the gateway depends on besides its upstreams, for /ready. */
export interface Dependencies {
  history: HistoryStore;
  /** Present with `pubsub.redis`. */
  redis?: RedisLink;
}

/**
 * The long-lived parts of one gateway: history (SQLite, or PostgreSQL shared by several
 * instances), the event bus (in-process, or Redis), the shared poller with its election, the
 * tracker, and one runtime per configured source, each created by its kind (sources/kinds.ts).
 */
export async function createServices(
  config: GatewayConfig,
  logger: Logger,
  options: { pollTick?: PollerOptions['onTick'] } = {},
): Promise<GatewayServices & { dependencies: Dependencies; close(): Promise<void> }> {
  const metrics = new GatewayMetrics();
  const history = await openHistoryStore(config.history.postgres ? { postgres: config.history.postgres } : { sqlite: config.history.path }, {
    logger: logger.child({ component: 'history' }),
  });
  logger.info({ engine: history.engine }, 'history opened');
  const retention = { days: config.history.retentionDays, eventHours: config.history.eventRetentionHours ?? DEFAULT_EVENT_RETENTION_HOURS };
  const prune = async () => {
    try {
      const removed = await history.prune(retention);
      if (removed > 0) logger.info({ removed }, 'history pruned');
    } catch (error) {
      logger.error({ err: error }, 'history pruning failed');
    }
  };
  await prune();
  const pruning = setInterval(() => void prune(), PRUNE_EVERY_MS).unref();

  let redis: RedisLink | undefined;
  if (config.pubsub) {
    // ioredis is loaded only by deployments that use it.
    const { RedisLink } = await import('./cluster/redis-link.js');
    redis = new RedisLink({
      url: config.pubsub.redis.url,
      keyPrefix: config.pubsub.keyPrefix,
      logger: logger.child({ component: 'redis' }),
      onStatus: (up) => metrics.onRedisStatus(up),
    });
    // Start local-only rather than not at all when Redis is away; it joins when Redis answers.
    await redis.ready();
  }
  const pubsub = createGatewayPubSub(redis ? { eventTarget: redis.eventTarget } : {});
  const election = redis && config.pubsub ? new RedisLoopElection(redis, { leaseMs: config.pubsub.leaseMs, logger: logger.child({ component: 'leases' }) }) : undefined;
  const poller = new PollerHub({
    onCallbackError: (key, error) => logger.error({ err: error, feed: key }, 'live loop callback failed'),
    ...(options.pollTick ? { onTick: options.pollTick } : {}),
    ...(election ? { election } : {}),
  });
  const tracker = new OperationTracker({
    pubsub,
    history,
    onError: (error) => {
      metrics.historyWriteErrors.inc();
      logger.error({ err: error }, 'operation tracker could not record or publish an event');
    },
    onEvent: (event) => metrics.onOperationEvent(event),
    ...(redis ? { instanceId: redis.instanceId } : {}),
    // At most ten progress-only events per operation and second, however often it is listed.
    progressGapMs: PROGRESS_GAP_MS,
  });
  // Other instances' events keep this one's view current (and are what its subscribers get).
  const absorbing = redis ? absorb(pubsub.subscribe('operations'), tracker, logger) : undefined;
  const registry = new SourceRegistry(
    config.sources.map((source) => {
      const kind = findKind(source.kind)!; // the config was validated against the same registry
      return kind.create(source as never, { poller, tracker, history, logger: logger.child({ source: source.name, kind: source.kind }), ...(election ? { election } : {}) });
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
    dependencies: { history, ...(redis ? { redis } : {}) },
    async close() {
      clearInterval(pruning);
      poller.close();
      await registry.close();
      await absorbing?.stop();
      await tracker.settled();
      await redis?.close();
      await history.close();
    },
  };
}

function absorb(events: AsyncIterableIterator<Parameters<OperationTracker['absorb']>[0]>, tracker: OperationTracker, logger: Logger): { stop(): Promise<void> } {
  const running = (async () => {
    for await (const event of events) tracker.absorb(event);
  })().catch((error: unknown) => logger.error({ err: error }, 'absorbing other instances’ events failed'));
  return {
    async stop() {
      await events.return?.();
      await running;
    },
  };
}
