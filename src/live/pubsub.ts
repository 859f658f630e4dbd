/**
 * The gateway's pubsub: a thin seam over graphql-yoga's `createPubSub`, so that a distributed event
 * target (e.g. `@graphql-yoga/redis-event-target`) can be plugged in without touching publishers
 * or subscribers. Payloads are plain JSON-serialisable data (OperationEvent), so they can cross
 * process boundaries.
 *
 * Topics:
 * - `operation` keyed by operation id → OperationEvent of that operation;
 * - `operations` → every OperationEvent.
 */
import { setMaxListeners } from 'node:events';
import { createPubSub, SlidingBuffer, type PubSub, type PubSubEventTarget } from 'graphql-yoga';
import type { OperationEvent } from '../model/operation.js';

export type GatewayPubSubTopics = {
  operation: [id: string, event: OperationEvent];
  operations: [event: OperationEvent];
};

export type GatewayPubSub = PubSub<GatewayPubSubTopics>;
export type GatewayEventTarget = PubSubEventTarget<GatewayPubSubTopics>;

export interface GatewayPubSubOptions {
  /** Distributed event target (Redis, …); an in-memory EventTarget when absent. */
  eventTarget?: GatewayEventTarget;
  /**
   * Events buffered per subscriber before the oldest are dropped (default 1024). Keeps a slow
   * subscriber from either growing memory without bound or overflowing the repeater (which would
   * throw inside the event dispatch).
   */
  subscriberBuffer?: number;
}

export function createGatewayPubSub(options: GatewayPubSubOptions = {}): GatewayPubSub {
  const eventTarget: GatewayEventTarget = options.eventTarget ?? (new EventTarget() as GatewayEventTarget);
  // Thousands of subscribers to one operation are normal here, not a leak.
  if (eventTarget instanceof EventTarget) setMaxListeners(0, eventTarget);
  const capacity = Math.max(1, Math.floor(options.subscriberBuffer ?? 1024));
  const publisher = createPubSub<GatewayPubSubTopics>({ eventTarget });
  return {
    publish: publisher.publish,
    // A buffer holds state, so every subscription needs its own: yoga shares the configured one
    // among all the repeaters of a pubsub, hence one (cheap) pubsub per subscription here, all on
    // the same event target.
    subscribe: ((...args: Parameters<GatewayPubSub['subscribe']>) =>
      createPubSub<GatewayPubSubTopics>({
        eventTarget,
        repeaterBuffer: new SlidingBuffer(capacity),
      }).subscribe(...args)) as GatewayPubSub['subscribe'],
  };
}
