import { isAsyncIterable, mapAsyncIterator, type Plugin } from 'graphql-yoga';
import type { ExecutionResult } from 'graphql';
import type { GatewayContext } from '../context.js';

/**
 * Each subscription result that stands for a recorded event carries its id in
 * `extensions.eventId`, on every transport: a client that reconnects gives the last one back (as
 * `after`, graphql-ws connection_init `lastEventId`, or SSE Last-Event-ID) and is replayed what it
 * missed.
 *
 * The id is noted by the field resolver of the event being resolved (live/subscriptions.ts:
 * eventPayload) and read right after that event's execution, which is the next step of the same
 * stream (events of one subscription are executed one at a time). This plugin must come before
 * useSharedSubscriptions, so that a shared execution's results already carry their ids.
 */
export function useEventIds(): Plugin<GatewayContext> {
  return {
    onSubscribe({ subscribeFn, setSubscribeFn }) {
      setSubscribeFn((async (args: Parameters<typeof subscribeFn>[0]) => {
        const result = await subscribeFn(args);
        const live = (args.contextValue as Partial<GatewayContext>).live;
        if (!live || !isAsyncIterable(result)) return result;
        return mapAsyncIterator(result as AsyncIterable<ExecutionResult>, (value: ExecutionResult) => {
          const eventId = live.eventId;
          live.eventId = undefined;
          return eventId === undefined ? value : { ...value, extensions: { ...value.extensions, eventId } };
        });
      }) as typeof subscribeFn);
    },
  };
}
