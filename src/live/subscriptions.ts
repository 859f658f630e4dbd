import { clearAllDataLoaders } from '@pothos/plugin-dataloader';
import { Repeater } from 'graphql-yoga';
import type { GatewayContext } from '../context.js';
import { GatewayError, isGatewayError } from '../errors.js';
import { decodeGlobalId } from '../model/ids.js';
import { isFinal, matchesFilter, type OperationEvent, type OperationFilter, type OperationSnapshot } from '../model/operation.js';
import type { Logger } from '../logger.js';
import type { LiveFeed } from '../sources/source.js';
import { MAX_REPLAY } from '../history/history.js';

/** A resumed stream replays at most this many pages of MAX_REPLAY events (older ones: the current state covers them). */
const MAX_REPLAY_PAGES = 10;

/**
 * The live streams behind the Subscription fields, transport-agnostic (graphql-ws and SSE both
 * consume these). Each holds leases on the shared feeds it needs while it runs, so upstream calls
 * stay one per resource per interval whatever the number of subscribers. Upstream failures are
 * delivered as Error payloads (the field resolver turns them into a GraphQL error for that event)
 * and the stream goes on.
 */

/** The history event id each streamed payload stands for (set when pushed, read when resolved). */
const eventIds = new WeakMap<object, string>();

function tagged<T extends object>(payload: T, eventId: string | undefined): T {
  if (eventId !== undefined) eventIds.set(payload, eventId);
  return payload;
}

/**
 * The resolver side of every subscription field: an Error payload becomes that event's GraphQL
 * error (the stream goes on); a value is resolved with fresh per-event loaders, and its event id
 * noted for the result's `extensions.eventId` (plugins/use-event-ids.ts).
 */
export function eventPayload<T>(payload: T | Error, ctx: GatewayContext): T {
  if (payload instanceof Error) throw payload;
  // A subscription keeps one context for all its events: each event starts with fresh loaders.
  clearAllDataLoaders(ctx);
  ctx.live.eventId = typeof payload === 'object' && payload !== null ? eventIds.get(payload) : undefined;
  return payload;
}

/** Event ids are decimal sequence numbers: a live event at or before the last replayed one was replayed. */
function replayedAlready(eventId: string | undefined, lastReplayed: bigint | null): boolean {
  if (eventId === undefined || lastReplayed === null) return false;
  try {
    return BigInt(eventId) <= lastReplayed;
  } catch {
    return false;
  }
}

/** Where a resumed stream starts: the `after` argument, else what the transport carried (Last-Event-ID, connection_init). */
function resumeFrom(ctx: GatewayContext, after: string | null | undefined): string | null {
  return after ?? ctx.lastEventId ?? null;
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

/**
 * Forwards a pubsub stream to push, listening at once (a pubsub iterator listens from its first
 * read) but handing events over only once `opened` resolves: what is published while the stream
 * sends its first state is kept, in order, not lost. A failure is logged and ends nothing else.
 */
function forward<T>(events: AsyncIterable<T>, opened: Promise<void>, handle: (event: T) => unknown, logger: Logger, what: string): void {
  void (async () => {
    for await (const event of events) {
      await opened;
      await handle(event);
    }
  })().catch((error: unknown) => logger.error({ err: error }, `${what} stream failed`));
}

function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

export function watchOperation(ctx: GatewayContext, id: string, after?: string | null): AsyncIterable<OperationSnapshot | Error> {
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
    let lastReplayed: bigint | null = null;
    const send = async (snapshot: OperationSnapshot, eventId?: string) => {
      // An event published between subscribing and reading the known state repeats that state.
      if (sentAny && snapshot.updatedAt !== null && snapshot.updatedAt === lastObservation) return;
      sentAny = true;
      lastObservation = snapshot.updatedAt;
      await push(tagged(snapshot, eventId));
      if (isFinal(snapshot.status)) stop();
    };

    const updates = ctx.pubsub.subscribe('operation', id);
    void stop.then(() => updates.return?.());
    const initial = gate();
    void stop.then(initial.open);
    forward(updates, initial.opened, (event) => (replayedAlready(event.eventId, lastReplayed) ? undefined : send(event.operation, event.eventId)), ctx.logger, 'operationUpdated');
    const resume = resumeFrom(ctx, after);
    if (resume !== null) {
      // A client back after a disconnection: the transitions it missed, in order, then live.
      let missed;
      try {
        missed = await ctx.history.eventsAfter(resume, { operationId: id });
      } catch (error) {
        await push(asError(error, sourceName));
        stop();
        return;
      }
      for (const event of missed) {
        await send(event.operation, event.eventId);
        lastReplayed = BigInt(event.eventId);
      }
      if (missed.some((event) => isFinal(event.operation.status))) return;
    }
    const known = ctx.tracker.current(id) ?? (await ctx.history.get(id));
    if (known) await send(known);
    if (known && isFinal(known.status)) return;
    initial.open();

    let sawValue = false;
    holdFeeds([feed], abort.signal, sourceName, push, () => {
      if (sawValue) return;
      sawValue = true;
      if (sentAny) return;
      // After the first successful poll the tracker knows every operation of the resource.
      void (async () => {
        const current = ctx.tracker.current(id) ?? (await ctx.history.get(id));
        if (current) await send(current);
        else {
          await push(new GatewayError('NOT_FOUND', 'No such operation: the upstream shows none for this ID and the history has none', { source: sourceName }));
          stop();
        }
      })().catch((error: unknown) => push(asError(error, sourceName)));
    }, ctx.logger);
    await stop;
  });
}

