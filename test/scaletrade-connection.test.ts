import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../src/errors.js';
import { commandError, ScaleTradeConnection, type MalformedFrame, type ScaleTradePush } from '../src/sources/scaletrade/connection.js';
import type { ScaleTradeSimulator } from '../src/sources/scaletrade/simulator.js';
import { outcome, startTestSimulator, TRANSPORTS, urlOf, waitFor } from './support/scaletrade-fixtures.js';

let sim: ScaleTradeSimulator;
const open: ScaleTradeConnection[] = [];

beforeEach(async () => {
  sim = await startTestSimulator();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  await sim.close();
});

async function connect(transport: 'tcp' | 'ws', extra: Partial<Parameters<typeof ScaleTradeConnection.open>[0]> = {}) {
  const malformed: MalformedFrame[] = [];
  const events: ScaleTradePush[] = [];
  const connection = await ScaleTradeConnection.open({
    url: urlOf(sim, transport),
    token: sim.tokens.admin,
    source: 'trading',
    onMalformed: (frame) => malformed.push(frame),
    onEvent: (event) => events.push(event),
    ...extra,
  });
  open.push(connection);
  return { connection, malformed, events };
}

function expectNoToken(error: unknown, token = sim.tokens.admin): void {
  expect(error).toBeInstanceOf(GatewayError);
  const gatewayError = error as GatewayError;
  expect(gatewayError.message).not.toContain(token);
  expect(JSON.stringify(gatewayError.toJSON())).not.toContain(token);
  expect(JSON.stringify(gatewayError.details ?? {})).not.toContain(token);
}

