import { getOperationAST, Kind, print, type ExecutionResult } from 'graphql';
import { Repeater, SlidingBuffer, type Plugin } from 'graphql-yoga';
import { stableStringify } from '../live/poller.js';
import type { Logger } from '../logger.js';

/**
 * Identical state subscriptions share one execution. Thousands of clients watching the same
 * operation would otherwise each run the same GraphQL execution on every change; here the first
 * one's stream is executed once per event and its results are fanned out, on every transport
 * (the plugin wraps envelop's subscribe, which graphql-ws and SSE both go through).
 *
 * Only fields whose stream is "the current state, then each new state" are shared, because a late
 * joiner can then be given the last result as its first event; such a field says so with the
 * extension `{ sharedState: true }` (see STATE_STREAM). Event streams such as operationsChanged
 * start differently for each subscriber and are not shared.
 *
 * The shared execution runs with the first subscriber's context: subscribers share it only when
 * their role is the same (the role is part of the key).
 */
/** Field extensions of a subscription field whose stream is state (current, then each change). */
export const STATE_STREAM = { sharedState: true } as const;

/**
 * A transport that can deliver a shared result itself puts this in the context (graphql-ws: one
 * frame per socket around the result serialised once). The shared execution then calls it directly,
 * in the same loop for every subscriber, instead of passing each result through a per-subscriber
 * async iterator; the stream handed back to the transport only completes.
 */
export type DirectSink = (result: ExecutionResult) => void;

/** Latest results kept for a slow subscriber: a state stream only needs the newest (the final one last). */
const SUBSCRIBER_BUFFER = 16;

interface SharedExecution {
  subscribers: Set<(result: ExecutionResult) => unknown>;
  closers: Set<() => void>;
  last: ExecutionResult | undefined;
  done: boolean;
  iterator: AsyncIterator<ExecutionResult>;
}

interface Entry {
  ready: Promise<SharedExecution | ExecutionResult>;
}

export function useSharedSubscriptions(logger: Logger): Plugin {
  const entries = new Map<string, Entry>();
  const forget = (key: string, entry: Entry) => {
    if (entries.get(key) === entry) entries.delete(key);
  };

  async function start(key: string, entry: Entry, subscribe: () => Promise<unknown>): Promise<SharedExecution | ExecutionResult> {
    const result = await subscribe();
    if (!isAsyncIterable(result)) {
      forget(key, entry); // refused (bad input): nothing to share
      return result as ExecutionResult;
    }
    const execution: SharedExecution = { subscribers: new Set(), closers: new Set(), last: undefined, done: false, iterator: result[Symbol.asyncIterator]() };
    void (async () => {
      try {
        for (;;) {
          const next = await execution.iterator.next();
          if (next.done) break;
          execution.last = next.value;
          for (const push of execution.subscribers) {
            try {
              void push(next.value);
            } catch (error) {
              logger.error({ err: error }, 'delivering a shared subscription result failed');
            }
          }
        }
      } catch (error) {
        // the source stream failed: every subscriber's stream ends below
        logger.error({ err: error }, 'shared subscription execution failed');
      } finally {
        execution.done = true;
        forget(key, entry);
        for (const close of execution.closers) close();
      }
    })();
    return execution;
  }

  return {
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const operation = getOperationAST(args.document, args.operationName);
      const [field, ...more] = operation?.selectionSet.selections ?? [];
      if (operation?.operation !== 'subscription' || more.length > 0 || field?.kind !== Kind.FIELD) return;
      const definition = args.schema.getSubscriptionType()?.getFields()[field.name.value];
      if (definition?.extensions['sharedState'] !== true) return;
      // The role joins the key: a viewer's execution is never shared with an operator's. A resumed
      // stream replays what its client missed, so it is its own.
      const role = (args.contextValue as { role?: string }).role ?? '';
      if ((args.contextValue as { lastEventId?: string }).lastEventId) return;
      const key = `${role}\u0000${args.operationName ?? ''}\u0000${stableStringify(args.variableValues ?? {})}\u0000${print(args.document)}`;
      setSubscribeFn((async (subscribeArgs: Parameters<typeof subscribeFn>[0]) => {
        let entry = entries.get(key);
        if (!entry) {
          const created: Entry = { ready: undefined as never };
          created.ready = start(key, created, async () => subscribeFn(subscribeArgs));
          entries.set(key, created);
          entry = created;
        }
        const execution = await entry.ready;
        if (!('subscribers' in execution)) return execution;
        const joined = entry;
        // A transport's direct sink gets the results itself; the stream handed back only completes.
        const direct = (subscribeArgs.contextValue as { directSink?: DirectSink }).directSink;
        return new Repeater<ExecutionResult>(async (push, stop) => {
          const deliver = direct ?? push;
          // Joined and given the last result in one synchronous step, so no result falls in between.
          execution.subscribers.add(deliver);
          execution.closers.add(stop);
          if (execution.last) void deliver(execution.last);
          if (execution.done) stop();
          await stop;
          execution.subscribers.delete(deliver);
          execution.closers.delete(stop);
          if (execution.subscribers.size === 0 && !execution.done) {
            forget(key, joined);
            void execution.iterator.return?.();
          }
        }, new SlidingBuffer(SUBSCRIBER_BUFFER));
      }) as typeof subscribeFn);
    },
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