/** For events, `active: true` still lets FINISHED through (the end of an active operation); `active: false` keeps only FINISHED. */
function eventMatches(event: OperationEvent, filter: OperationFilter | null | undefined): boolean {
  if (filter?.active === false && event.change !== 'FINISHED') return false;
  return matchesFilter(event.operation, { ...filter, active: null });
}

export function watchOperations(ctx: GatewayContext, filter: OperationFilter | null | undefined, after?: string | null): AsyncIterable<OperationEvent | Error> {
  const sources = ctx.registry.all().filter((s) => !filter?.sources?.length || filter.sources.includes(s.name));
  for (const name of filter?.sources ?? []) ctx.registry.get(name); // unknown names are a BAD_USER_INPUT

  return new Repeater<OperationEvent | Error>(async (push, stop) => {
    const abort = new AbortController();
    void stop.then(() => abort.abort());
    const events = ctx.pubsub.subscribe('operations');
    void stop.then(() => events.return?.());
    let lastReplayed: bigint | null = null;
    const initial = gate();
    void stop.then(initial.open);
    forward(
      events,
      initial.opened,
      (event) => (eventMatches(event, filter) && !replayedAlready(event.eventId, lastReplayed) ? push(tagged(event, event.eventId)) : undefined),
      ctx.logger,
      'operationsChanged',
    );
    const resume = resumeFrom(ctx, after);
    if (resume !== null) {
      // A client back after a disconnection: the events it missed, in order, then live.
      try {
        let from = resume;
        for (let page = 0; page < MAX_REPLAY_PAGES; page += 1) {
          const missed = await ctx.history.eventsAfter(from, { limit: MAX_REPLAY });
          for (const event of missed) {
            if (eventMatches(event, filter)) await push(tagged(event, event.eventId));
            lastReplayed = BigInt(event.eventId);
            from = event.eventId;
          }
          if (missed.length < MAX_REPLAY) break;
        }
      } catch (error) {
        await push(asError(error, 'history'));
        stop();
        return;
      }
    } else {
      for (const operation of ctx.tracker.active()) {
        const event: OperationEvent = { change: 'STARTED', operation };
        if (eventMatches(event, filter)) await push(event);
      }
    }
    for (const source of sources) {
      source
        .feeds(abort.signal)
        .then((feeds) => holdFeeds(feeds, abort.signal, source.name, push, undefined, ctx.logger))
        .catch((error: unknown) => push(asError(error, source.name)));
    }
    initial.open();
    await stop;
  });
}
