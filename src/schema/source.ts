import type { ObjectRef } from '@pothos/core';
import type { HealthSnapshot } from '../sources/health.js';
import { sourceKindValue } from '../sources/kind.js';
import { SOURCE_KIND_VALUES } from '../sources/kinds.js';
import type { SourceRuntime } from '../sources/source.js';
import type { GatewayContext } from '../context.js';
import { builder } from './builder.js';

/**
 * Sources (docs/ARCHITECTURE.md "The schema"): `Source` is an interface every kind's source type
 * implements; cross-vendor questions sit at the root, each kind's detail behind its entry field
 * (`aiven(source:)`, …) registered with `sourceEntryField`.
 */

export const SourceKindEnum = builder.enumType('SourceKind', { values: SOURCE_KIND_VALUES });
export const HealthStatusEnum = builder.enumType('HealthStatus', {
  values: {
    UP: { description: 'The last call to the upstream succeeded and its answers were readable.' },
    DEGRADED: { description: 'Recent calls failed, or some items of a listing could not be read.' },
    DOWN: { description: 'The upstream has not answered for several calls (or never did).' },
  },
});

export const SourceHealthRef = builder.objectRef<HealthSnapshot>('SourceHealth').implement({
  fields: (t) => ({
    status: t.field({ type: HealthStatusEnum, resolve: (h) => h.status }),
    lastSuccessAt: t.field({ type: 'DateTime', nullable: true, resolve: (h) => h.lastSuccessAt }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'The last failure, without secrets.' }),
    lastErrorAt: t.field({ type: 'DateTime', nullable: true, resolve: (h) => h.lastErrorAt }),
    latencyMs: t.exposeFloat('latencyMs', { nullable: true, description: 'Smoothed upstream call latency.' }),
    malformedItems: t.exposeInt('malformedItems', { description: 'Upstream items that could not be read since start (each left out of its listing).' }),
  }),
});

export const SourceRef = builder.interfaceRef<SourceRuntime>('Source').implement({
  description: 'A configured upstream instance; each kind has its own type with the vendor\'s detail.',
  interfaces: [builder.nodeInterfaceRef()],
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The configured name, used as the `source` argument elsewhere.' }),
    kind: t.field({ type: SourceKindEnum, resolve: (s) => sourceKindValue(s.kind) }),
    health: t.field({ type: SourceHealthRef, resolve: (s) => s.health.snapshot() }),
    version: t.string({ nullable: true, description: 'Upstream software version, when the vendor reports one.', resolve: (s) => s.version() }),
  }),
});

/** The options every kind's source type shares: a Node (by name) implementing Source. */
export function sourceNode<T extends SourceRuntime>(kind: string) {
  return {
    interfaces: [SourceRef],
    id: { resolve: (s: T) => JSON.stringify([s.name]) },
    isTypeOf: (s: unknown) => typeof s === 'object' && s !== null && (s as SourceRuntime).kind === kind,
    loadOne: (id: string, ctx: GatewayContext): T | null => {
      const [name] = JSON.parse(id) as [string];
      const source = ctx.registry.has(name) ? ctx.registry.get(name) : null;
      return source?.kind === kind ? (source as T) : null;
    },
  };
}

/**
 * The entry point of one kind: `aiven(source: String)`. `source` may be left out when exactly
 * one source of the kind is configured; naming a source of another kind is BAD_USER_INPUT.
 */
export function sourceEntryField<T extends SourceRuntime>(fieldName: string, kind: string, ref: ObjectRef<any, T>, vendor: string): void {
  builder.queryField(fieldName, (t) =>
    t.field({
      type: ref,
      description: `The ${vendor} source named \`source\` (may be left out when exactly one is configured), with everything ${vendor} tells.`,
      args: { source: t.arg.string() },
      // The generic ref defeats Pothos's inference of the parent shape; the registry checked the kind.
      resolve: (_, args, ctx) => ctx.registry.ofKind<T>(kind, vendor, args.source ?? undefined) as never,
    }),
  );
}

builder.queryField('sources', (t) =>
  t.field({ type: [SourceRef], description: 'Every configured upstream with its health.', resolve: (_, __, ctx) => ctx.registry.all() }),
);

builder.queryField('source', (t) =>
  t.field({ type: SourceRef, args: { name: t.arg.string({ required: true }) }, resolve: (_, args, ctx) => ctx.registry.get(args.name) }),
);
