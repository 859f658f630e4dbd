import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startWorld, type World } from './support/harness.js';

/** Persisted-operations-only mode: only the documents in the file run, on every transport. */
const SOURCES = 'query Sources { sources { name } }';
const LIVE = 'subscription Live { operationsChanged { change } }';
const hash = (text: string) => createHash('sha256').update(text).digest('hex');

describe('persisted operations only', () => {
  let world: World;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'backupgraph-persisted-'));
    const file = join(dir, 'persisted.json');
    await writeFile(file, JSON.stringify({ [hash(SOURCES)]: SOURCES, [hash(LIVE)]: LIVE }));
    world = await startWorld({ config: { persistedOperations: { file, only: true } } });
  });
  afterAll(async () => {
    await world.close();
    await rm(dir, { recursive: true, force: true });
  });

  const post = async (body: unknown) =>
    (await fetch(world.gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as Promise<any>;

  it('runs a persisted operation by its hash and refuses any other document over HTTP', async () => {
    const persisted = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: hash(SOURCES) } } });
    expect(persisted.data.sources).toEqual([{ name: 'aiven-test' }]);
    const arbitrary = await post({ query: '{ sources { name kind } }' });
    expect(arbitrary.errors?.[0]?.message).toMatch(/PersistedQueryOnly/);
    const unknown = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: hash('nope') } } });
    expect(unknown.errors?.[0]?.message).toMatch(/PersistedQueryNotFound/);
  });

  it('does the same over graphql-ws', async () => {
    const client = world.ws();
    const refused = collect(client, LIVE);
    await expect(refused.done).rejects.toBeTruthy();
    const allowed = await new Promise<unknown>((resolve, reject) => {
      const stop = client.subscribe(
        { query: '', extensions: { persistedQuery: { version: 1, sha256Hash: hash(LIVE) } } },
        { next: (value) => (stop(), resolve(value)), error: reject, complete: () => undefined },
      );
    });
    expect(allowed).toMatchObject({ data: { operationsChanged: { change: 'STARTED' } } });
  });
});
