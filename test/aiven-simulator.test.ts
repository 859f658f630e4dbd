import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { startAivenSimulator, type AivenSimulator } from '../src/sources/aiven/simulator.js';
import { testScenario } from '../src/sources/aiven/scenarios.js';

const TOKEN = 'tok-secret-123';
let sim: AivenSimulator;

beforeEach(async () => {
  sim = await startAivenSimulator({ token: TOKEN, scenario: testScenario(), clock: 'manual', startAt: Date.UTC(2025, 5, 1) });
});
afterEach(async () => {
  await sim.close();
});

type Json = Record<string, any>;
function call(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = { authorization: `aivenv1 ${TOKEN}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers as Record<string, string>) };
  return fetch(`${sim.url}${path}`, { ...init, headers });
}
async function json(path: string, init: RequestInit = {}): Promise<{ status: number; body: Json }> {
  const r = await call(path, init);
  return { status: r.status, body: (await r.json()) as Json };
}
const svc = async (name: string): Promise<Json> => (await json(`/v1/project/test-project/service/${name}`)).body['service'];
const node = async (s: string, i: number): Promise<Json> => (await svc(s))['node_states'][i];

describe('auth and errors', () => {
  it('rejects missing or wrong tokens with the Aiven error shape, never echoing the token', async () => {
    const missing = await fetch(`${sim.url}/v1/project`);
    expect(missing.status).toBe(403);
    expect(missing.headers.get('content-type')).toBe('application/json');
    expect(await missing.json()).toEqual({
      message: 'Invalid token',
      errors: [{ error_code: 'authentication_failed', message: 'Invalid token', status: 403 }],
    });
    const wrong = await fetch(`${sim.url}/v1/project`, { headers: { authorization: 'aivenv1 leaked-guess-42' } });
    expect(wrong.status).toBe(403);
    expect(await wrong.text()).not.toContain('leaked-guess-42');
  });

  it('answers 404 / 405 / 400 in the Aiven shape', async () => {
    const p = await json('/v1/project/nope/service');
    expect(p).toMatchObject({ status: 404, body: { message: 'Project does not exist', errors: [{ error_code: 'project_not_found', status: 404 }] } });
    const s = await json('/v1/project/test-project/service/ghost');
    expect(s).toMatchObject({ status: 404, body: { message: 'Service ghost does not exist', errors: [{ error_code: 'service_not_found' }] } });
    expect((await json('/v1/nothing')).status).toBe(404);
    expect((await json('/v1/project', { method: 'DELETE' })).status).toBe(405);
    const nonJson = await json('/v1/project/test-project/service', { method: 'POST', body: 'not json' });
    expect(nonJson).toMatchObject({ status: 400, body: { errors: [{ status: 400 }] } });
  });
});

describe('reads', () => {
  it('lists projects and services with the documented field names', async () => {
    const { body } = await json('/v1/project');
    expect(body['project_names']).toEqual(['test-project', 'other-project']);
    expect(body['projects'][0]).toEqual({ project_name: 'test-project', default_cloud: 'google-europe-west3' });

    const list = (await json('/v1/project/test-project/service?include_secrets=true')).body['services'] as Json[];
    expect(list.map((s) => s['service_name'])).toEqual(['pg-restore', 'pg-legacy', 'mysql-grow', 'kafka-idle', 'pg-off']);
    const pg = list[0]!;
    for (const k of ['service_type', 'state', 'plan', 'cloud_name', 'create_time', 'update_time', 'termination_protection', 'user_config', 'node_count', 'disk_space_mb', 'maintenance', 'service_uri_params', 'components', 'backups']) {
      expect(pg).toHaveProperty(k);
    }
    expect(pg).toMatchObject({ service_integrations: [], group_list: ['default'], project_vpc_id: null, node_count: 2, state: 'REBUILDING' });
    expect(pg['service_uri']).toMatch(/^postgres:\/\/avnadmin:[^@]+@[^:]+:\d+\/defaultdb\?sslmode=require$/);
    expect(pg['maintenance']).toEqual({ dow: 'sunday', time: '02:00:00', updates: [] });
    expect(pg['node_states'][0]).toEqual({ name: 'pg-restore-1', state: 'running', role: 'master', availability_zone: 'europe-west3-a', progress_updates: [] });

    const legacy = list[1]!['node_states'][0] as Json;
    expect(legacy['node_name']).toBe('pg-legacy-1');
    expect(legacy).not.toHaveProperty('name');
    expect(list[3]).toMatchObject({ state: 'RUNNING', termination_protection: true });
    expect(list[3]!['node_states'][1]['shard']).toEqual({ name: 's2', position: 2 });
    expect(list[4]).toMatchObject({ state: 'POWEROFF', node_states: [] });
    expect(sim.getService('test-project', 'kafka-idle')?.['state']).toBe('RUNNING');
  });

  it('serves both service_types shapes and filters plans by cloud', async () => {
    const flat = (await json('/v1/service_types')).body['service_types'] as Json[];
    expect(flat[0]).toEqual({ service_type: 'pg', description: 'PostgreSQL - Object-Relational Database Management System', latest_available_version: '16' });
    const byKey = (await json('/v1/project/test-project/service_types')).body['service_types'] as Json;
    expect(byKey['kafka']).toMatchObject({ latest_available_version: '3.7' });

    const all = (await json('/v1/project/test-project/service_types/pg/plans')).body['service_plans'] as Json[];
    expect(all.map((p) => p['service_plan'])).toContain('hobbyist');
    const az = (await json('/v1/project/test-project/service_types/pg/plans?cloud=azure-westeurope')).body['service_plans'] as Json[];
    expect(az.map((p) => p['service_plan'])).not.toContain('hobbyist');
    for (const p of az) expect(Object.keys(p['regions'])).toEqual(['azure-westeurope']);
    const gcp = (await json('/v1/project/test-project/service_types/pg/plans?cloud=google-europe-west3')).body['service_plans'] as Json[];
    expect(gcp.find((p) => p['service_plan'] === 'business-4')).toEqual({
      service_plan: 'business-4', service_type: 'pg', node_count: 2, disk_space_mb: 81920,
      regions: { 'google-europe-west3': { price_usd: '0.4110', disk_space_mb: 81920, node_memory_mb: 4096 } },
    });
    expect((await json('/v1/project/test-project/service_types/nosuch/plans')).status).toBe(404);
  });
});

describe('restore lifecycle on the manual clock', () => {
  it('walks setting_up_vm → syncing_data (phases in order) → running', async () => {
    expect(await node('pg-restore', 1)).toMatchObject({ name: 'pg-restore-2', state: 'setting_up_vm', progress_updates: [] });
    sim.advance(1_500);
    expect((await node('pg-restore', 1))['progress_updates']).toEqual([
      { completed: false, current: 50, max: 100, min: 0, phase: 'prepare', unit: 'prepare_percent' },
    ]);
    sim.advance(2_500); // t = 4000: basebackup half way
    const mid = (await node('pg-restore', 1))['progress_updates'] as Json[];
    expect(mid.map((u) => [u['phase'], u['completed'], u['current']])).toEqual([['prepare', true, 100], ['basebackup', false, 2000]]);
    sim.advance(3_000); // t = 7000: stream half way from 1000 to 3000
    expect(((await node('pg-restore', 1))['progress_updates'] as Json[])[2]).toMatchObject({ phase: 'stream', current: 2000, min: 1000 });
    sim.advance(1_500); // t = 8500: finalize with null counters
    const fin = (await svc('pg-restore'))['node_states'][1] as Json;
    expect(fin['progress_updates'].map((u: Json) => u['phase'])).toEqual(['prepare', 'basebackup', 'stream', 'finalize']);
    expect(fin['progress_updates'][3]).toEqual({ completed: false, current: null, max: null, min: null, phase: 'finalize', unit: null });
    expect((await svc('pg-restore'))['state']).toBe('REBUILDING');
    sim.advance(500);
    const done = await svc('pg-restore');
    expect(done['state']).toBe('RUNNING');
    expect(done['node_states'][1]).toMatchObject({ state: 'running', progress_updates: [] });
    expect(sim.now()).toBe(Date.UTC(2025, 5, 1) + 9_000);
  });

  it('omits progress_updates while syncing when the node reports none', async () => {
    sim.advance(1_000);
    const n = await node('pg-legacy', 0);
    expect(n['state']).toBe('syncing_data');
    expect(n).not.toHaveProperty('progress_updates');
    sim.advance(1_500);
    expect(await node('pg-legacy', 0)).toMatchObject({ node_name: 'pg-legacy-1', state: 'running', progress_updates: [] });
  });

  it('grows max during a phase and carries the chain position', async () => {
    sim.advance(1_000);
    const a = (await node('mysql-grow', 0))['progress_updates'][0] as Json;
    expect(a).toMatchObject({ phase: 'basebackup_prepare', current: 0, max: 1000, unit: 'bytes_compressed' });
    expect(a['position']).toEqual({ backup_incremental: false, backup_name: 'mysql-grow-full-1', chain_index: 1, chain_total: 1 });
    sim.advance(1_000);
    const b = (await node('mysql-grow', 0))['progress_updates'][0] as Json;
    expect(b).toMatchObject({ current: 1000, max: 1500, completed: false });
    expect((await svc('mysql-grow'))['backups'][0]['backup_name']).toBe('mysql-grow-full-1');
  });
});

describe('mutations', () => {
  const base = '/v1/project/test-project/service';
  it('creates, powers, updates, refuses protected deletes and deletes', async () => {
    expect((await json(base, { method: 'POST', body: JSON.stringify({ service_name: 'Bad_Name', service_type: 'pg', plan: 'business-4' }) })).status).toBe(400);
    expect((await json(base, { method: 'POST', body: JSON.stringify({ service_name: 'pg-new', service_type: 'nosql', plan: 'business-4' }) })).status).toBe(400);
    const created = await json(base, { method: 'POST', body: JSON.stringify({ service_name: 'pg-new', service_type: 'pg', plan: 'business-4', cloud: 'aws-us-east-1' }) });
    expect(created.status).toBe(200);
    expect(created.body['service']).toMatchObject({ state: 'REBUILDING', cloud_name: 'aws-us-east-1', node_count: 2, disk_space_mb: 81920 });
    expect(created.body['service']['node_states'].map((n: Json) => n['state'])).toEqual(['setting_up_vm', 'setting_up_vm']);
    const dup = await json(base, { method: 'POST', body: JSON.stringify({ service_name: 'pg-new', service_type: 'pg', plan: 'startup-4' }) });
    expect(dup).toMatchObject({ status: 409, body: { message: 'Service name is already in use in this project' } });
    sim.advance(5_000);
    expect((await svc('pg-new'))['state']).toBe('RUNNING');

    const put = (body: Json) => json(`${base}/pg-new`, { method: 'PUT', body: JSON.stringify(body) });
    expect((await put({ disk_space_mb: 1024 })).status).toBe(400);
    const upd = await put({ user_config: { a: 1 }, maintenance: { dow: 'friday', time: '03:00:00' }, disk_space_mb: 102400 });
    expect(upd.body['service']).toMatchObject({ user_config: { a: 1 }, maintenance: { dow: 'friday' }, disk_space_mb: 102400 });
    expect((await put({ powered: false })).body['service']).toMatchObject({ state: 'POWEROFF', node_states: [] });
    expect((await put({ powered: true })).body['service']).toMatchObject({ state: 'REBUILDING' });
    sim.advance(5_000);
    expect((await svc('pg-new'))['state']).toBe('RUNNING');

    await put({ termination_protection: true });
    const refused = await json(`${base}/pg-new`, { method: 'DELETE' });
    expect(refused).toMatchObject({ status: 403, body: { errors: [{ error_code: 'service_termination_protected', status: 403 }] } });
    expect((await put({ powered: false })).status).toBe(403);
    await put({ termination_protection: false });
    const del = await call(`${base}/pg-new`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(del.headers.get('content-length')).toBe('0');
    expect(await del.text()).toBe('');
    expect((await json(`${base}/pg-new`)).status).toBe(404);
  });

  it('forgets a service out of band', async () => {
    sim.forgetService('test-project', 'kafka-idle');
    expect((await json(`${base}/kafka-idle`)).status).toBe(404);
    expect(sim.getService('test-project', 'kafka-idle')).toBeUndefined();
  });
});

describe('faults and request log', () => {
  it('injects status faults with Retry-After, only on matching paths and for count requests', async () => {
    sim.fail({ kind: 'status', status: 503, retryAfterSeconds: 7 }, { count: 2, pathPrefix: '/v1/project/test-project/service/pg-off' });
    expect((await call('/v1/project')).status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const r = await call('/v1/project/test-project/service/pg-off');
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('7');
      expect(await r.json()).toMatchObject({ errors: [{ status: 503 }] });
    }
    expect((await call('/v1/project/test-project/service/pg-off')).status).toBe(200);
    sim.fail({ kind: 'status', status: 500 });
    sim.clearFaults();
    expect((await call('/v1/project')).status).toBe(200);
  });

  it('serves malformed JSON, hangs past a client timeout and drops sockets', async () => {
    sim.fail({ kind: 'malformed-json' });
    const bad = await call('/v1/project/test-project/service');
    expect(bad.status).toBe(200);
    expect(bad.headers.get('content-type')).toBe('application/json');
    await expect(bad.json()).rejects.toThrow();

    sim.fail({ kind: 'hang', ms: 5_000 });
    await expect(call('/v1/project', { signal: AbortSignal.timeout(150) })).rejects.toThrow();

    sim.fail({ kind: 'drop' });
    await expect(call('/v1/project')).rejects.toThrow();
    expect((await call('/v1/project')).status).toBe(200);
  });

  it('counts requests by method and path prefix', async () => {
    await call('/v1/project');
    await call('/v1/project/test-project/service?include_secrets=true');
    await call('/v1/project/test-project/service/pg-off');
    await call('/v1/project/test-project/service/pg-off', { method: 'PUT', body: '{}' });
    expect(sim.countRequests('GET', '/v1/project/test-project/service')).toBe(2);
    expect(sim.countRequests('*', '/v1/project')).toBe(4);
    expect(sim.requests[1]).toEqual({ method: 'GET', path: '/v1/project/test-project/service', at: sim.now() });
    sim.resetRequests();
    expect(sim.requests).toHaveLength(0);
  });
});
