import type { HistoryStore } from './history/store.js';
import type { PollerHub } from './live/poller.js';
import type { GatewayPubSub } from './live/pubsub.js';
import type { OperationTracker } from './live/tracker.js';
import { createAivenLoaders, type AivenLoaders } from './sources/aiven/loaders.js';
import type { SourceRegistry } from './sources/registry.js';

/** Long-lived parts of one gateway instance, shared by every request. */
export interface GatewayServices {
  registry: SourceRegistry;
  poller: PollerHub;
  pubsub: GatewayPubSub;
  tracker: OperationTracker;
  history: HistoryStore;
}

/** The GraphQL context: the shared services plus per-request batching loaders. */
export interface GatewayContext extends GatewayServices {
  loaders: { aiven: AivenLoaders };
}

export function createContext(services: GatewayServices): GatewayContext {
  return { ...services, loaders: createLoaders(services) };
}

/**
 * Loaders cache for the life of a context. A subscription keeps one context for all its events,
 * so each event starts with fresh loaders (see eventPayload) instead of yesterday's answers.
 */
export function createLoaders(services: GatewayServices): GatewayContext['loaders'] {
  return { aiven: createAivenLoaders(services.registry) };
}
