import { afterEach, describe, expect, it } from 'vitest';
import { aerospikeKind } from '../src/sources/aerospike/kind.js';
import { collect, eventually } from './support/harness.js';
import { startKindWorld, type KindWorld } from './support/world.js';

/** The vendor-neutral contract, driven through this kind's own hooks (kind.simulate). */

const ACTIVE = `query ($source: String!) { operations(filter: { sources: [$source], active: true }) { edges { node { id kind status } } } }`;
const FOLLOW = `subscription ($id: ID!) { operationUpdated(id: $id) { id status vendorStatus message progress { percent } } }`;
const HEALTH = `query ($source: String!) { source(name: $source) { health { status lastError } } }`;

let world: KindWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startedOperation(w: KindWorld): Promise<string> {
  await w.sim.contract.startOperation();
  return eventually(async () => (await w.gql(ACTIVE, { source: w.source })).data?.operations.edges[0]?.node.id as string | undefined, 5_000, 'the operation listed');
}

describe('aerospike-backup-service contract hooks', () => {
  it('startOperation → operationUpdated reaches SUCCEEDED within operationMs', async () => {
    const w = (world = await startKindWorld(aerospikeKind));
    const id = await startedOperation(w);
    const sub = collect(w.ws(), FOLLOW, { id });
    await sub.next((e) => e.data?.operationUpdated?.status === 'RUNNING');
    const steps = 10;
    for (let i = 0; i < steps; i++) {
      w.sim.advance(w.sim.contract.operationMs / steps);
      await pause(150);
    }
    const last = await sub.next((e) => e.data?.operationUpdated?.status === 'SUCCEEDED', 5_000);
    expect(last.data.operationUpdated.progress.percent).toBe(100);
  });

  it('breakUpstream → an error event and DEGRADED/DOWN health; heal → UP again', async () => {
    const w = (world = await startKindWorld(aerospikeKind));
    const id = await startedOperation(w);
    const sub = collect(w.ws(), FOLLOW, { id });
    await sub.next((e) => e.data?.operationUpdated?.status === 'RUNNING');
    w.sim.contract.breakUpstream();
    const error = await sub.next((e) => (e.errors?.length ?? 0) > 0, 10_000);
    expect(error.errors?.[0]?.extensions?.['code']).toBe('UPSTREAM_UNAVAILABLE');
    const broken = await eventually(async () => {
      const status = (await w.gql(HEALTH, { source: w.source })).data?.source.health.status;
      return status === 'DEGRADED' || status === 'DOWN' ? status : null;
    }, 10_000, 'unhealthy');
    expect(['DEGRADED', 'DOWN']).toContain(broken);
    w.sim.contract.heal();
    await eventually(async () => (await w.gql(HEALTH, { source: w.source })).data?.source.health.status === 'UP', 10_000, 'UP again');
  });

  it('reportUnknownStatus → UNKNOWN with the vendor\'s value', async () => {
    const w = (world = await startKindWorld(aerospikeKind));
    const id = await startedOperation(w);
    const sub = collect(w.ws(), FOLLOW, { id });
    await sub.next((e) => e.data?.operationUpdated?.status === 'RUNNING');
    w.sim.contract.reportUnknownStatus();
    w.sim.advance(1_000);
    const unknown = await sub.next((e) => e.data?.operationUpdated?.status === 'UNKNOWN', 10_000);
    expect(unknown.data.operationUpdated.vendorStatus).toBe('Throttled');
    expect(unknown.data.operationUpdated.message).toContain('Throttled');
  });

  it('runs the demo scenario with operations moving from the first second', async () => {
    const w = (world = await startKindWorld(aerospikeKind, { scenario: 'demo' }));
    const active = await eventually(async () => {
      const edges = (await w.gql(ACTIVE, { source: w.source })).data?.operations.edges ?? [];
      return edges.length >= 2 ? edges.map((e: any) => e.node.kind) : null;
    }, 10_000, 'demo operations');
    expect(new Set(active)).toEqual(new Set(['BACKUP', 'RESTORE']));
  });
});
