import type { DecodedId } from '../model/ids.js';
import type { HealthTracker } from './health.js';
import type { PollEvent } from '../live/poller.js';

/**
 * Something that, while watched, keeps the operation tracker fed with one upstream's state: a
 * shared poller (polled upstreams) or a stream session (pushing upstreams). Watchers of the same
 * key share one upstream loop. Values are the upstream resource; errors are delivered, not thrown.
 */
export interface LiveFeed {
  key: string;
  watch(signal?: AbortSignal): AsyncIterableIterator<PollEvent<unknown>>;
}

/**
 * The seam every upstream implements (docs/SOURCES.md); resolvers of vendor-specific fields use
 * the concrete class. Polled vendors get all of it from PolledSource (polled.ts).
 */
export interface SourceRuntime {
  readonly name: string;
  /** The config kind ("aiven"); GraphQL's SourceKind is derived from it. */
  readonly kind: string;
  readonly health: HealthTracker;
  /** Vendor software version when the upstream tells it. */
  version(): Promise<string | null>;
  /** One cheap upstream call to learn whether the source is reachable (for /ready). */
  probe(signal?: AbortSignal): Promise<void>;
  /** Fetches every operation of this source now (one call per scope) and feeds the tracker. */
  refreshOperations(signal?: AbortSignal): Promise<void>;
  /** Feeds that together keep every operation of this source live while watched. */
  feeds(signal?: AbortSignal): Promise<LiveFeed[]>;
  /** The feed that covers one operation of this source, if the id is one of its operations. */
  feedFor(operation: DecodedId): LiveFeed | undefined;
  close(): Promise<void>;
}
