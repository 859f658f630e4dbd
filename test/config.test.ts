import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, configJsonSchema, loadConfigFile, parseConfig } from '../src/config.js';
import { findKind } from '../src/sources/kinds.js';

const env = { AIVEN_TOKEN: 'tok-from-env-123456' };
const aiven = { name: 'aiven-prod', kind: 'aiven', token: { env: 'AIVEN_TOKEN' }, projects: ['p1'] };

function errorOf(raw: unknown, e: NodeJS.ProcessEnv = env): string {
  try {
    parseConfig(raw, { env: e, baseDir: '/srv/bg' });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'backupgraph-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('applies defaults and resolves secrets from the environment', () => {
    const config = parseConfig({ sources: [aiven] }, { env, baseDir: '/srv/bg' });
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 4000 });
    expect(config.sources[0]).toMatchObject({ name: 'aiven-prod', baseUrl: 'https://api.aiven.io', token: 'tok-from-env-123456', poll: { activeMs: 2000, idleMs: 30000 } });
    expect(config.history).toEqual({ path: '/srv/bg/data/history.db', retentionDays: 30, eventRetentionHours: 24 });
  });

  it('reads the shared history and Redis from the environment, with their defaults', () => {
    const config = parseConfig(
      { sources: [aiven], history: { postgres: { env: 'DATABASE_URL' }, schema: 'backupgraph' }, pubsub: { redis: { env: 'REDIS_URL' } } },
      { env: { ...env, DATABASE_URL: 'postgres://u:p@db/bg', REDIS_URL: 'redis://r:6379' }, baseDir: '/srv/bg' },
    );
    expect(config.history.postgres).toEqual({ url: 'postgres://u:p@db/bg', schema: 'backupgraph' });
    expect(config.pubsub).toEqual({ redis: { url: 'redis://r:6379' }, keyPrefix: 'backupgraph:', leaseMs: 5_000 });
  });

  it('names the bad key and what was expected', () => {
    expect(errorOf({ sources: [{ ...aiven, poll: { activeMs: 'fast' } }] })).toMatch(/^sources\[0\]\.poll\.activeMs: .*number/);
    expect(errorOf({ sources: [{ ...aiven, baseUrl: 'not a url' }] })).toMatch(/^sources\[0\]\.baseUrl: /);
    expect(errorOf({ sources: [aiven], listen: { port: 70000 } })).toMatch(/^listen\.port: /);
    expect(errorOf({ sources: [aiven], colour: 'blue' })).toMatch(/colour/);
    expect(errorOf({ sources: [] })).toMatch(/^sources: .*at least one source/);
    expect(errorOf({ sources: [{ ...aiven, kind: 'oracle' }] })).toMatch(/^sources\[0\]\.kind: /);
    // A kind the design names but this build does not register yet is refused as such (not as unknown);
    expect(errorOf({ sources: [{ ...aiven, kind: 'veeam' }] })).toBe(
      'sources[0].kind: "veeam" is not a known kind (supported: aiven, aerospike-backup-service, scaletrade, docspace)',
    );
    for (const kind of ['aiven', 'aerospike-backup-service', 'scaletrade', 'docspace']) expect(findKind(kind)?.kind).toBe(kind);
    expect(errorOf({ sources: [aiven], pubsub: { redis: { env: 'REDIS_URL' } } })).toBe('pubsub.redis: several instances need a shared history: set history.postgres as well');
    expect(errorOf({ sources: [aiven], pubsub: { redis: { env: 'REDIS_URL' } }, history: { postgres: { env: 'DATABASE_URL' } } })).toBe('history.postgres: environment variable DATABASE_URL is not set');
    expect(errorOf({ sources: [aiven], pubsub: { redis: 'redis://x' }, history: { postgres: { env: 'DATABASE_URL' } } })).toMatch(/^pubsub\.redis: /);
    expect(errorOf({ sources: [aiven], history: { path: 'h.db', postgres: { env: 'DATABASE_URL' } } })).toMatch(/^history: .*exclusive/);
    expect(errorOf({ sources: [aiven], history: { postgres: { env: 'DATABASE_URL' }, schema: 'no-dash' } })).toMatch(/^history\.schema: /);
    expect(errorOf({ sources: [aiven, aiven] })).toMatch(/^sources\[1\]\.name: duplicate source name "aiven-prod"/);
  });

  it('reads API keys from the environment, with their roles', () => {
    const keys = { OP_KEY: 'operator-key-0123456789', VIEW_KEY: 'viewer-key-0123456789' };
    const withKeys = parseConfig({ sources: [aiven], auth: { keys: [{ env: 'OP_KEY', role: 'operator' }, { env: 'VIEW_KEY', role: 'viewer' }] } }, { env: { ...env, ...keys } });
    expect(withKeys.auth).toEqual({ keys: [{ key: keys.OP_KEY, role: 'operator' }, { key: keys.VIEW_KEY, role: 'viewer' }], anonymousRole: 'none' });
    expect(errorOf({ sources: [aiven], auth: { keys: [{ env: 'OP_KEY', role: 'admin' }] } }, { ...env, ...keys })).toMatch(/^auth\.keys\[0\]\.role: /);
    expect(errorOf({ sources: [aiven], auth: { keys: [{ env: 'NOPE_KEY', role: 'viewer' }] } })).toBe('auth.keys[0]: environment variable NOPE_KEY is not set');
    expect(errorOf({ sources: [aiven], auth: { keys: [{ env: 'SHORT', role: 'viewer' }] } }, { ...env, SHORT: 'abc' })).toMatch(/too short/);
    expect(parseConfig({ sources: [aiven], auth: { anonymousRole: 'operator' } }, { env }).auth).toEqual({ keys: [], anonymousRole: 'operator' });
    expect(parseConfig({ sources: [aiven], auth: { jwt: { jwksUrl: 'https://id.example/jwks.json', issuer: 'https://id.example' } } }, { env }).auth).toEqual({
      keys: [],
      jwt: { jwksUrl: 'https://id.example/jwks.json', issuer: 'https://id.example', roleClaim: 'role' },
      anonymousRole: 'none',
    });
  });

  it('describes the file as a JSON Schema generated from the same validation, one entry per kind', () => {
    const schema = configJsonSchema() as { properties: { sources: { items: { oneOf: Array<{ properties: { kind: { const: string } }; required: string[] }> } } } };
    const kinds = schema.properties.sources.items.oneOf.map((s) => s.properties.kind.const);
    expect(kinds).toEqual(['aiven', 'aerospike-backup-service', 'scaletrade', 'docspace']);
    expect(schema.properties.sources.items.oneOf[0]!.required).toEqual(expect.arrayContaining(['name', 'kind', 'token']));
  });

  it('refuses secrets written in the file and missing environment variables', () => {
    expect(errorOf({ sources: [{ ...aiven, token: 'plain-text-token' }] })).toMatch(/^sources\[0\]\.token: /);
    expect(errorOf({ sources: [aiven] }, {})).toBe('sources[0].token: environment variable AIVEN_TOKEN is not set');
  });

  it('reads JSON and YAML files, resolving paths against the file', async () => {
    const json = join(dir, 'gw.json');
    await writeFile(json, JSON.stringify({ sources: [aiven], history: { path: 'h.db' } }));
    expect((await loadConfigFile(json, { env })).history.path).toBe(join(dir, 'h.db'));
    const yaml = join(dir, 'gw.yaml');
    await writeFile(yaml, 'listen:\n  port: 4100\nsources:\n  - name: a\n    kind: aiven\n    token: { env: AIVEN_TOKEN }\n');
    expect((await loadConfigFile(yaml, { env })).listen.port).toBe(4100);
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{ "sources": [');
    await expect(loadConfigFile(broken, { env })).rejects.toThrow(/is not valid JSON/);
    await expect(loadConfigFile(join(dir, 'missing.json'), { env })).rejects.toThrow(/cannot read config file/);
  });
});
