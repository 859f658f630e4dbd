import { afterEach, describe, expect, it } from 'vitest';
import { collect, eventually } from './support/harness.js';
import { TRANSPORTS } from './support/scaletrade-fixtures.js';
import { SOURCE, startScaleTradeWorld, type ScaleTradeWorld } from './support/scaletrade-world.js';

/**
 * ScaleTrade end to end: simulator (manual clock) → managed session → tracker → GraphQL over
 * fetch and graphql-ws. The test scenario's run takes 37 s of simulator time.
 */

const RUN = `id status vendorStatus message finishedAt progress { percent done total unit } ... on ScaleTradeBackupRun { runId phase errorSummary path artifacts { logicalName sha256 } participants { name vendorStatus critical ok error } }`;
const START = `mutation ($p: [String!]) { startScaleTradeBackup(source: "${SOURCE}", participants: $p) { ${RUN} } }`;
const UPDATED = `subscription ($id: ID!) { operationUpdated(id: $id) { ${RUN} } }`;
const CHANGED = `subscription { operationsChanged(filter: { sources: ["${SOURCE}"] }) { change operation { id status progress { percent } } } }`;
const SESSION = `{ scaleTrade { session { state reconnects polling connectedAt lastEventAt } } }`;

let world: ScaleTradeWorld;
afterEach(async () => {
  if (!world) return;
  // No secret in any log line.
  const logs = world.logs.join('');
  expect(logs).not.toContain(world.sim.tokens.admin);
  expect(logs).not.toContain(world.sim.tokens.viewer);
  await world.close();
});

async function start(participants?: string[]): Promise<Record<string, any>> {
  const result = await world.gql(START, { p: participants ?? null });
  expect(result.errors).toBeUndefined();
  return result.data.startScaleTradeBackup;
}

function finishedOf(events: Array<{ data?: any }>, id: string) {
  return events.filter((e) => e.data?.operationsChanged?.change === 'FINISHED' && e.data.operationsChanged.operation.id === id);
}

