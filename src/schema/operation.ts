import { badInput, isGatewayError } from '../errors.js';
import { eventPayload, watchOperation, watchOperations } from '../live/subscriptions.js';
import { decodeGlobalId } from '../model/ids.js';
import {
  OPERATION_CHANGES,
  OPERATION_KINDS,
  OPERATION_STATUSES,
  type OperationEvent,
  type OperationFilter,
  type OperationSnapshot,
  type OperationTransition,
} from '../model/operation.js';
import { STATE_STREAM } from '../plugins/use-shared-subscriptions.js';
import { builder } from './builder.js';
import { ProgressRef } from './progress.js';
import { SourceRef } from './source.js';

export const OperationKindEnum = builder.enumType('OperationKind', { values: OPERATION_KINDS });
export const OperationStatusEnum = builder.enumType('OperationStatus', {
  values: {
    PENDING: { description: 'Accepted or preparing, no data moved yet.' },
    RUNNING: {},
    SUCCEEDED: {},
    FAILED: {},
    CANCELLED: {},
    PARTIAL: { description: 'Finished, but some parts failed.' },
    TIMED_OUT: {},
    UNKNOWN: { description: 'The vendor reported a state the gateway does not know; see vendorStatus.' },
  } satisfies Record<(typeof OPERATION_STATUSES)[number], object>,
});
export const OperationChangeEnum = builder.enumType('OperationChange', { values: OPERATION_CHANGES });

export const OperationTransitionRef = builder.objectRef<OperationTransition>('OperationTransition').implement({
  description: 'One observed change of status or progress, from the history store.',
  fields: (t) => ({
    at: t.field({ type: 'DateTime', resolve: (tr) => tr.at }),
    status: t.field({ type: OperationStatusEnum, resolve: (tr) => tr.status }),
    percent: t.exposeFloat('percent', { nullable: true }),
    message: t.exposeString('message', { nullable: true }),
  }),
});

export const OperationRef = builder.interfaceRef<OperationSnapshot>('Operation').implement({
  description: 'Anything with progress: a backup or restore of any upstream, live or from history.',
  interfaces: [builder.nodeInterfaceRef()],
  resolveType: (op) => op.typename,
  fields: (t) => ({
    kind: t.field({ type: OperationKindEnum, resolve: (op) => op.kind }),
    source: t.field({ type: SourceRef, resolve: (op, _, ctx) => ctx.registry.get(op.source) }),
    status: t.field({ type: OperationStatusEnum, resolve: (op) => op.status }),
    vendorStatus: t.exposeString('vendorStatus', { nullable: true, description: 'The raw vendor value, always kept.' }),
    progress: t.field({ type: ProgressRef, resolve: (op) => op.progress }),
    message: t.exposeString('message', { nullable: true }),
    startedAt: t.field({ type: 'DateTime', nullable: true, resolve: (op) => op.startedAt }),
    updatedAt: t.field({ type: 'DateTime', nullable: true, resolve: (op) => op.updatedAt }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (op) => op.finishedAt }),
    transitions: t.field({
      type: [OperationTransitionRef],
      args: { last: t.arg.int({ description: 'Only the last N transitions.' }) },
      resolve: (op, args, ctx) => ctx.history.transitions(op.id, args.last ?? undefined),
    }),
  }),
});

export const OperationFilterInput = builder.inputType('OperationFilter', {
  fields: (t) => ({
    active: t.boolean({ description: 'true: only operations in flight; false: only finished ones.' }),
    kinds: t.field({ type: [OperationKindEnum] }),
    statuses: t.field({ type: [OperationStatusEnum] }),
    sources: t.stringList({ description: 'Configured source names.' }),
    since: t.field({ type: 'DateTime', description: 'Started (or first seen) at or after.' }),
  }),
});

export const OperationEventRef = builder.objectRef<OperationEvent>('OperationEvent').implement({
  fields: (t) => ({
    change: t.field({ type: OperationChangeEnum, resolve: (e) => e.change }),
    operation: t.field({ type: OperationRef, resolve: (e) => e.operation }),
    eventId: t.string({
      nullable: true,
      description:
        'Its place in the event log: give the last one you saw as `after` (or as `lastEventId` in graphql-ws connection_init, or Last-Event-ID over SSE) when reconnecting, to be given what you missed. Null for the STARTED events that open a stream and when the history could not record it.',
      resolve: (e) => e.eventId ?? null,
    }),
  }),
});

const MAX_PAGE = 500;
/** How long `operations` waits for its sources' listings before answering from history. */
const REFRESH_BUDGET_MS = 5_000;

