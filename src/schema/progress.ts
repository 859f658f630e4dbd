import type { Progress } from '../model/operation.js';
import { builder } from './builder.js';

export const ProgressRef = builder.objectRef<Progress>('Progress').implement({
  description: 'Normalised progress of an operation.',
  fields: (t) => ({
    percent: t.exposeFloat('percent', { nullable: true, description: '0..100; null when unknowable.' }),
    done: t.exposeFloat('done', { nullable: true }),
    total: t.exposeFloat('total', { nullable: true }),
    unit: t.exposeString('unit', { nullable: true, description: 'records, bytes, participants, percent, wal_lsn, …' }),
    ratePerSecond: t.exposeFloat('ratePerSecond', { nullable: true, description: 'Units of `unit` per second.' }),
    estimatedEndAt: t.field({ type: 'DateTime', nullable: true, resolve: (p) => p.estimatedEndAt }),
    estimated: t.exposeBoolean('estimated', { description: 'True when rate / ETA were computed by the gateway from successive samples.' }),
  }),
});