describe.each(TRANSPORTS)('ScaleTrade over %s', (transport) => {
  it('answers startScaleTradeBackup at once with the run RUNNING, follows it live to SUCCEEDED at 100 % exactly once, with its artifacts', async () => {
    world = await startScaleTradeWorld({ transport });
    const changes = collect(world.ws(), CHANGED);
    const run = await start();
    expect(run).toMatchObject({ status: 'RUNNING', vendorStatus: 'running', finishedAt: null });
    expect(run.runId).toMatch(/\S/);
    const updates = collect(world.ws(), UPDATED, { id: run.id });
    await updates.next((e) => e.data?.operationUpdated?.status === 'RUNNING');

    // StartFullBackup's answer is pending all along; other commands still answer meanwhile.
    await world.run(8_000);
    const runs = await world.gql(`{ scaleTrade { runs(first: 5) { runId status } session { state } } }`);
    expect(runs.errors).toBeUndefined();
    expect(runs.data.scaleTrade.runs[0]).toEqual({ runId: run.runId, status: 'RUNNING' });
    expect(runs.data.scaleTrade.session.state).toBe('CONNECTED');

    await world.run(32_000);
    await eventually(() => updates.events.some((e) => e.data?.operationUpdated?.status === 'SUCCEEDED'), 10_000, 'SUCCEEDED');
    await updates.done;
    const states = updates.events.map((e) => e.data!.operationUpdated);
    expect(states.filter((s: any) => s.status === 'SUCCEEDED')).toHaveLength(1);
    const last = states.at(-1);
    expect(last).toMatchObject({ status: 'SUCCEEDED', vendorStatus: 'completed', progress: { percent: 100 }, phase: 'done' });
    expect(last.path).toContain(run.runId);
    expect(last.artifacts.length).toBeGreaterThan(0);
    expect(last.artifacts[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    // Polling now shows idle; the finished run stays known.
    const current = await world.gql(`query ($id: ID!) { scaleTrade { current { id } } node(id: $id) { ... on Operation { status } } }`, { id: run.id });
    expect(current.data).toEqual({ scaleTrade: { current: null }, node: { status: 'SUCCEEDED' } });
    await eventually(() => finishedOf(changes.events, run.id).length === 1, 5_000, 'FINISHED');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(finishedOf(changes.events, run.id)).toHaveLength(1);
    changes.stop();
  });

  it('reads split, coalesced and malformed frames; an oversize one fails that call alone', async () => {
    world = await startScaleTradeWorld({ transport });
    const RUNS = `{ scaleTrade { runs(first: 5) { runId status } } }`;
    world.sim.fail({ kind: 'split', pieces: 5 }, { command: 'GetBackupRuns' });
    const split = await world.gql(RUNS);
    expect(split.errors).toBeUndefined();
    expect(split.data.scaleTrade.runs).toHaveLength(2);

    world.sim.fail({ kind: 'coalesce', frames: 2 }, { command: 'GetBackupRuns' });
    const [a, b] = await Promise.all([world.gql(RUNS), world.gql(`{ scaleTrade { restoreRuns { restoreId } } }`)]);
    expect(a.errors).toBeUndefined();
    expect(b.errors).toBeUndefined();
    expect(a.data.scaleTrade.runs).toHaveLength(2);

    world.sim.fail({ kind: 'malformed' }, { command: 'GetBackupRuns' });
    expect((await world.gql(RUNS)).data.scaleTrade.runs).toHaveLength(2);
    expect(world.logs.some((line) => line.includes('unreadable ScaleTrade message skipped'))).toBe(true);

    world.sim.fail({ kind: 'oversize', bytes: 11 * 1024 * 1024 }, { command: 'GetBackupRuns' });
    const oversize = await world.gql(RUNS);
    expect(oversize.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE', source: SOURCE });
    const after = await world.gql(RUNS);
    expect(after.errors).toBeUndefined();
    expect(after.data.scaleTrade.runs).toHaveLength(2);
  });
});

describe('ScaleTrade live session', () => {
  it('gives a subscriber joining mid-run the current state at once, then the end', async () => {
    world = await startScaleTradeWorld();
    const runId = world.sim.startRun({ trigger: 'cron' });
    world.sim.advance(12_000);
    const current = await world.gql(`{ scaleTrade { current { ${RUN} } } }`);
    const run = current.data.scaleTrade.current;
    expect(run).toMatchObject({ runId, status: 'RUNNING' });
    expect(run.progress.percent).toBeGreaterThan(0);
    const updates = collect(world.ws(), UPDATED, { id: run.id });
    const first = await updates.next(() => true);
    expect(first.data!.operationUpdated).toMatchObject({ id: run.id, status: 'RUNNING' });
    expect(first.data!.operationUpdated.progress.percent).toBeGreaterThanOrEqual(run.progress.percent);
    await world.run(30_000);
    await updates.done;
    expect(updates.events.at(-1)!.data!.operationUpdated).toMatchObject({ status: 'SUCCEEDED', progress: { percent: 100 } });
  });

  it('loses no final state when the connection is cut just before the end, and finishes once', async () => {
    world = await startScaleTradeWorld();
    const changes = collect(world.ws(), CHANGED);
    const run = await start();
    await world.run(10_000);
    await changes.next((e) => e.data?.operationsChanged?.change === 'PROGRESSED');
    // The cut and the end in the same instant: the final push goes nowhere.
    world.sim.dropConnections();
    world.sim.advance(40_000);
    const dropped = await changes.next((e) => Boolean(e.errors?.length));
    expect(dropped.errors![0]!.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', source: SOURCE });
    await eventually(() => finishedOf(changes.events, run.id).length > 0, 10_000, 'FINISHED after the reconnect');
    expect(finishedOf(changes.events, run.id)[0]!.data.operationsChanged.operation).toMatchObject({ status: 'SUCCEEDED', progress: { percent: 100 } });
    const session = await eventually(async () => {
      const s = (await world.gql(SESSION)).data.scaleTrade.session;
      return s.state === 'CONNECTED' && s.reconnects >= 1 ? s : null;
    }, 10_000, 'the session back');
    expect(session.connectedAt).not.toBeNull();
    // A later reconnect (resync shows idle again) adds nothing.
    world.sim.dropConnections();
    await eventually(async () => (await world.gql(SESSION)).data.scaleTrade.session.reconnects >= 2, 10_000, 'a second reconnect');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(finishedOf(changes.events, run.id)).toHaveLength(1);
    expect(world.sim.countRequests('Subscribe')).toBeGreaterThanOrEqual(3);
    changes.stop();
  });

  it('follows a run across a server restart; a run the crash aborted is FAILED with the vendor summary', async () => {
    world = await startScaleTradeWorld();
    const changes = collect(world.ws(), CHANGED);
    const run = await start();
    await world.run(5_000);
    await world.sim.stop({ abortRun: true });
    await changes.next((e) => Boolean(e.errors?.length));
    const health = await world.gql(`{ source(name: "${SOURCE}") { health { status lastError } } }`);
    expect(['DEGRADED', 'DOWN']).toContain(health.data.source.health.status);
    await world.sim.restart();
    const finished = await eventually(() => finishedOf(changes.events, run.id)[0], 10_000, 'FINISHED');
    expect(finished.data.operationsChanged.operation.status).toBe('FAILED');
    const node = await world.gql(`query ($id: ID!) { node(id: $id) { ... on Operation { ${RUN} } } }`, { id: run.id });
    expect(node.data.node).toMatchObject({ status: 'FAILED', errorSummary: 'server stopped during the run', message: 'server stopped during the run' });
    // The next run is followed on the new session.
    const next = await start();
    expect(next.runId).not.toBe(run.runId);
    await world.run(40_000);
    await eventually(() => finishedOf(changes.events, next.id)[0]?.data.operationsChanged.operation.status === 'SUCCEEDED', 10_000, 'the next run SUCCEEDED');
    expect(finishedOf(changes.events, run.id)).toHaveLength(1);
    changes.stop();
  });

  it('a run that ends while the server restarts is SUCCEEDED once, from GetBackupRun', async () => {
    world = await startScaleTradeWorld();
    const changes = collect(world.ws(), CHANGED);
    const run = await start();
    await world.run(5_000);
    await world.sim.stop();
    world.sim.advance(40_000);
    await world.sim.restart();
    const finished = await eventually(() => finishedOf(changes.events, run.id)[0], 10_000, 'FINISHED');
    expect(finished.data.operationsChanged.operation).toMatchObject({ status: 'SUCCEEDED', progress: { percent: 100 } });
    const node = await world.gql(`query ($id: ID!) { node(id: $id) { ... on Operation { ${RUN} } } }`, { id: run.id });
    expect(node.data.node.artifacts.length).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(finishedOf(changes.events, run.id)).toHaveLength(1);
    changes.stop();
  });

  it('polls GetBackupProgress while the stream is silent during a run, and still ends SUCCEEDED', async () => {
    world = await startScaleTradeWorld({ staleMs: 200 });
    const run = await start();
    const updates = collect(world.ws(), UPDATED, { id: run.id });
    await updates.next(() => true);
    world.sim.muteStream(true);
    const polledBefore = world.sim.countRequests('GetBackupProgress');
    world.sim.advance(10_000);
    const moved = await updates.next((e) => (e.data?.operationUpdated?.progress.percent ?? 0) > run.progress.percent, 5_000);
    expect(moved.data!.operationUpdated.status).toBe('RUNNING');
    expect(world.sim.countRequests('GetBackupProgress')).toBeGreaterThan(polledBefore);
    expect((await world.gql(SESSION)).data.scaleTrade.session.polling).toBe(true);
    world.sim.advance(30_000);
    await updates.done;
    expect(updates.events.at(-1)!.data!.operationUpdated).toMatchObject({ status: 'SUCCEEDED', progress: { percent: 100 } });
    expect(updates.events.filter((e) => e.data?.operationUpdated?.status === 'SUCCEEDED')).toHaveLength(1);
  });

  it('maps partial to PARTIAL and a failed run to FAILED with the vendor summary', async () => {
    world = await startScaleTradeWorld();
    world.sim.failParticipant('reports', 'report export timed out');
    const partial = await start();
    const partialUpdates = collect(world.ws(), UPDATED, { id: partial.id });
    await world.run(40_000);
    await partialUpdates.done;
    expect(partialUpdates.events.at(-1)!.data!.operationUpdated).toMatchObject({ status: 'PARTIAL', vendorStatus: 'partial' });

    world.sim.failParticipant('reports', null);
    world.sim.failParticipant('accounts', 'snapshot write failed: disk full');
    const failing = await start();
    const failingUpdates = collect(world.ws(), UPDATED, { id: failing.id });
    await world.run(20_000);
    await failingUpdates.done;
    const last = failingUpdates.events.at(-1)!.data!.operationUpdated;
    expect(last).toMatchObject({ status: 'FAILED', vendorStatus: 'failed' });
    expect(last.errorSummary).toContain('snapshot write failed: disk full');
    expect(last.participants.find((p: any) => p.name === 'accounts')).toMatchObject({ ok: false, critical: true });
  });

  it('refuses a second start while a run is busy (409 → CONFLICT)', async () => {
    world = await startScaleTradeWorld();
    await start();
    const second = await world.gql(START, { p: null });
    expect(second.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', source: SOURCE });
    expect(JSON.stringify(second)).not.toContain(world.sim.tokens.admin);
  });

  it('starts a restore, answers RUNNING at once, and follows it by polling to SUCCEEDED', async () => {
    world = await startScaleTradeWorld();
    const runs = await world.gql(`{ scaleTrade { runs(first: 1) { runId status } } }`);
    const source = runs.data.scaleTrade.runs[0];
    expect(source.status).toBe('SUCCEEDED');
    const started = await world.gql(
      `mutation ($r: String!) { startScaleTradeRestore(source: "${SOURCE}", runId: $r, participants: ["symbols", "staff"], dryRun: true) { id status restoreId sourceRunId dryRun participantsTotal } }`,
      { r: source.runId },
    );
    expect(started.errors).toBeUndefined();
    const restore = started.data.startScaleTradeRestore;
    expect(restore).toMatchObject({ status: 'RUNNING', sourceRunId: source.runId, dryRun: true, participantsTotal: 2 });
    const updates = collect(world.ws(), `subscription ($id: ID!) { operationUpdated(id: $id) { status progress { percent } } }`, { id: restore.id });
    await updates.next(() => true);
    await world.run(6_000, 500);
    await updates.done;
    expect(updates.events.at(-1)!.data!.operationUpdated).toEqual({ status: 'SUCCEEDED', progress: { percent: 100 } });
    const listed = await world.gql(`{ scaleTrade { restoreRuns(first: 1) { restoreId status } } }`);
    expect(listed.data.scaleTrade.restoreRuns[0]).toEqual({ restoreId: restore.restoreId, status: 'SUCCEEDED' });
  });
});

describe('ScaleTrade with the viewer token', () => {
  it('gets FORBIDDEN (403) for a backup start, without the token in the answer', async () => {
    world = await startScaleTradeWorld({ token: 'viewer' });
    const result = await world.gql(START, { p: null });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', source: SOURCE });
    expect(JSON.stringify(result)).not.toContain(world.sim.tokens.viewer);
  });
});