function refreshError(source: string, reason: unknown): SourceError {
  if (isGatewayError(reason)) return { source, code: reason.code, message: reason.message };
  if ((reason as { name?: string } | null)?.name === 'TimeoutError') {
    return { source, code: 'UPSTREAM_TIMEOUT', message: `no answer within ${REFRESH_BUDGET_MS / 1000} s; its operations come from history` };
  }
  return { source, code: 'UPSTREAM_UNAVAILABLE', message: 'refresh failed' };
}

builder.queryFields((t) => ({
  operations: t.connection(
    {
      type: OperationRef,
      description:
        'Every backup and restore of every source, live and historical, newest first. Live sources are refreshed first; a source that fails is listed in sourceErrors and served from history.',
      args: { filter: t.arg({ type: OperationFilterInput }) },
      resolve: async (_, args, ctx) => {
        if (args.last != null || args.before != null) {
          throw badPagination('operations pages forward only: use first/after');
        }
        const first = args.first ?? 50;
        if (first < 0 || first > MAX_PAGE) throw badPagination(`first must be between 0 and ${MAX_PAGE}`);
        const filter = args.filter as OperationFilter | null | undefined;
        for (const name of filter?.sources ?? []) ctx.registry.get(name); // an unknown name is a BAD_USER_INPUT
        const wanted = ctx.registry.all().filter((s) => !filter?.sources?.length || filter.sources.includes(s.name));
        // A slow source cannot hold the page: past the budget it is listed in sourceErrors.
        const budget = AbortSignal.timeout(REFRESH_BUDGET_MS);
        const refreshed = await Promise.allSettled(wanted.map((s) => s.refreshOperations(budget)));
        const sourceErrors = refreshed.flatMap((r, i) => (r.status === 'rejected' ? [refreshError(wanted[i]!.name, r.reason)] : []));
        const page = await ctx.history.list(filter, { first, after: args.after ?? null });
        return {
          edges: page.items.map((node, i) => ({ cursor: page.cursors[i]!, node })),
          pageInfo: {
            hasNextPage: page.hasNextPage,
            hasPreviousPage: args.after != null,
            startCursor: page.cursors[0] ?? null,
            endCursor: page.endCursor,
          },
          sourceErrors,
        };
      },
    },
    {
      fields: (c) => ({
        sourceErrors: c.field({
          type: [SourceErrorRef],
          description: 'Sources that could not be refreshed for this page (their operations come from history).',
          resolve: (conn) => (conn as unknown as { sourceErrors: SourceError[] }).sourceErrors ?? [],
        }),
      }),
    },
  ),
  operation: t.field({
    type: OperationRef,
    nullable: true,
    description: 'One operation by ID: its live state when it is being watched, else the last observed state.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_, args, ctx) => {
      const id = String(args.id);
      decodeGlobalId(id);
      return ctx.tracker.current(id) ?? (await ctx.history.get(id)) ?? null;
    },
  }),
}));

interface SourceError {
  source: string;
  code: string;
  message: string;
}

const SourceErrorRef = builder.objectRef<SourceError>('SourceError').implement({
  fields: (t) => ({
    source: t.exposeString('source'),
    code: t.exposeString('code'),
    message: t.exposeString('message'),
  }),
});

function badPagination(message: string) {
  return badInput(message, { argument: 'first' });
}

builder.subscriptionFields((t) => ({
  operationUpdated: t.field({
    type: OperationRef,
    description:
      'The current state at once, then every change; completes after the final state. Each result carries extensions.eventId (when recorded): resume with it after a disconnection.',
    args: { id: t.arg.id({ required: true }), after: t.arg.string({ description: 'Resume after this event id (extensions.eventId of the last result seen): the events missed since are replayed first.' }) },
    extensions: STATE_STREAM,
    subscribe: (_, args, ctx) => watchOperation(ctx, String(args.id), args.after),
    resolve: (payload: OperationSnapshot | Error, _, ctx) => eventPayload(payload, ctx),
  }),
  operationsChanged: t.field({
    type: OperationEventRef,
    description:
      'An event per start, progress change and finish of any matching operation; the operations in flight come first as STARTED. With active: true, FINISHED events of those operations are still delivered.',
    args: { filter: t.arg({ type: OperationFilterInput }), after: t.arg.string({ description: 'Resume after this event id (extensions.eventId of the last result seen): the events missed since are replayed first.' }) },
    subscribe: (_, args, ctx) => watchOperations(ctx, args.filter as OperationFilter | null | undefined, args.after),
    resolve: (payload: OperationEvent | Error, _, ctx) => eventPayload(payload, ctx),
  }),
}));