describe.each(TRANSPORTS)('command layer over %s', (transport) => {
  it('sends command, extID, data and __token, and matches the reply by extID', async () => {
    const { connection } = await connect(transport);
    const [a, b] = await Promise.all([connection.request('GetBackupProgress'), connection.request('GetBackupRuns')]);
    expect(a).toMatchObject({ extID: '1', phase: 'idle', run_id: '' });
    expect(b['extID']).toBe('2');
    expect(Array.isArray(b['rows'])).toBe(true);
    expect(sim.requests.map((r) => [r.command, r.transport, r.role])).toEqual([
      ['GetBackupProgress', transport, 'admin'],
      ['GetBackupRuns', transport, 'admin'],
    ]);
  });

  it('reassembles a reply split over several writes', async () => {
    const { connection, malformed } = await connect(transport);
    sim.fail({ kind: 'split', pieces: 5 }, { command: 'GetBackupRuns' });
    const reply = await connection.request('GetBackupRuns');
    expect((reply['rows'] as unknown[]).length).toBe(2);
    expect(malformed).toEqual([]);
  });

  it('splits coalesced frames: a compact push is ignored, every reply resolves', async () => {
    const { connection, malformed, events } = await connect(transport);
    sim.fail({ kind: 'coalesce', frames: 3 });
    const replies = await Promise.all([connection.request('GetBackupProgress'), connection.request('GetBackupRuns'), connection.request('GetRestoreRuns')]);
    expect(replies.map((r) => r['extID'])).toEqual(['1', '2', '3']);
    expect(replies[2]).toMatchObject({ rows: [] });
    expect(malformed).toEqual([]);
    expect(events).toEqual([]);
  });

  it('reports a malformed line, skips it and still resolves the reply after it', async () => {
    const { connection, malformed } = await connect(transport);
    sim.fail({ kind: 'malformed' });
    const reply = await connection.request('GetBackupProgress');
    expect(reply['phase']).toBe('idle');
    expect(malformed).toEqual([{ reason: 'invalid-json', bytes: expect.any(Number) }]);
  });

  it('drops the connection on an oversize frame and rejects what is pending', async () => {
    const { connection } = await connect(transport, { maxReceiveBytes: 32 * 1024 });
    sim.fail({ kind: 'oversize', bytes: 64 * 1024 });
    const result = await outcome(connection.request('GetBackupProgress'));
    expect(result.error).toBeInstanceOf(GatewayError);
    expect(['UPSTREAM_BAD_RESPONSE', 'UPSTREAM_UNAVAILABLE']).toContain(result.error.code);
    const closed = await connection.closed;
    expect(closed.error?.code).toBe('UPSTREAM_BAD_RESPONSE');
    expect(connection.isOpen).toBe(false);
  });

  it('refuses to send a request over the 64 KiB frame cap, and the connection stays usable', async () => {
    const { connection } = await connect(transport);
    const result = await outcome(connection.request('StartFullBackup', { participants: ['x'.repeat(70_000)] }));
    expect(result.error).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(sim.countRequests('StartFullBackup')).toBe(0);
    expect((await connection.request('GetBackupProgress'))['phase']).toBe('idle');
  });

  it('times out one request (UPSTREAM_TIMEOUT) without closing the connection', async () => {
    const { connection } = await connect(transport, { timeouts: { requestMs: 100 } });
    sim.fail({ kind: 'hang' });
    const result = await outcome(connection.request('GetBackupProgress'));
    expect(result.error).toMatchObject({ code: 'UPSTREAM_TIMEOUT' });
    expectNoToken(result.error);
    expect(connection.isOpen).toBe(true);
    expect((await connection.request('GetBackupRuns'))['extID']).toBe('2');
  });

  it('rejects every pending request with UPSTREAM_UNAVAILABLE when the socket drops, and reports close', async () => {
    const { connection } = await connect(transport);
    const closes: unknown[] = [];
    connection.onClose((c) => closes.push(c));
    const backup = connection.request('StartFullBackup', {});
    sim.fail({ kind: 'hang' }, { command: 'GetBackupProgress' });
    const progress = connection.request('GetBackupProgress');
    await waitFor(() => sim.countRequests('GetBackupProgress') === 1, 'both requests to arrive');
    sim.dropConnections();
    const results = await Promise.all([outcome(backup), outcome(progress)]);
    for (const r of results) {
      expect(r.error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
      expectNoToken(r.error);
    }
    expect((await connection.closed).error?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(closes).toHaveLength(1);
    expect(await outcome(connection.request('GetBackupProgress'))).toMatchObject({ error: { code: 'UPSTREAM_UNAVAILABLE' } });
  });

  it('maps error replies by code: 401 token, 403 viewer, 404, 409, 501 and 400 with the vendor name in details', async () => {
    const bad = (await connect(transport, { token: 'forged-token-999' })).connection;
    const badToken = await outcome(bad.request('GetBackupProgress'));
    expect(badToken.error).toMatchObject({ code: 'UPSTREAM_UNAUTHORIZED', details: { vendorError: 'INVALID_TOKEN', vendorCode: 401 } });
    expectNoToken(badToken.error, 'forged-token-999');

    const viewer = (await connect(transport, { token: sim.tokens.viewer })).connection;
    const forbidden = await outcome(viewer.request('StartFullBackup', {}));
    expect(forbidden.error).toMatchObject({ code: 'FORBIDDEN', status: 403, details: { vendorError: 'RET_ACCESS_DENIED', command: 'StartFullBackup' } });
    expectNoToken(forbidden.error, sim.tokens.viewer);

    const { connection } = await connect(transport);
    expect((await outcome(connection.request('GetBackupRun', { run_id: 'nope' }))).error).toMatchObject({ code: 'NOT_FOUND', details: { vendorError: 'BACKUP_RUN_NOT_FOUND' } });
    expect((await outcome(connection.request('StopBackupServer'))).error).toMatchObject({
      code: 'UPSTREAM_REJECTED',
      details: { vendorError: 'RET_CFG_NO_BACKUP_MODULE', vendorCode: 501, vendorDetail: 'Backup transport/cancel runtime is not implemented yet' },
    });
    expect((await outcome(connection.request('GetRestoreRun', {}))).error).toMatchObject({ code: 'UPSTREAM_REJECTED', details: { vendorError: 'INVALID_DATA', vendorCode: 400 } });
    sim.fail({ kind: 'error', code: 409, error: 'RET_BACKUP_IN_PROGRESS', message: 'busy' });
    expect((await outcome(connection.request('StartFullBackup', {}))).error).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('busy') });
  });

  it('delivers pushed events to listeners and to the async iterator, which ends on close', async () => {
    const { connection, events } = await connect(transport);
    await connection.request('Subscribe', { chanels: ['backup.progress'] });
    const iterator = connection.events();
    sim.startRun();
    sim.advance(2_000);
    await waitFor(() => events.length >= 3, 'three progress events');
    const first = await iterator.next();
    expect(first.value).toMatchObject({ event: 'backup.progress', type: 3, data: { active: true, phase: 'backup' } });
    await connection.close();
    const rest: unknown[] = [];
    for await (const event of iterator) rest.push(event);
    expect(rest.length).toBeGreaterThanOrEqual(2);
    expect(await connection.closed).toEqual({ error: null });
  });
});

