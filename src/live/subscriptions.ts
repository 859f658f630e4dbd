import { clearAllDataLoaders } from '@pothos/plugin-dataloader';
import { Repeater } from 'graphql-yoga';
import type { GatewayContext } from '../context.js';
import { GatewayError, isGatewayError } from '../errors.js';
import { decodeGlobalId } from '../model/ids.js';
import { isFinal, matchesFilter, type OperationEvent, type OperationFilter, type OperationSnapshot } from '../model/operation.js';
import type { Logger } from '../logger.js';
import type { LiveFeed } from '../sources/source.js';

/**
 * The live streams behind the Subscription fields, transport-agnostic (graphql-ws and SSE both
 * consume these). Each holds leases on the shared feeds it needs while it runs, so upstream calls
 * stay one per resource per interval whatever the number of subscribers. Upstream failures are
 * delivered as Error payloads (the field resolver turns them into a GraphQL error for that event)
 * and the stream goes on.
 */

/**
 * The resolver side of every subscription field: an Error payload becomes that event's GraphQL
 * error (the stream goes on); a value is resolved with fresh per-event loaders.
 */
export function eventPayload<T>(payload: T | Error, ctx: GatewayContext): T {
  if (payload instanceof Error) throw payload;
  // A subscription keeps one context for all its events: each event starts with fresh loaders.
  clearAllDataLoaders(ctx);
  return payload;
}

export function asError(error: unknown, source: string): GatewayError {
  return isGatewayError(error) ? error : new GatewayError('UPSTREAM_UNAVAILABLE', 'live update failed', { source, cause: error });
}

/**
 * Holds the feeds while the stream runs; forwards their errors, and calls onValue for values. A
 * failure of the stream itself (a bug) is logged, never silent.
 */
export function holdFeeds(feeds: LiveFeed[], signal: AbortSignal, source: string, push: (e: Error) => unknown, onValue?: (v: unknown) => void, logger?: Logger): void {
  for (const feed of feeds) {
    void (async () => {
      for await (const event of feed.watch(signal)) {
        if (event.type === 'error') await push(asError(event.error, source));
        else onValue?.(event.value);
      }
    })().catch((error: unknown) => {
      logger?.error({ err: error, source, feed: feed.key }, 'live feed failed');
      void push(asError(error, source));
    });
  }
}

/** Forwards a pubsub stream to push; a failure is logged and ends nothing else. */
function forward<T>(events: AsyncIterable<T>, handle: (event: T) => unknown, logger: Logger, what: string): void {
  void (async () => {
    for await (const event of events) await handle(event);
  })().catch((error: unknown) => logger.error({ err: error }, `${what} stream failed`));
}

export function watchOperation(ctx: GatewayContext, id: string): AsyncIterable<OperationSnapshot | Error> {
  const decoded = decodeGlobalId(id);
  const sourceName = String(decoded.parts[0]);
  const source = ctx.registry.get(sourceName);
  const feed = source.feedFor(decoded);
  if (!feed) throw new GatewayError('BAD_USER_INPUT', 'id is not the ID of an operation', { details: { argument: 'id' } });

  return new Repeater<OperationSnapshot | Error>(async (push, stop) => {
    const abort = new AbortController();
    void stop.then(() => abort.abort());
    // The tracker publishes changes only, so the stream needs no comparison of its own (which would
    // cost a serialisation per subscriber per event): just the known state first, then its events.
    let sentAny = false;
    let lastObservation: string | null = null;
    const send = async (snapshot: OperationSnapshot) => {
      // An event published between subscribing and reading the known state repeats that state.
      if (sentAny && snapshot.updatedAt !== null && snapshot.updatedAt === lastObservation) return;
      sentAny = true;
      lastObservation = snapshot.updatedAt;
      await push(snapshot);
      if (isFinal(snapshot.status)) stop();
    };

    const updates = ctx.pubsub.subscribe('operation', id);
    void stop.then(() => updates.return?.());
    const known = ctx.tracker.current(id) ?? ctx.history.get(id);
    if (known) await send(known);
    if (known && isFinal(known.status)) return;

    forward(updates, (event) => send(event.operation), ctx.logger, 'operationUpdated');

    let sawValue = false;
    holdFeeds([feed], abort.signal, sourceName, push, () => {
      if (sawValue) return;
      sawValue = true;
      if (sentAny) return;
      // After the first successful poll the tracker knows every operation of the resource.
      const current = ctx.tracker.current(id) ?? ctx.history.get(id);
      if (current) void send(current);
      else {
        void push(new GatewayError('NOT_FOUND', 'No such operation: the upstream shows none for this ID and the history has none', { source: sourceName }));
        stop();
      }
    }, ctx.logger);
    await stop;
  });
}

/** For events, `active: true` still lets FINISHED through (the end of an active operation); `active: false` keeps only FINISHED. */
function eventMatches(event: OperationEvent, filter: OperationFilter | null | undefined): boolean {
  if (filter?.active === false && event.change !== 'FINISHED') return false;
  return matchesFilter(event.operation, { ...filter, active: null });
}

export function watchOperations(ctx: GatewayContext, filter: OperationFilter | null | undefined): AsyncIterable<OperationEvent | Error> {
  const sources = ctx.registry.all().filter((s) => !filter?.sources?.length || filter.sources.includes(s.name));
  for (const name of filter?.sources ?? []) ctx.registry.get(name); // unknown names are a BAD_USER_INPUT

  return new Repeater<OperationEvent | Error>(async (push, stop) => {
    const abort = new AbortController();
    void stop.then(() => abort.abort());
    const events = ctx.pubsub.subscribe('operations');
    void stop.then(() => events.return?.());
    for (const operation of ctx.tracker.active()) {
      const event: OperationEvent = { change: 'STARTED', operation };
      if (eventMatches(event, filter)) await push(event);
    }
    for (const source of sources) {
      source
        .feeds(abort.signal)
        .then((feeds) => holdFeeds(feeds, abort.signal, source.name, push, undefined, ctx.logger))
        .catch((error: unknown) => push(asError(error, source.name)));
    }
    forward(events, (event) => (eventMatches(event, filter) ? push(event) : undefined), ctx.logger, 'operationsChanged');
    await stop;
  });
}
