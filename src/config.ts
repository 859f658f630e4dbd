import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * Configuration: a JSON or YAML file, validated at start. Secrets are never written in the file:
 * they are `{ "env": "NAME" }` references, resolved here from the environment. No file at all means
 * demo mode (see demo.ts).
 */

const secretRef = z
  .object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') })
  .strict()
  .describe('a secret reference { "env": "VAR_NAME" }');

const poll = z
  .object({
    activeMs: z.number().int().min(100).default(2_000),
    idleMs: z.number().int().min(100).default(30_000),
  })
  .strict();

const timeouts = z
  .object({
    connectMs: z.number().int().positive().optional(),
    headersMs: z.number().int().positive().optional(),
    bodyMs: z.number().int().positive().optional(),
  })
  .strict();

const sourceName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, "_", "." or "-" (at most 63)');

const aivenSource = z
  .object({
    name: sourceName,
    kind: z.literal('aiven'),
    baseUrl: z.url().default('https://api.aiven.io'),
    token: secretRef,
    projects: z.array(z.string().min(1)).optional(),
    poll: poll.default({ activeMs: 2_000, idleMs: 30_000 }),
    timeouts: timeouts.optional(),
  })
  .strict();

const plannedKinds = ['aerospike-backup-service', 'scaletrade', 'docspace'] as const;
/** Keys of the design's configuration that later versions implement (operator keys, Redis pubsub). */
const PLANNED_KEYS = ['auth', 'pubsub'] as const;

const sourceConfig = z.discriminatedUnion('kind', [aivenSource]);

const fileConfig = z
  .object({
    listen: z
      .object({ host: z.string().min(1).default('127.0.0.1'), port: z.number().int().min(0).max(65_535).default(4000) })
      .strict()
      .default({ host: '127.0.0.1', port: 4000 }),
    dataDir: z.string().min(1).default('./data'),
    sources: z.array(z.unknown()).min(1, 'at least one source'),
    history: z
      .object({ path: z.string().min(1).optional(), retentionDays: z.number().positive().default(30) })
      .strict()
      .default({ retentionDays: 30 }),
  })
  .strict();

type SecretRef = z.infer<typeof secretRef>;
type RawAivenSource = z.infer<typeof aivenSource>;

export interface AivenSourceConfig extends Omit<RawAivenSource, 'token'> {
  /** The resolved token (from the environment or, in demo mode, from the simulator). */
  token: string;
}
export type SourceConfig = AivenSourceConfig;

export interface GatewayConfig {
  listen: { host: string; port: number };
  dataDir: string;
  sources: SourceConfig[];
  history: { path: string; retentionDays: number };
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
  for (const key of PLANNED_KEYS) {
    if (raw && typeof raw === 'object' && key in raw) throw new ConfigError(`${key}: not supported by this version yet (remove it to start)`);
  }
  const base = fileConfig.safeParse(raw);
  if (!base.success) throw new ConfigError(describe(base.error));
  const names = new Set<string>();
  const sources = base.data.sources.map((entry, index) => {
    const kind = (entry as { kind?: unknown } | null)?.kind;
    if (typeof kind === 'string' && (plannedKinds as readonly string[]).includes(kind)) {
      throw new ConfigError(`sources[${index}].kind: "${kind}" is not supported by this version yet (supported: aiven)`);
    }
    const parsed = sourceConfig.safeParse(entry);
    if (!parsed.success) throw new ConfigError(describe(parsed.error, ['sources', index]));
    if (names.has(parsed.data.name)) throw new ConfigError(`sources[${index}].name: duplicate source name "${parsed.data.name}"`);
    names.add(parsed.data.name);
    return { ...parsed.data, token: resolveSecret(parsed.data.token, `sources[${index}].token`, env) };
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
    },
  };
}

function resolveSecret(ref: SecretRef, key: string, env: NodeJS.ProcessEnv): string {
  const value = env[ref.env];
  if (value === undefined || value === '') throw new ConfigError(`${key}: environment variable ${ref.env} is not set`);
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
