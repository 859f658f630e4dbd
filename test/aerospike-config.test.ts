import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config.js';
import { aerospikeKind, type AerospikeSourceConfig } from '../src/sources/aerospike/kind.js';
import type { SourceServices } from '../src/sources/kind.js';

/** The `aerospike-backup-service` source configuration: proxy headers from the environment, TLS files read at start. */

const base = { name: 'abs', kind: 'aerospike-backup-service', baseUrl: 'https://abs.internal:8443' };
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('aerospike-backup-service config', () => {
  it('resolves header secrets from the environment and applies the defaults', () => {
    const config = parseConfig({ sources: [{ ...base, headers: { 'x-proxy-auth': { env: 'ABS_PROXY_TOKEN' } } }] }, { env: { ABS_PROXY_TOKEN: 'tok-123456' } });
    expect(config.sources[0]).toMatchObject({ headers: { 'x-proxy-auth': 'tok-123456' }, triggerConfirmMs: 10_000, poll: { activeMs: 2_000, idleMs: 30_000 } });
  });

  it('refuses a literal header value, a client certificate without its key, and an unknown key', () => {
    expect(() => parseConfig({ sources: [{ ...base, headers: { 'x-proxy-auth': 'literal' } }] })).toThrow(ConfigError);
    expect(() => parseConfig({ sources: [{ ...base, tls: { certFile: '/c.pem' } }] })).toThrow(/certFile and keyFile go together/);
    expect(() => parseConfig({ sources: [{ ...base, token: { env: 'X' } }] })).toThrow(/token/);
  });

  it('reads the TLS files when the source is created, and names the one it cannot read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'abs-tls-'));
    dirs.push(dir);
    await writeFile(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const services = {} as SourceServices;
    const config = (tls: AerospikeSourceConfig['tls']) => ({ ...(parseConfig({ sources: [base] }).sources[0] as AerospikeSourceConfig), tls });
    const source = aerospikeKind.create(config({ caFile: join(dir, 'ca.pem') }), services);
    await source.close();
    expect(() => aerospikeKind.create(config({ caFile: join(dir, 'missing.pem') }), services)).toThrow(/tls\.caFile: cannot read .*missing\.pem: ENOENT/);
  });
});
