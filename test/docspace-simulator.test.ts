import { describe, it, expect, afterEach } from 'vitest';
import { startDocSpaceSimulator, type DocSpaceSimulator } from '../src/sources/docspace/simulator.js';
import { demoScenario, QUOTA_ERROR, testScenario } from '../src/sources/docspace/scenarios.js';

type Json = Record<string, any>;
const START = Date.UTC(2025, 5, 1);
const KEY = testScenario().apiKeys[0]!;
let sim: DocSpaceSimulator | undefined;

async function start(scenario = testScenario(), clock: 'manual' | 'realtime' = 'manual'): Promise<DocSpaceSimulator> {
  sim = await startDocSpaceSimulator({ scenario, clock, startAt: START });
  return sim;
}
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

function call(s: DocSpaceSimulator, path: string, init: RequestInit & { auth?: string | null } = {}): Promise<Response> {
  const { auth, ...rest } = init;
  const headers: Record<string, string> = { ...(rest.body ? { 'content-type': 'application/json' } : {}), ...(rest.headers as Record<string, string>) };
  if (auth !== null) headers['authorization'] = auth ?? `Bearer ${KEY}`;
  return fetch(`${s.url}${path}`, { ...rest, headers });
}
async function json(s: DocSpaceSimulator, path: string, init: RequestInit & { auth?: string | null } = {}): Promise<{ status: number; body: Json }> {
  const r = await call(s, path, init);
  return { status: r.status, body: (await r.json()) as Json };
}
const post = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body) });

describe('envelope and enums on the wire', () => {
  it('wraps responses, omits an absent response and null properties, and uses integer enums', async () => {
    const s = await start();
    const none = await json(s, '/api/2.0/backup/getbackupprogress');
    expect(none).toEqual({ status: 200, body: { count: 0, links: [{ href: `${s.url}/api/2.0/backup/getbackupprogress`, action: 'GET' }], status: 0, statusCode: 200 } });

    const started = await json(s, '/api/2.0/backup/startbackup', post({ storageType: 'Documents', storageParams: [{ key: 'folderId', value: '12' }], dump: false }));
    expect(started.body['response']).toEqual({ isCompleted: false, progress: 0, error: '', tenantId: 1, backupProgressEnum: 0, status: 0, taskId: expect.any(String) });
    expect(started.body['count']).toBe(1);
    expect(Object.keys(started.body['response'])).not.toContain('link');

    const history = await json(s, '/api/2.0/backup/getbackuphistory');
    expect(history.body['count']).toBe(1);
    expect(history.body['response'][0]).toEqual({
      id: '0b6f3c9e-1d1a-4c55-9a51-000000000001',
      fileName: 'backup_2025-05-30.tar.gz',
      storageType: 0,
      createdOn: '2025-05-30T00:00:00Z',
      expiresOn: '2025-06-29T00:00:00Z',
    });
    expect((await json(s, '/api/2.0/backup/getservicestate')).body['response']).toEqual({ enabled: true });
  });

  it('answers errors with the .NET envelope, stack, type and hresult included', async () => {
    const s = await start();
    const bad = await json(s, '/api/2.0/backup/startbackup', post({ storageType: 'Floppy' }));
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { message: expect.any(String), type: 'System.ArgumentException', hresult: -2147024809 }, status: 1, statusCode: 400 });
    expect(bad.body['error']['stack']).toMatch(/^System\.ArgumentException[\s\S]*\n {3}at /);
    const missing = await json(s, '/api/2.0/backup/deletebackup/0b6f3c9e-1d1a-4c55-9a51-0000000000ff', { method: 'DELETE' });
    expect(missing).toMatchObject({ status: 404, body: { error: { type: 'ASC.Common.Web.ItemNotFoundException' }, status: 1 } });
  });

  it('refuses dump starts on a portal that does not support them', async () => {
    const s = await start({ ...testScenario(), dumpSupported: false });
    const refused = await json(s, '/api/2.0/backup/startbackup', post({ dump: true }));
    expect(refused).toMatchObject({ status: 400, body: { error: { message: 'backup can`t start as dump' } } });
  });
});

