import type { Role } from './auth.js';
import type { HistoryStore } from './history/store.js';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';
import type { PollerHub } from './live/poller.js';
import type { GatewayPubSub } from './live/pubsub.js';
import type { OperationTracker } from './live/tracker.js';
import type { SourceRegistry } from './sources/registry.js';

/** Long-lived parts of one gateway instance, shared by every request. */
export interface GatewayServices {
  registry: SourceRegistry;
  poller: PollerHub;
  pubsub: GatewayPubSub;
  tracker: OperationTracker;
  history: HistoryStore;
  logger: Logger;
  metrics: GatewayMetrics;
}

/**
 * The GraphQL context. Per-request batching lives in the Pothos dataloader plugin, which keeps its
 * loaders on this object (a fresh one per request; renewed per event for subscriptions).
 */
export interface GatewayContext extends GatewayServices {
  /** What the caller may do (src/auth.ts). */
  role: Role;
  /** Who asked, without the key: "key#2" or "anonymous" (per-caller budgets). */
  caller: string;
}

export function createContext(services: GatewayServices, who: { role: Role; caller: string }): GatewayContext {
  return { ...services, role: who.role, caller: who.caller };
}
