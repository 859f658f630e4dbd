import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ScaleTradeClient, ScaleTradeProgressWire } from '../src/sources/scaletrade/client.js';
import type { ScaleTradePush } from '../src/sources/scaletrade/connection.js';
import { demoScenario } from '../src/sources/scaletrade/scenarios.js';
import type { ScaleTradeSimulator } from '../src/sources/scaletrade/simulator.js';
import { connectClient, outcome, START_AT, startTestSimulator, TRANSPORTS, waitFor, type TransportName } from './support/scaletrade-fixtures.js';

let sim: ScaleTradeSimulator;
const clients: ScaleTradeClient[] = [];

beforeEach(async () => {
  sim = await startTestSimulator();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await sim.close();
});

async function session(transport: TransportName = 'tcp', token?: string) {
  const s = await connectClient(sim, transport, token ? { token } : {});
  clients.push(s.client);
  return s;
}

const progressOf = (events: ScaleTradePush[]): ScaleTradeProgressWire[] =>
  events.filter((e) => e.event === 'backup.progress').map((e) => e.data as ScaleTradeProgressWire);

/** Starts StartFullBackup on its own connection and waits until the server runs it. */
async function startBlockingBackup(transport: TransportName, participants?: string[]) {
  const { client } = await session(transport);
  const answer = outcome(client.startFullBackup(participants ? { participants } : {}));
  await waitFor(() => sim.activeRunId() !== null, 'the run to start');
  return { answer, runId: sim.activeRunId()! };
}

describe.each(TRANSPORTS)('a full backup observed over %s', (transport) => {
  it('streams progress through publish_remote to done/100 %, then polling shows idle (the seed quirk)', async () => {
    const watcher = await session(transport);
    await watcher.client.subscribe(['backup.progress']);
    const { answer, runId } = await startBlockingBackup(transport);

    sim.advance(6_000); // symbols done (4 s), accounts 20 %
    const running = await watcher.client.getBackupProgress();
    expect(running).toMatchObject({
      active: true, run_id: runId, type: 'full', trigger: 'manual', status: 'running', phase: 'backup',
      current_participant: 'accounts', participants_total: 5, participants_done: 1, remote_total: 0, finished_at: 0,
      started_at: Math.floor(START_AT / 1000),
    });
    expect(running.participants?.map((p) => [p.name, p.status, p.artifacts])).toEqual([['symbols', 'completed', 1], ['accounts', 'running', 0]]);
    expect(running.participants?.[0]?.size_bytes).toBe(327_680);
    expect(runId).toMatch(/^20260701-141500-\d{6}$/);

    sim.advance(29_000); // participants 28 s + validate 2 + finalize 1 → publish_remote step 4 of 6
    const publishing = await watcher.client.getBackupProgress();
    expect(publishing).toMatchObject({ phase: 'publish_remote', remote_total: 6, remote_done: 4, participants_done: 5, current_participant: '' });
    expect(publishing.message).toBe('remote upload reports backup-eu-1');

    sim.advance(3_000);
    const finalRun = await answer;
    expect(finalRun.value).toMatchObject({ run_id: runId, status: 'completed', path: `backups/completed/${runId}`, error_summary: '', requested_participants: [] });
    expect(finalRun.value?.finished_at).toBe(Math.floor(START_AT / 1000) + 37);
    const trades = finalRun.value?.participants?.find((p) => p.name === 'trades');
    expect(trades).toMatchObject({ critical: true, ok: true, status: 'completed', error: '' });
    expect(trades?.artifacts?.[0]).toMatchObject({
      logical_name: 'trades.snapshot', path: `backups/completed/${runId}/trades.snapshot`, size_bytes: 8 * 1024 * 1024,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/), integrity_ok: true, validation_ok: true,
    });

    await waitFor(() => progressOf(watcher.events).some((p) => p.phase === 'done'), 'the final event');
    const pushed = progressOf(watcher.events);
    expect(pushed.at(-1)).toMatchObject({ run_id: runId, active: false, status: 'completed', phase: 'done', overall_percent: 100, remote_done: 6 });
    expect(pushed.some((p) => p.phase === 'validate')).toBe(true);
    expect(pushed.filter((p) => p.phase === 'done')).toHaveLength(1);
    expect(watcher.events.every((e) => e.type === 3)).toBe(true);
    const percents = pushed.map((p) => p.overall_percent ?? 0);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));

    const idle = await watcher.client.getBackupProgress();
    expect(idle).toMatchObject({ active: false, run_id: '', phase: 'idle', status: 'completed', overall_percent: 0, started_at: 0, finished_at: 0, participants: [] });

    const runs = await watcher.client.getBackupRuns();
    expect(runs.map((r) => r.run_id)[0]).toBe(runId);
    expect(runs).toHaveLength(3);
    expect(await watcher.client.getBackupRun(runId)).toEqual(finalRun.value);
  });

  it('answers other commands, on other connections and on the same one, while StartFullBackup blocks', async () => {
    const { client } = await session(transport);
    const blocking = outcome(client.startFullBackup());
    await waitFor(() => sim.activeRunId() !== null, 'the run to start');
    const other = await session(transport);
    expect((await other.client.getBackupRuns())[0]).toMatchObject({ run_id: sim.activeRunId(), status: 'running', finished_at: 0 });
    expect((await client.getBackupProgress()).active).toBe(true);
    sim.advance(40_000);
    expect((await blocking).value?.status).toBe('completed');
  });
});