describe('authentication', () => {
  it('accepts Bearer API keys, raw tokens, the asc_auth_key cookie and Basic; 401 with an empty body otherwise', async () => {
    const s = await start();
    const path = '/api/2.0/backup/getservicestate';
    for (const auth of [null, 'Bearer sk-nope-nope', KEY, 'Bearer eyJhbGciOi.fake.jwt']) {
      const r = await call(s, path, { auth });
      expect(r.status).toBe(401);
      expect(await r.text()).toBe('');
    }
    const login = await json(s, '/api/2.0/authentication', { ...post({ userName: 'admin@example.com', password: 'secret-password' }), auth: null });
    expect(login.body['response']).toMatchObject({ token: expect.any(String), expires: '2025-07-01T00:00:00Z' });
    const token = login.body['response']['token'] as string;
    expect((await call(s, path, { auth: token })).status).toBe(200);
    expect((await call(s, path, { auth: null, headers: { cookie: `asc_auth_key=${token}` } })).status).toBe(200);
    const basic = `Basic ${Buffer.from('admin@example.com:secret-password').toString('base64')}`;
    expect((await call(s, path, { auth: basic })).status).toBe(200);

    const wrong = await json(s, '/api/2.0/authentication', { ...post({ userName: 'admin@example.com', password: 'x' }), auth: null });
    expect(wrong).toMatchObject({ status: 401, body: { error: { message: 'User authentication failed', stack: expect.stringContaining(' at ') }, status: 1 } });
  });

  it('answers restore progress without credentials', async () => {
    const s = await start();
    const r = await json(s, '/api/2.0/backup/getrestoreprogress?Dump=false', { auth: null });
    expect(r).toMatchObject({ status: 200, body: { count: 0, status: 0 } });
    expect(r.body).not.toHaveProperty('response');
  });
});

describe('restore lifecycle', () => {
  it('answers 403 with an empty body to everything but the allow-list while restoring, then changes the tenant', async () => {
    const s = await start();
    const started = await json(s, '/api/2.0/backup/startrestore', post({ backupId: '0b6f3c9e-1d1a-4c55-9a51-000000000001', notify: true }));
    expect(started.body['response']).toMatchObject({ backupProgressEnum: 1, status: 0, tenantId: 1 });
    expect(s.tenantStatus()).toBe('Restoring');
    for (const path of ['/api/2.0/backup/getbackupprogress', '/api/2.0/backup/getservicestate', '/api/2.0/authentication', '/api/2.0/nothing']) {
      const r = await call(s, path);
      expect(r.status).toBe(403);
      expect(await r.text()).toBe('');
    }
    s.advance(4_000);
    const mid = await json(s, '/api/2.0/backup/getrestoreprogress', { auth: null });
    expect(mid.body['response']).toMatchObject({ isCompleted: false, progress: 50, status: 1, tenantId: 1 });
    s.advance(4_000);
    const done = await json(s, '/api/2.0/backup/getrestoreprogress', { auth: null });
    expect(done.body['response']).toMatchObject({ isCompleted: true, progress: 100, status: 2, tenantId: 2, link: `${s.url}/`, error: '' });
    expect(s.tenantStatus()).toBe('Active');
    expect((await call(s, '/api/2.0/backup/getservicestate')).status).toBe(200);
    expect(s.tenantId()).toBe(2);
  });

  it('fails a restore when told to, without changing the tenant', async () => {
    const s = await start();
    s.failNextTask('restore', { atPercent: 25, error: 'The backup file is damaged' });
    await json(s, '/api/2.0/backup/startrestore', post({ backupId: '0b6f3c9e-1d1a-4c55-9a51-000000000001' }));
    s.advance(2_000);
    expect(s.restoreTask()?.wire).toMatchObject({ isCompleted: true, status: 4, error: 'The backup file is damaged', progress: 25, tenantId: 1 });
    expect(s.tenantStatus()).toBe('Active');
    expect(s.tenantId()).toBe(1);
  });

  it('keeps a completed backup visible until the next start replaces it', async () => {
    const s = await start();
    const first = (await json(s, '/api/2.0/backup/startbackup', post({}))).body['response']['taskId'];
    s.advance(30_000);
    const still = (await json(s, '/api/2.0/backup/getbackupprogress')).body['response'];
    expect(still).toMatchObject({ taskId: first, isCompleted: true, status: 2 });
    expect(still['link']).toContain('/storage/backup/');
    const second = (await json(s, '/api/2.0/backup/startbackup', post({}))).body['response']['taskId'];
    expect(second).not.toBe(first);
  });
});

