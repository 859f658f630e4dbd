import type { HealthSnapshot } from '../sources/health.js';
import { SOURCE_KINDS, type SourceRuntime } from '../sources/source.js';
import { builder } from './builder.js';

export const SourceKindEnum = builder.enumType('SourceKind', { values: SOURCE_KINDS });
export const HealthStatusEnum = builder.enumType('HealthStatus', {
  values: {
    UP: { description: 'The last call to the upstream succeeded.' },
    DEGRADED: { description: 'Recent calls failed but the upstream answered before.' },
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
  }),
});

export const SourceRef = builder.objectRef<SourceRuntime>('Source');

builder.node(SourceRef, {
  description: 'A configured upstream instance.',
  id: { resolve: (s) => JSON.stringify([s.name]) },
  loadOne: (id, ctx) => {
    const [name] = JSON.parse(id) as [string];
    return ctx.registry.has(name) ? ctx.registry.get(name) : null;
  },
  isTypeOf: () => true,
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The configured name, used as the `source` argument elsewhere.' }),
    kind: t.field({ type: SourceKindEnum, resolve: (s) => s.kind }),
    health: t.field({ type: SourceHealthRef, resolve: (s) => s.health.snapshot() }),
    version: t.string({ nullable: true, description: 'Upstream software version, when the vendor reports one.', resolve: (s) => s.version() }),
  }),
});

builder.queryField('sources', (t) =>
  t.field({ type: [SourceRef], description: 'Every configured upstream with its health.', resolve: (_, __, ctx) => ctx.registry.all() }),
);

builder.queryField('source', (t) =>
  t.field({ type: SourceRef, args: { name: t.arg.string({ required: true }) }, resolve: (_, args, ctx) => ctx.registry.get(args.name) }),
);
