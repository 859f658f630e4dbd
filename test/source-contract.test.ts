import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KINDS } from '../src/sources/kinds.js';
import type { KindDefinition } from '../src/sources/kind.js';
import { collect, eventually } from './support/harness.js';
import { startKindWorld, type KindWorld } from './support/world.js';

/**
 * The contract every registered kind keeps (docs/SOURCES.md), checked against the kind's own
 * simulator through the whole gateway: its operations are listed, one can be followed live to its
 * end, an upstream failure is an error event and a DEGRADED/DOWN source that recovers by itself,
 * and a vendor status nobody knows is UNKNOWN with the raw value kept.
 */

const OPERATION_FIELDS = `id kind status vendorStatus message startedAt finishedAt progress { percent } source { name kind }`;

/** Moves the simulator's clock in steps, giving the live loops time to look, until done() or the bound. */
async function runClock(world: KindWorld, totalMs: number, done: () => boolean): Promise<void> {
  const step = Math.max(250, Math.ceil(totalMs / 60));
  for (let elapsed = 0; elapsed <= totalMs && !done(); elapsed += step) {
    world.sim.advance(step);
    await new Promise((resolve) => setTimeout(resolve, 120));
  }
}

async function activeOperations(world: KindWorld): Promise<Array<Record<string, any>>> {
  const result = await world.gql(`query ($s: [String!]) { operations(filter: { active: true, sources: $s }) { edges { node { ${OPERATION_FIELDS} } } sourceErrors { code } } }`, {
    s: [world.source],
  });
  return (result.data?.operations.edges ?? []).map((e: { node: Record<string, any> }) => e.node);
}

describe.each(KINDS.map((kind) => [kind.kind, kind] as const))('the source contract: %s', (_name, kind: KindDefinition) => {
  let world: KindWorld;
  beforeEach(async () => {
    world = await startKindWorld(kind);
  });
  afterEach(async () => {
    await world.close();
  });

  it('lists a started operation in operations, resolvable by node(id), with its source', async () => {
    await world.sim.contract.startOperation();
    world.sim.advance(1_000);
    const active = await eventually(async () => {
      const ops = await activeOperations(world);
      return ops.length > 0 ? ops : null;
    }, 10_000, 'an active operation');
    const op = active[0]!;
    expect(op.source).toEqual({ name: world.source, kind: kind.kind.toUpperCase().replace(/-/g, '_') });
    expect(['PENDING', 'RUNNING', 'UNKNOWN']).toContain(op.status);
    const again = await world.gql(`query ($id: ID!) { node(id: $id) { id ... on Operation { status } } }`, { id: op.id });
    expect(again.errors).toBeUndefined();
    expect(again.data.node.id).toBe(op.id);
  });

  it('follows an operation live over graphql-ws to SUCCEEDED at 100 %, then completes', async () => {
    await world.sim.contract.startOperation();
    world.sim.advance(500);
    const [op] = await eventually(async () => {
      const ops = await activeOperations(world);
      return ops.length > 0 ? ops : null;
    }, 10_000, 'an active operation');
    const stream = collect(world.ws(), `subscription ($id: ID!) { operationUpdated(id: $id) { ${OPERATION_FIELDS} } }`, { id: op!.id });
    let completed = false;
    void stream.done.then(() => (completed = true));
    await runClock(world, world.sim.contract.operationMs * 2, () => completed);
    await stream.done;
    const states = stream.events.map((e) => e.data?.operationUpdated);
    const last = states.at(-1)!;
    expect(last).toMatchObject({ id: op!.id, status: 'SUCCEEDED', progress: { percent: 100 } });
    expect(last.finishedAt).not.toBeNull();
    expect(states.filter((s) => s?.status === 'SUCCEEDED')).toHaveLength(1);
  });

  it('turns an upstream failure into an error event and a DEGRADED or DOWN source, and recovers by itself', async () => {
    const stream = collect(world.ws(), `subscription ($s: [String!]) { operationsChanged(filter: { sources: $s }) { change operation { id } } }`, { s: [world.source] });
    world.sim.contract.breakUpstream();
    const failed = await stream.next((e) => Boolean(e.errors?.length), 15_000);
    expect(failed.errors![0]!.extensions).toMatchObject({ source: world.source });
    expect(['UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT']).toContain(failed.errors![0]!.extensions!['code']);
    const down = await world.gql(`query ($n: String!) { source(name: $n) { health { status lastError } } }`, { n: world.source });
    expect(['DEGRADED', 'DOWN']).toContain(down.data.source.health.status);
    expect(down.data.source.health.lastError).toBeTruthy();
    world.sim.contract.heal();
    await eventually(async () => {
      const up = await world.gql(`query ($n: String!) { source(name: $n) { health { status } } }`, { n: world.source });
      return up.data.source.health.status === 'UP';
    }, 15_000, 'the source to be UP again');
    stream.stop();
  });

  it('maps a vendor status it has never heard of to UNKNOWN, keeping the raw value', async () => {
    await world.sim.contract.startOperation();
    await runClock(world, 3_000, () => false);
    world.sim.contract.reportUnknownStatus();
    const unknown = await eventually(async () => {
      world.sim.advance(100);
      const ops = await activeOperations(world);
      return ops.find((o) => o.status === 'UNKNOWN');
    }, 15_000, 'an UNKNOWN operation');
    expect(unknown.vendorStatus).toBeTruthy();
    expect(['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'PARTIAL', 'TIMED_OUT']).not.toContain(unknown.vendorStatus.toUpperCase());
  });
});
