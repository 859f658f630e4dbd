import type { Role } from './auth.js';
import type { HistoryStore } from './history/history.js';
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
  /** The last event a reconnecting client saw (SSE Last-Event-ID, graphql-ws connection_init `lastEventId`). */
  lastEventId?: string;
  /** Per subscription: the event id of the result being resolved (for extensions.eventId). */
  live: { eventId?: string | undefined };
}

export function createContext(services: GatewayServices, who: { role: Role; caller: string }, lastEventId?: string): GatewayContext {
  return { ...services, role: who.role, caller: who.caller, live: {}, ...(lastEventId ? { lastEventId } : {}) };
}

/** A resume point carried by the transport: SSE's Last-Event-ID header, or graphql-ws connection_init's `lastEventId`. */
export function lastEventIdOf(initial: { request?: Request; connectionParams?: unknown }): string | undefined {
  const fromInit = (initial.connectionParams as { lastEventId?: unknown } | undefined)?.lastEventId;
  const value = typeof fromInit === 'string' ? fromInit : initial.request?.headers.get('last-event-id');
  return value ? value.slice(0, 40) : undefined;
}