describe('concurrency and access', () => {
  it('refuses a second start while a backup runs (409 → CONFLICT), also for restores', async () => {
    const { answer } = await startBlockingBackup('tcp');
    const second = await session('ws');
    expect((await outcome(second.client.startFullBackup())).error).toMatchObject({ code: 'CONFLICT', details: { vendorError: 'RET_BACKUP_IN_PROGRESS', vendorCode: 409 } });
    const source = (await second.client.getBackupRuns())[1]!.run_id;
    expect((await outcome(second.client.startRestoreRun({ run_id: source }))).error).toMatchObject({ code: 'CONFLICT' });
    sim.advance(40_000);
    expect((await answer).value?.status).toBe('completed');
  });

  it('gives the viewer token 403 (FORBIDDEN) on every backup command but lets it subscribe', async () => {
    const viewer = await session('tcp', sim.tokens.viewer);
    for (const call of [(): Promise<unknown> => viewer.client.getBackupProgress(), () => viewer.client.startFullBackup(), () => viewer.client.getBackupRuns(), () => viewer.client.getRestoreRuns()]) {
      const result = await outcome(call());
      expect(result.error).toMatchObject({ code: 'FORBIDDEN', status: 403 });
      expect(result.error.message).not.toContain(sim.tokens.viewer);
    }
    expect(await viewer.client.subscribe(['backup.progress'])).toEqual({ chanels: ['backup.progress'] });
    expect(sim.activeRunId()).toBeNull();
  });

  it('answers a bad token with an error reply (UPSTREAM_UNAUTHORIZED) that does not echo it', async () => {
    const forged = await session('ws', 'eyJhbGciOi.forged.jwt');
    const result = await outcome(forged.client.getBackupProgress());
    expect(result.error).toMatchObject({ code: 'UPSTREAM_UNAUTHORIZED' });
    expect(JSON.stringify(result.error.toJSON())).not.toContain('forged');
  });
});