describe('demo scenario', () => {
  it('starts mid-backup and loops through warning, restore, quota failure and transfer', async () => {
    const s = await start(demoScenario());
    const backup = s.backupTask();
    expect(backup?.wire).toMatchObject({ status: 1, progress: 35, isCompleted: false });
    s.advance(6_000); // 50 %: the warning appears
    expect(s.backupTask()?.wire['warning']).toContain('skipped');
    s.advance(28_000); // loop 48 s: restoring
    expect(s.tenantStatus()).toBe('Restoring');
    s.advance(30_000); // loop 78 s: restored under a new tenant
    expect(s.tenantId()).toBe(2);
    expect(s.restoreTask()?.wire).toMatchObject({ isCompleted: true, tenantId: 2 });
    s.advance(22_000); // loop 100 s: the second backup failed at 60 %
    expect(s.backupTask()?.wire).toMatchObject({ status: 4, error: QUOTA_ERROR, progress: 60 });
    s.advance(10_000); // loop 110 s: transferring
    expect(s.tenantStatus()).toBe('Transfering');
    expect(s.restoreTask()?.wire['backupProgressEnum']).toBe(2);
    s.advance(16_000); // next loop, 6 s in: a new backup runs
    expect(s.backupTask()?.wire).toMatchObject({ status: 1, progress: 15 });
    expect(s.tenantId()).toBe(3);
  });

  it('moves on its own with the realtime clock', async () => {
    const s = await start({ ...demoScenario(), timeline: { periodMs: 1_000, offsetMs: 0, steps: [{ atMs: 0, kind: 'backup', durationMs: 400 }] } }, 'realtime');
    const deadline = Date.now() + 5_000;
    while (s.backupTask()?.wire['isCompleted'] !== true && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(s.backupTask()?.wire).toMatchObject({ isCompleted: true, status: 2 });
  });
});

describe('faults and request log', () => {
  it('injects faults on matching paths only, for count requests, and counts requests', async () => {
    const s = await start();
    s.fail({ kind: 'status', status: 503, retryAfterSeconds: 3 }, { count: 2, pathPrefix: '/api/2.0/backup/getbackuphistory' });
    expect((await call(s, '/api/2.0/backup/getservicestate')).status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const r = await call(s, '/api/2.0/backup/getbackuphistory');
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('3');
      expect(await r.json()).toMatchObject({ status: 1, statusCode: 503, error: { message: 'Internal server error' } });
    }
    expect((await call(s, '/api/2.0/backup/getbackuphistory')).status).toBe(200);
    expect(s.countRequests('GET', '/api/2.0/backup/getbackuphistory')).toBe(3);
    expect(s.countRequests('*', '/api/2.0/backup/')).toBe(4);
    s.fail({ kind: 'malformed-json' });
    expect(await (await call(s, '/api/2.0/backup/getservicestate')).text()).toBe('{"response":{"isCompleted":fal');
    s.fail({ kind: 'status', status: 500 });
    s.clearFaults();
    expect((await call(s, '/api/2.0/backup/getservicestate')).status).toBe(200);
    s.resetRequests();
    expect(s.requests).toHaveLength(0);
  });

  it('drips a body one byte at a time and closes with no timer left', async () => {
    const s = await start();
    s.fail({ kind: 'drip', intervalMs: 1 });
    const r = await json(s, '/api/2.0/backup/getservicestate');
    expect(r.body['response']).toEqual({ enabled: true });
    s.fail({ kind: 'hang', ms: 60_000 });
    const pending = call(s, '/api/2.0/backup/getservicestate').catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    await s.close();
    expect(await pending).toBeInstanceOf(Error);
    sim = undefined;
  });
});
