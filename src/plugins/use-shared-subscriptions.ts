import { getOperationAST, GraphQLError, Kind, print, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { isAsyncIterable, Repeater, SlidingBuffer, type Plugin } from 'graphql-yoga';
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
 * their role is the same (the role is part of the key). Its results are masked (maskError) once,
 * before they are fanned out, since a direct sink does not pass them through envelop.
 *
 * A graphql-ws subscriber that is identical to a running shared execution joins it directly
 * (`joinable`, then `attach`): no context, envelop pipeline or stream of its own, only its sink in
 * the execution's set and a small iterator that ends with it. That is most of a subscriber's memory
 * at scale (BENCHMARKS.md).
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

export interface SharedExecution {
  key: string;
  subscribers: Set<(result: ExecutionResult) => unknown>;
  closers: Set<() => void>;
  last: ExecutionResult | undefined;
  done: boolean;
  iterator: AsyncIterator<ExecutionResult>;
}

interface Entry {
  ready: Promise<SharedExecution | ExecutionResult>;
  /** Set once the execution runs: what a direct join attaches to. */
  execution?: SharedExecution;
}

/** What decides whether two subscriptions may share one execution. */
export interface ShareableRequest {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null | undefined;
  variableValues?: Readonly<Record<string, unknown>> | null | undefined;
  role: string | undefined;
  lastEventId: string | undefined;
}

export interface SharedSubscriptions {
  plugin: Plugin;
  /** The running shared execution this subscription is identical to, if any (graphql-ws joins it directly). */
  joinable(request: ShareableRequest): SharedExecution | undefined;
  /**
   * Joins `execution` with `sink`: it gets the last result at the first `next()`, then every
   * result; the iterator ends when the execution does or on `return()`, and calls `onEnd` once.
   */
  attach(execution: SharedExecution, sink: DirectSink, onEnd: () => void): AsyncIterableIterator<never>;
}

/** The printed form of a (cached, so reused) document: part of the key, printed once. */
const printed = new WeakMap<DocumentNode, string>();

/** The key of a shareable subscription, or undefined when it is not one. */
function shareKey(request: ShareableRequest): string | undefined {
  const operation = getOperationAST(request.document, request.operationName);
  const [field, ...more] = operation?.selectionSet.selections ?? [];
  if (operation?.operation !== 'subscription' || more.length > 0 || field?.kind !== Kind.FIELD) return undefined;
  const definition = request.schema.getSubscriptionType()?.getFields()[field.name.value];
  if (definition?.extensions['sharedState'] !== true) return undefined;
  // A resumed stream replays what its client missed, so it is its own.
  if (request.lastEventId) return undefined;
  let text = printed.get(request.document);
  if (text === undefined) printed.set(request.document, (text = print(request.document)));
  // The role joins the key: a viewer's execution is never shared with an operator's.
  return `${request.role ?? ''}\u0000${request.operationName ?? ''}\u0000${stableStringify(request.variableValues ?? {})}\u0000${text}`;
}

export function sharedSubscriptions(logger: Logger, maskError: (error: unknown, message: string) => Error): SharedSubscriptions {
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
    const execution: SharedExecution = { key, subscribers: new Set(), closers: new Set(), last: undefined, done: false, iterator: (result as AsyncIterable<ExecutionResult>)[Symbol.asyncIterator]() };
    void (async () => {
      try {
        for (;;) {
          const next = await execution.iterator.next();
          if (next.done) break;
          const result = masked(next.value);
          execution.last = result;
          for (const push of execution.subscribers) {
            try {
              void push(result);
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
    entry.execution = execution;
    return execution;
  }

  /** Errors masked once for every subscriber (a direct sink's results do not pass envelop's masking). */
  function masked(result: ExecutionResult): ExecutionResult {
    if (!result.errors?.length) return result;
    return { ...result, errors: result.errors.map((error) => maskError(error, 'Unexpected error.') as GraphQLError) };
  }

  /** The one way into and out of a running execution (SharedSubscriptions.attach). */
  function attach(execution: SharedExecution, sink: DirectSink, onEnd: () => void): AsyncIterableIterator<never> {
    let joined = false;
    let ended = false;
    let endStream!: (result: IteratorResult<never>) => void;
    const end = new Promise<IteratorResult<never>>((resolve) => (endStream = resolve));
    const finish = () => {
      if (ended) return;
      ended = true;
      execution.subscribers.delete(sink);
      execution.closers.delete(finish);
      if (execution.subscribers.size === 0 && !execution.done) {
        if (entries.get(execution.key)?.execution === execution) entries.delete(execution.key);
        void execution.iterator.return?.();
      }
      endStream({ done: true, value: undefined });
      onEnd();
    };
    return {
      next() {
        // Joined and given the last result in one synchronous step, so no result falls in between.
        if (!joined && !ended) {
          joined = true;
          execution.subscribers.add(sink);
          execution.closers.add(finish);
          if (execution.last) sink(execution.last);
          if (execution.done) finish();
        }
        return end;
      },
      return() {
        finish();
        return end;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  const plugin: Plugin = {
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const context = args.contextValue as { role?: string; lastEventId?: string };
      const key = shareKey({ ...args, role: context.role, lastEventId: context.lastEventId });
      if (key === undefined) return;
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
        // A transport's direct sink gets the results itself; the stream handed back only completes.
        const direct = (subscribeArgs.contextValue as { directSink?: DirectSink }).directSink;
        if (direct) return attach(execution, direct, () => undefined);
        return new Repeater<ExecutionResult>(async (push, stop) => {
          const joined = attach(execution, (result) => void push(result), () => stop());
          void joined.next();
          await stop;
          await joined.return!();
        }, new SlidingBuffer(SUBSCRIBER_BUFFER));
      }) as typeof subscribeFn);
    },
  };

  return {
    plugin,
    joinable(request) {
      const key = shareKey(request);
      return key === undefined ? undefined : entries.get(key)?.execution;
    },
    attach,
  };
}