describe('quirks', () => {
  it('accepts `channels` (correct spelling) but subscribes to nothing: that stream stays silent', async () => {
    const wrong = await session('tcp');
    const right = await session('ws');
    const reply = await wrong.client.connection.request('Subscribe', { channels: ['backup.progress'] });
    expect(reply).toMatchObject({ status: 200, data: { chanels: [] } });
    await right.client.subscribe(['backup.progress']);
    sim.startRun();
    sim.advance(5_000);
    await waitFor(() => right.events.length >= 5, 'events on the correctly spelled subscription');
    // Everything the server sent before this reply has arrived: the misspelled session got nothing.
    await wrong.client.getBackupProgress();
    expect(wrong.events).toEqual([]);
  });

  it('unsubscribes with the same `chanels` field', async () => {
    const s = await session('tcp');
    await s.client.subscribe(['backup.progress']);
    expect(await s.client.unsubscribe(['backup.progress'])).toEqual({ chanels: [] });
    sim.startRun();
    sim.advance(3_000);
    await s.client.getBackupProgress();
    expect(s.events).toEqual([]);
  });

  it('muteStream silences the stream while polling still shows progress', async () => {
    const s = await session('tcp');
    await s.client.subscribe(['backup.progress']);
    sim.muteStream(true);
    sim.startRun();
    sim.advance(6_000);
    expect((await s.client.getBackupProgress()).participants_done).toBe(1);
    expect(s.events).toEqual([]);
    sim.muteStream(false);
    sim.advance(1_000);
    await waitFor(() => s.events.length === 1, 'the stream to resume');
  });

  it('a failing critical participant fails the run: an error reply with the run id, and the failed snapshot stays shown', async () => {
    sim.failParticipant('accounts', 'disk full');
    const watcher = await session('tcp');
    await watcher.client.subscribe(['backup.progress']);
    const { answer, runId } = await startBlockingBackup('ws');
    sim.advance(20_000);
    const result = await answer;
    expect(result.error).toMatchObject({ code: 'UPSTREAM_REJECTED', details: { vendorError: 'RET_BACKUP_FAILED', vendorCode: 500, runId, vendorDetail: 'accounts: disk full' } });
    const run = await watcher.client.getBackupRun(runId);
    expect(run).toMatchObject({ status: 'failed', path: `backups/failed/${runId}`, error_summary: 'accounts: disk full' });
    expect(run.participants?.find((p) => p.name === 'accounts')).toMatchObject({ ok: false, status: 'failed', error: 'disk full', artifacts: [] });
    expect(await watcher.client.getBackupProgress()).toMatchObject({ active: false, run_id: runId, status: 'failed', phase: 'failed' });
    await waitFor(() => progressOf(watcher.events).some((p) => p.status === 'failed'), 'the failed event');
  });

  it('a failing optional participant makes the run partial, which is still a success reply', async () => {
    sim.failParticipant('reports', 'export timed out');
    const { answer } = await startBlockingBackup('tcp');
    sim.advance(40_000);
    const result = await answer;
    expect(result.value).toMatchObject({ status: 'partial', error_summary: 'reports: export timed out' });
    expect(result.value?.participants?.find((p) => p.name === 'reports')).toMatchObject({ critical: false, ok: false, status: 'failed' });
    const s = await session('tcp');
    expect(await s.client.getBackupProgress()).toMatchObject({ phase: 'idle', status: 'partial', run_id: '' });
  });

  it('runs a scoped backup through the StartBackupServer alias', async () => {
    const { client } = await session('ws');
    const answer = client.startFullBackup({ participants: ['trades'] }, { command: 'StartBackupServer' });
    await waitFor(() => sim.activeRunId() !== null, 'the run to start');
    sim.advance(20_000);
    const run = await answer;
    expect(run).toMatchObject({ type: 'scoped', requested_participants: ['trades'], status: 'completed' });
    expect(run.participants?.map((p) => p.name)).toEqual(['trades']);
    expect(sim.countRequests('StartBackupServer')).toBe(1);
    expect((await outcome(client.startFullBackup({ participants: ['nope'] }))).error).toMatchObject({ code: 'UPSTREAM_REJECTED', details: { vendorError: 'INVALID_DATA' } });
  });

  it('can time out the blocking command when the caller configures it', async () => {
    const { client } = await connectClient(sim, 'tcp', { timeouts: { blockingMs: 100 } });
    clients.push(client);
    expect((await outcome(client.startFullBackup())).error).toMatchObject({ code: 'UPSTREAM_TIMEOUT' });
    expect(sim.activeRunId()).not.toBeNull();
  });
});

