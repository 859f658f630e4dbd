import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { AuthConfig, Role } from './auth.js';
import { secretRef, type SecretRef } from './sources/kind.js';
import { findKind, KINDS, type SourceConfig } from './sources/kinds.js';

export type { SourceConfig };

/**
 * Configuration: a JSON or YAML file, validated at start. Secrets are never written in the file:
 * they are `{ "env": "NAME" }` references, resolved here from the environment. No file at all means
 * demo mode (see demo.ts).
 */


const fileConfig = z
  .object({
    listen: z
      .object({ host: z.string().min(1).default('127.0.0.1'), port: z.number().int().min(0).max(65_535).default(4000) })
      .strict()
      .default({ host: '127.0.0.1', port: 4000 }),
    dataDir: z.string().min(1).default('./data'),
    sources: z.array(z.unknown()).min(1, 'at least one source'),
    history: z
      .object({
        path: z.string().min(1).optional(),
        retentionDays: z.number().positive().default(30),
        eventRetentionHours: z.number().positive().default(24),
        postgres: secretRef.optional(),
        schema: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'a PostgreSQL schema name').optional(),
      })
      .strict()
      .refine((h) => !(h.path && h.postgres), 'path (SQLite) and postgres are exclusive')
      .default({ retentionDays: 30, eventRetentionHours: 24 }),
    pubsub: z
      .object({
        redis: secretRef,
        keyPrefix: z.string().min(1).max(100).default('backupgraph:'),
        leaseMs: z.number().int().min(1_000).max(60_000).default(5_000),
      })
      .strict()
      .optional(),
    http: z
      .object({
        cors: z.object({ origins: z.array(z.url()).default([]) }).strict().optional(),
        maxBodyBytes: z.number().int().min(1_024).optional(),
        allowedHosts: z.array(z.string().min(1)).optional(),
      })
      .strict()
      .optional(),
    tracing: z
      .object({
        otlpEndpoint: z
          .url({ protocol: /^https?$/ })
          .refine((u) => !new URL(u).username && !new URL(u).password, 'no credentials in the URL (use OTEL_EXPORTER_OTLP_HEADERS)'),
        serviceName: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    persistedOperations: z
      .object({ file: z.string().min(1), only: z.boolean().default(true) })
      .strict()
      .optional(),
    shutdown: z
      .object({ drainMs: z.number().int().min(0).max(600_000).default(10_000) })
      .strict()
      .optional(),
    auth: z
      .object({
        keys: z
          .array(z.object({ env: secretRef.shape.env, role: z.enum(['viewer', 'operator']) }).strict())
          .default([]),
        anonymousRole: z.enum(['none', 'viewer', 'operator']).optional(),
        jwt: z
          .object({ jwksUrl: z.url(), issuer: z.string().min(1), audience: z.string().min(1).optional(), roleClaim: z.string().min(1).default('role') })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    limits: z
      .object({
        depth: z.number().int().min(1).optional(),
        aliases: z.number().int().min(1).optional(),
        tokens: z.number().int().min(10).optional(),
        directives: z.number().int().min(1).optional(),
        cost: z.number().int().min(1).optional(),
        subscriptionsPerConnection: z.number().int().min(1).optional(),
        subscriptions: z.number().int().min(1).optional(),
        introspection: z.boolean().optional(),
        mutationsPerRequest: z.number().int().min(1).optional(),
        mutationsPerMinute: z.number().int().min(1).optional(),
        nodeIds: z.number().int().min(1).optional(),
        upstreamCalls: z.number().int().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/**
 * The configuration file's JSON Schema (config.schema.json, for editors), generated from the same
 * zod schemas that validate it: the file's keys with every registered kind's source keys.
 */
export function configJsonSchema(): Record<string, unknown> {
  const kinds = KINDS.map((k) => k.config) as unknown as [z.ZodObject, z.ZodObject, ...z.ZodObject[]];
  const file = fileConfig.extend({ sources: z.array(z.discriminatedUnion('kind', kinds)).min(1) });
  return {
    ...z.toJSONSchema(file, { io: 'input', unrepresentable: 'any' }),
    title: 'backupgraph configuration',
  };
}

export interface HttpConfig {
  /** Origins allowed to call the gateway from a browser; none by default (no CORS headers). */
  cors?: { origins: string[] };
  /** Largest request body and WebSocket message (default 1 MB). */
  maxBodyBytes?: number;
  /** Host names the gateway answers to (DNS rebinding); default: loopback names when listening on loopback. */
  allowedHosts?: string[];
}

/** Refused before execution, on every transport (src/plugins/use-query-limits.ts). */
export interface QueryLimitsConfig {
  depth?: number;
  aliases?: number;
  tokens?: number;
  directives?: number;
  cost?: number;
  /** Running subscriptions per graphql-ws connection (default 100) and per process (default 20,000). */
  subscriptionsPerConnection?: number;
  subscriptions?: number;
  /** Schema introspection (default on: GraphiQL and codegen need it). */
  introspection?: boolean;
  /** Mutations per request (default 5) and per caller per minute (default 60); IDs per nodes(ids:) (default 100). */
  mutationsPerRequest?: number;
  mutationsPerMinute?: number;
  nodeIds?: number;
  /** Upstream calls one query may make, counted before execution (default 50). */
  upstreamCalls?: number;
}

export interface HistoryConfig {
  /** The SQLite file (when postgres is absent). */
  path: string;
  retentionDays: number;
  /** How long the event log keeps events for clients that reconnect (default 24 h). */
  eventRetentionHours?: number;
  /** PostgreSQL URL (from the environment) and schema. */
  postgres?: { url: string; schema: string };
}

export interface PubSubConfig {
  redis: { url: string };
  /** Prefix of every Redis key and channel (several deployments can share one Redis). */
  keyPrefix: string;
  /** A lease not renewed for this long is taken over by another instance (default 5 s). */
  leaseMs: number;
}

export interface GatewayConfig {
  listen: { host: string; port: number };
  dataDir: string;
  sources: SourceConfig[];
  /** SQLite file by default; PostgreSQL (shared by several instances) when `postgres` is set. */
  history: HistoryConfig;
  /** Several instances: events and upstream-loop leases shared through Redis. */
  pubsub?: PubSubConfig;
  http?: HttpConfig;
  limits?: QueryLimitsConfig;
  /** Absent: no keys, callers are viewers (mutations refused). */
  auth?: AuthConfig;
  /** On SIGTERM: how long in-flight requests may take to finish (default 10 s). */
  shutdown?: { drainMs: number };
  /** A file of persisted operations (id → document); with `only`, nothing else runs. */
  persistedOperations?: { file: string; only: boolean };
  /** OpenTelemetry traces, off unless an OTLP endpoint is given (src/tracing.ts). */
  tracing?: { otlpEndpoint: string; serviceName?: string };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Directory relative paths in the file are resolved against (default: the file's own). */
  baseDir?: string;
}

export async function loadConfigFile(path: string, options: LoadOptions = {}): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = ['.yaml', '.yml'].includes(extname(path).toLowerCase()) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid ${extname(path).startsWith('.y') ? 'YAML' : 'JSON'}: ${(error as Error).message}`);
  }
  return parseConfig(raw, { ...options, baseDir: options.baseDir ?? resolve(path, '..') });
}

/** Validates a parsed config object; every error names the key path and what was expected. */
export function parseConfig(raw: unknown, options: LoadOptions = {}): GatewayConfig {
  const env = options.env ?? process.env;
  const base = fileConfig.safeParse(raw);
  if (!base.success) throw new ConfigError(describe(base.error));
  // Instances sharing events must share the history too: event ids (catch-up), one record per
  // change and takeovers all rely on one log.
  if (base.data.pubsub && !base.data.history.postgres) {
    throw new ConfigError('pubsub.redis: several instances need a shared history: set history.postgres as well');
  }
  const names = new Set<string>();
  const sources = base.data.sources.map((entry, index): SourceConfig => {
    const at = `sources[${index}]`;
    const kind = (entry as { kind?: unknown } | null)?.kind;
    const definition = typeof kind === 'string' ? findKind(kind) : undefined;
    if (!definition) {
      const supported = KINDS.map((k) => k.kind).join(', ');
      throw new ConfigError(`${at}.kind: ${JSON.stringify(kind ?? null)} is not a known kind (supported: ${supported})`);
    }
    const parsed = definition.config.safeParse(entry);
    if (!parsed.success) throw new ConfigError(describe(parsed.error, ['sources', index]));
    const name = (parsed.data as { name: string }).name;
    if (names.has(name)) throw new ConfigError(`${at}.name: duplicate source name "${name}"`);
    names.add(name);
    return resolveSecrets(parsed.data, at, env) as SourceConfig;
  });
  const baseDir = options.baseDir ?? process.cwd();
  const dataDir = resolve(baseDir, base.data.dataDir);
  return {
    listen: base.data.listen,
    dataDir,
    sources,
    history: {
      path: base.data.history.path ? resolve(baseDir, base.data.history.path) : resolve(dataDir, 'history.db'),
      retentionDays: base.data.history.retentionDays,
      eventRetentionHours: base.data.history.eventRetentionHours,
      ...(base.data.history.postgres
        ? { postgres: { url: resolveSecrets(base.data.history.postgres, 'history.postgres', env) as string, schema: base.data.history.schema ?? 'public' } }
        : {}),
    },
    ...(base.data.pubsub
      ? {
          pubsub: {
            redis: { url: resolveSecrets(base.data.pubsub.redis, 'pubsub.redis', env) as string },
            keyPrefix: base.data.pubsub.keyPrefix,
            leaseMs: base.data.pubsub.leaseMs,
          },
        }
      : {}),
    ...(base.data.http ? { http: base.data.http } : {}),
    ...(base.data.limits ? { limits: base.data.limits } : {}),
    ...(base.data.auth ? { auth: resolveAuth(base.data.auth, env) } : {}),
    ...(base.data.shutdown ? { shutdown: base.data.shutdown } : {}),
    ...(base.data.tracing ? { tracing: base.data.tracing } : {}),
    ...(base.data.persistedOperations
      ? { persistedOperations: { ...base.data.persistedOperations, file: resolve(baseDir, base.data.persistedOperations.file) } }
      : {}),
  };
}

/** API keys from the environment; with keys, a caller without one is refused unless said otherwise. */
function resolveAuth(
  auth: { keys: Array<{ env: string; role: Role }>; anonymousRole?: Role | 'none' | undefined; jwt?: AuthConfig['jwt'] },
  env: NodeJS.ProcessEnv,
): AuthConfig {
  const keys = auth.keys.map(({ env: name, role }, i) => {
    const key = env[name];
    if (key === undefined || key === '') throw new ConfigError(`auth.keys[${i}]: environment variable ${name} is not set`);
    if (key.length < 16) throw new ConfigError(`auth.keys[${i}]: the key in ${name} is too short (at least 16 characters)`);
    return { key, role };
  });
  const identified = keys.length > 0 || auth.jwt !== undefined;
  return { keys, ...(auth.jwt ? { jwt: auth.jwt } : {}), anonymousRole: auth.anonymousRole ?? (identified ? 'none' : 'viewer') };
}

/** Replaces every `{ env }` reference, in any key at any depth, by the variable's value. */
function resolveSecrets(value: unknown, key: string, env: NodeJS.ProcessEnv): unknown {
  if (secretRef.safeParse(value).success) {
    const name = (value as SecretRef).env;
    const resolved = env[name];
    if (resolved === undefined || resolved === '') throw new ConfigError(`${key}: environment variable ${name} is not set`);
    return resolved;
  }
  if (Array.isArray(value)) return value.map((item, i) => resolveSecrets(item, `${key}[${i}]`, env));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveSecrets(v, `${key}.${k}`, env)]));
  }
  return value;
}

function describe(error: z.ZodError, prefix: (string | number)[] = []): string {
  return error.issues
    .map((issue) => {
      const path = formatPath([...prefix, ...(issue.path as (string | number)[])]);
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('\n');
}

function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}