describe('listener isolation', () => {
  it('a throwing event listener neither breaks the session nor starves the others', async () => {
    const errors: unknown[] = [];
    const { connection, events } = await connect('tcp', { onListenerError: (error) => errors.push(error) });
    connection.onEvent(() => {
      throw new Error('consumer bug');
    });
    await connection.request('Subscribe', { chanels: ['backup.progress'] });
    sim.startRun();
    sim.advance(1_000);
    await waitFor(() => events.length >= 2, 'events for the healthy listener');
    expect(errors.length).toBe(events.length);
    expect((await connection.request('GetBackupProgress'))['active']).toBe(true);
  });
});

describe('wss', () => {
  it('connects with the configured CA and servername, and refuses an untrusted certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scaletrade-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', '/CN=scaletrade.test', '-addext', 'subjectAltName=DNS:scaletrade.test', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
      const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
      const secure = await startTestSimulator({ tls: { cert, key: readFileSync(join(dir, 'key.pem'), 'utf8') } });
      try {
        expect(secure.wsUrl).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/ws$/);
        const base = { url: secure.wsUrl, token: secure.tokens.admin, source: 'trading' };
        const trusted = await ScaleTradeConnection.open({ ...base, tls: { ca: cert, servername: 'scaletrade.test' } });
        expect((await trusted.request('GetBackupProgress'))['phase']).toBe('idle');
        await trusted.close();
        const untrusted = await outcome(ScaleTradeConnection.open(base));
        expect(untrusted.error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
        expect(untrusted.error.message).not.toContain(secure.tokens.admin);
      } finally {
        await secure.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('connect failures', () => {
  it('a closed port is UPSTREAM_UNAVAILABLE', async () => {
    const url = sim.tcpUrl;
    await sim.stop();
    const result = await outcome(ScaleTradeConnection.open({ url, token: 'secret-token-1', source: 'trading' }));
    expect(result.error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(result.error.message).not.toContain('secret-token-1');
    await sim.restart();
  });

  it('a server that never completes the WebSocket handshake is UPSTREAM_TIMEOUT', async () => {
    const silent: Server = createServer((socket: Socket) => socket.on('error', () => undefined));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const result = await outcome(ScaleTradeConnection.open({ url: `ws://127.0.0.1:${port}/ws`, token: 't', source: 'trading', timeouts: { connectMs: 150 } }));
      expect(result.error).toMatchObject({ code: 'UPSTREAM_TIMEOUT' });
    } finally {
      silent.close();
    }
  });

  it('rejects a URL that is neither tcp:// nor ws(s)://', async () => {
    expect((await outcome(ScaleTradeConnection.open({ url: 'http://x:1', token: 't', source: 's' }))).error).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect((await outcome(ScaleTradeConnection.open({ url: 'tcp://host-without-port', token: 't', source: 's' }))).error).toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});

describe('commandError', () => {
  it('maps by code first, by the error name when there is no code, and redacts secrets', () => {
    const context = { source: 's', command: 'C', secrets: ['jwt-abc-123'] };
    expect(commandError({ error: 'RET_ERR_NOTFOUND', code: 409 }, context).code).toBe('CONFLICT');
    expect(commandError({ error: 'RET_ERR_NOTFOUND' }, context).code).toBe('NOT_FOUND');
    expect(commandError({ error: 'RESTORE_RUN_NOT_FOUND' }, context).code).toBe('NOT_FOUND');
    expect(commandError({ error: 'RET_ACCESS_DENIED' }, context).code).toBe('FORBIDDEN');
    expect(commandError({ error: 'RET_BACKUP_IN_PROGRESS' }, context).code).toBe('CONFLICT');
    expect(commandError({ error: 'RET_ERROR' }, context).code).toBe('UPSTREAM_REJECTED');
    const leaky = commandError({ error: 'RET_ERROR', code: 500, message: 'token jwt-abc-123 rejected', detail: 'jwt-abc-123', run_id: 'r1' }, context);
    expect(leaky.message).not.toContain('jwt-abc-123');
    expect(JSON.stringify(leaky.toJSON())).not.toContain('jwt-abc-123');
    expect(leaky.details).toMatchObject({ vendorCode: 500, vendorError: 'RET_ERROR', runId: 'r1' });
  });
});