describe('restores', () => {
  it('runs a restore that answers when done, listed first and readable while it runs', async () => {
    const { client } = await session('tcp');
    const source = (await client.getBackupRuns())[0]!;
    const answer = client.startRestoreRun({ run_id: source.run_id, participants: ['staff', 'trades'], force: true, dry_run: false });
    await waitFor(() => sim.countRequests('StartRestoreRun') === 1, 'the restore to start');
    sim.advance(2_500);
    const other = await session('ws');
    const [listed] = await other.client.getRestoreRuns();
    expect(listed).toMatchObject({ source_run_id: source.run_id, status: 'running', force: true, dry_run: false, finished_at: 0 });
    const live = await other.client.getRestoreRun(listed!.restore_id);
    expect(live.participants?.map((p) => [p.name, p.status])).toEqual([['staff', 'completed'], ['trades', 'running']]);
    expect(live.participants?.[0]?.safety_artifacts?.[0]?.path).toBe(`backups/pre-restore/${listed!.restore_id}/staff.snapshot`);
    sim.advance(2_000);
    const done = await answer;
    expect(done).toMatchObject({ restore_id: listed!.restore_id, status: 'completed', pre_restore_path: `backups/pre-restore/${listed!.restore_id}`, error_summary: '' });
    expect(done.participants?.every((p) => p.ok)).toBe(true);
    expect((await outcome(other.client.getRestoreRun('missing'))).error).toMatchObject({ code: 'NOT_FOUND', details: { vendorError: 'RESTORE_RUN_NOT_FOUND' } });
    expect((await outcome(other.client.startRestoreRun({ run_id: 'missing' }))).error).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses to restore from a run that did not complete', async () => {
    sim.failParticipant('symbols', 'boom');
    const { answer, runId } = await startBlockingBackup('tcp');
    sim.advance(5_000);
    await answer;
    const s = await session('tcp');
    expect((await outcome(s.client.startRestoreRun({ run_id: runId }))).error).toMatchObject({ code: 'UPSTREAM_REJECTED', details: { vendorError: 'INVALID_DATA', vendorCode: 400 } });
  });
});

describe('server faults', () => {
  it('dropConnections rejects StartFullBackup with UPSTREAM_UNAVAILABLE while the run goes on', async () => {
    const { answer, runId } = await startBlockingBackup('tcp');
    sim.dropConnections();
    expect((await answer).error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    sim.advance(5_000);
    const s = await session('ws');
    expect(await s.client.getBackupProgress()).toMatchObject({ run_id: runId, active: true });
  });

  it('stops and restarts on the same ports', async () => {
    const s = await session('tcp');
    const tcpUrl = sim.tcpUrl;
    await sim.stop();
    expect((await s.client.connection.closed).error?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect((await outcome(connectClient(sim, 'tcp'))).error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    await sim.restart();
    expect(sim.tcpUrl).toBe(tcpUrl);
    for (const transport of TRANSPORTS) expect((await (await session(transport)).client.getBackupProgress()).phase).toBe('idle');
  });

  it('stop({abortRun}) fails the active run as a crash would', async () => {
    const runId = sim.startRun();
    sim.advance(3_000);
    await sim.stop({ abortRun: true });
    await sim.restart();
    const s = await session('tcp');
    expect(await s.client.getBackupRun(runId)).toMatchObject({ status: 'failed', error_summary: 'server stopped during the run' });
    expect(sim.activeRunId()).toBeNull();
  });
});

describe('demo scenario', () => {
  it('is mid-run from the first second and starts a new cron run every few minutes', async () => {
    await sim.close();
    sim = await startTestSimulator({ scenario: demoScenario() });
    const s = await session('tcp');
    const first = await s.client.getBackupProgress();
    expect(first).toMatchObject({ active: true, trigger: 'cron', status: 'running' });
    expect(first.overall_percent).toBeGreaterThan(0);
    expect(first.started_at).toBe(Math.floor(START_AT / 1000) - 40);
    sim.advance(180_000);
    const second = await s.client.getBackupProgress();
    expect(second.active).toBe(true);
    expect(second.run_id).not.toBe(first.run_id);
    expect((await s.client.getBackupRun(first.run_id!)).status).toBe('completed');
  });

  it('moves on the realtime clock without advance()', async () => {
    await sim.close();
    sim = await startTestSimulator({ scenario: demoScenario(), clock: 'realtime', startAt: undefined });
    const s = await session('ws');
    await s.client.subscribe(['backup.progress']);
    await waitFor(() => s.events.length >= 2, 'realtime progress events');
    expect(progressOf(s.events)[0]).toMatchObject({ active: true, trigger: 'cron' });
  });
});
