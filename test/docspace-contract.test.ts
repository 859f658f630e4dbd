import { afterEach, describe, expect, it } from 'vitest';
import { docSpaceKind } from '../src/sources/docspace/kind.js';
import type { SimulateOptions } from '../src/sources/kind.js';
import { collect, eventually } from './support/docspace-world.js';
import { startKindWorld, type KindWorld } from './support/world.js';

/** The kind's own simulator and contract hooks, driven through a gateway like the vendor-neutral contract test does. */

let world: KindWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

function start(options: SimulateOptions): Promise<KindWorld> {
  return startKindWorld(docSpaceKind, options);
}

/** Moves the manual clock in steps so the pollers see each step. */
async function advance(w: KindWorld, ms: number, steps = 5): Promise<void> {
  for (let i = 0; i < steps; i++) {
    w.sim.advance(ms / steps);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

const OP = 'id kind status vendorStatus message progress { percent }';

describe('docspace contract hooks', () => {
  it('startOperation: an operation appears and reaches SUCCEEDED through operationUpdated', async () => {
    world = await start({ scenario: 'test', clock: 'manual' });
    const w = world;
    const changes = collect(w.ws(), `subscription { operationsChanged { change operation { ${OP} } } }`);
    await w.sim.contract.startOperation();
    const started = await changes.next((e) => e.data?.operationsChanged?.change === 'STARTED');
    const id = started.data.operationsChanged.operation.id;
    expect(started.data.operationsChanged.operation).toMatchObject({ kind: 'BACKUP' });
    const updates = collect(w.ws(), `subscription($id: ID!) { operationUpdated(id: $id) { ${OP} } }`, { id });
    await updates.next(() => true);
    await advance(w, w.sim.contract.operationMs + 1_000);
    const done = await updates.next((e) => e.data?.operationUpdated?.status === 'SUCCEEDED');
    expect(done.data.operationUpdated).toMatchObject({ id, progress: { percent: 100 } });
    await updates.done;
  });

  it('breakUpstream: watchers get an error event and the source is no longer UP; heal: it recovers', async () => {
    world = await start({ scenario: 'test', clock: 'manual' });
    const w = world;
    const changes = collect(w.ws(), `subscription { operationsChanged { change } }`);
    await eventually(async () => (await w.gql(`{ sources { health { status } } }`)).data.sources[0].health.status === 'UP', 5_000, 'UP');
    w.sim.contract.breakUpstream();
    const failed = await changes.next((e) => e.errors !== undefined);
    expect(failed.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', source: 'docspace-contract' });
    const broken = await eventually(async () => {
      const health = (await w.gql(`{ sources { health { status lastError } } }`)).data.sources[0].health;
      return health.status !== 'UP' ? health : null;
    }, 5_000, 'DEGRADED or DOWN');
    expect(['DEGRADED', 'DOWN']).toContain(broken.status);
    expect(broken.lastError).toContain('unavailable (503)');
    w.sim.contract.heal();
    const healed = await eventually(async () => {
      const r = await w.gql(`{ docSpace { serviceEnabled } sources { health { status } } }`);
      return r.data.sources[0].health.status === 'UP' ? r : null;
    }, 10_000, 'UP again');
    expect(healed.data.docSpace.serviceEnabled).toBe(true);
  });

  it('reportUnknownStatus: the running task is UNKNOWN with the raw value in vendorStatus', async () => {
    world = await start({ scenario: 'test', clock: 'manual' });
    const w = world;
    await w.sim.contract.startOperation();
    w.sim.advance(2_000);
    w.sim.contract.reportUnknownStatus();
    const result = await w.gql(`{ docSpace { backupProgress { ${OP} } } }`);
    expect(result.data.docSpace.backupProgress).toMatchObject({ status: 'UNKNOWN', vendorStatus: '7', kind: 'BACKUP' });
  });

  it('demo scenario: a backup is already moving at start', async () => {
    world = await start({ scenario: 'demo', clock: 'realtime' });
    const result = await world.gql(`{ docSpace { backupProgress { ${OP} } backupHistory { backupId } } }`);
    expect(result.data.docSpace.backupProgress).toMatchObject({ kind: 'BACKUP', status: 'RUNNING' });
    expect(result.data.docSpace.backupProgress.progress.percent).toBeGreaterThan(0);
    expect(world.sim.describe()).toContain('DocSpace');
  });
});
