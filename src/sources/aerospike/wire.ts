import { z } from 'zod';
import { wireDecoder } from '../decode.js';

/**
 * Lenient zod schemas of ABS wire items (docs/upstreams/aerospike-backup-service.md): unknown keys
 * survive, every field the vendor may leave out (`omitempty`, older builds) is optional, and
 * enum-like fields are plain strings so unknown values are kept.
 */

const count = z.number().nonnegative().optional().nullable();
const text = z.string().optional().nullable();

export const runningJobSchema = z.looseObject({
  'total-records': count,
  'done-records': count,
  'start-time': text,
  'finish-time': text,
  'percentage-done': z.number().optional().nullable(),
  'estimated-end-time': text,
  metrics: z
    .looseObject({
      'records-per-second': z.number().optional().nullable(),
      'kilobytes-per-second': z.number().optional().nullable(),
      pipeline: z.number().optional().nullable(),
    })
    .optional()
    .nullable(),
  duration: z.number().optional().nullable(),
});
export type RunningJobWire = z.infer<typeof runningJobSchema>;

export const routineStateSchema = z.looseObject({
  full: runningJobSchema.optional().nullable(),
  incremental: runningJobSchema.optional().nullable(),
  'last-full': text,
  'last-incremental': text,
  'next-full': text,
  'next-incremental': text,
});
export type RoutineStateWire = z.infer<typeof routineStateSchema>;

const storageSchema = z.record(z.string(), z.unknown());

export const backupDetailsSchema = z.looseObject({
  key: z.string().min(1),
  created: text,
  timestamp: z.number().optional().nullable(),
  finished: text,
  'finished-timestamp': z.number().optional().nullable(),
  duration: z.number().optional().nullable(),
  from: text,
  namespace: text,
  'record-count': count,
  'byte-count': count,
  'file-count': count,
  'secondary-index-count': count,
  'udf-count': count,
  storage: storageSchema.optional().nullable(),
  compression: text,
  encryption: text,
});
export type BackupDetailsWire = z.infer<typeof backupDetailsSchema>;

export const restoreJobStatusSchema = z.looseObject({
  status: z.string(),
  error: text,
  'read-records': count,
  'total-bytes': count,
  'expired-records': count,
  'skipped-records': count,
  'ignored-records': count,
  'inserted-records': count,
  'existed-records': count,
  'fresher-records': count,
  'index-count': count,
  'udf-count': count,
  'errors-in-doubt': count,
  'current-job': runningJobSchema.optional().nullable(),
});
export type RestoreJobStatusWire = z.infer<typeof restoreJobStatusSchema>;

export const seedNodeSchema = z.looseObject({ 'host-name': z.string(), port: z.number(), 'tls-name': text });

export const clusterSchema = z.looseObject({
  'seed-nodes': z.array(seedNodeSchema),
  credentials: z
    .looseObject({ user: text, password: text, 'password-path': text, 'auth-mode': text })
    .optional()
    .nullable(),
  'conn-timeout': z.number().optional().nullable(),
  label: text,
  'max-parallel-scans': z.number().optional().nullable(),
  tls: z.record(z.string(), z.unknown()).optional().nullable(),
  'use-services-alternate': z.boolean().optional().nullable(),
});
export type ClusterWire = z.infer<typeof clusterSchema>;

const stringList = z.array(z.string()).optional().nullable();

export const routineSchema = z.looseObject({
  'interval-cron': z.string(),
  namespaces: z.array(z.string()).optional().nullable(),
  'source-cluster': z.string(),
  storage: z.string(),
  'backup-policy': text,
  'incr-interval-cron': text,
  'set-list': stringList,
  'bin-list': stringList,
  'node-list': z.array(z.unknown()).optional().nullable(),
  'partition-list': text,
  'rack-list': z.array(z.unknown()).optional().nullable(),
  'prefer-racks': z.array(z.unknown()).optional().nullable(),
  'filter-exp': text,
  disabled: z.boolean().optional().nullable(),
  'secret-agent': text,
  'schedule-timezone': text,
});
export type RoutineWire = z.infer<typeof routineSchema>;

export const storageConfigSchema = storageSchema;

export const versionObjectSchema = z.looseObject({ version: z.string(), 'build-time': text, commit: text });
export const versionSchema = z.union([z.string().min(1), versionObjectSchema]);
export type VersionWire = z.infer<typeof versionSchema>;

/** Reads `raw` with `schema`, throwing an Error that names what and the bad field (never its value). */
export function decodeWith<T>(schema: z.ZodType<T>, what: string, raw: unknown): T {
  return wireDecoder(schema, what)(raw) as T;
}
