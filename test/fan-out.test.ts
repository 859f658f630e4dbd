import { afterEach, describe, expect, it } from 'vitest';
import { collect, restoreIdOf, startWorld, type World } from './support/harness.js';

/**
 * Fan-out of one shared result: graphql-ws sends every subscriber the result serialised once
 * (src/transports/graphql-ws.ts splices it into each message). Each subscriber must still get its
 * own subscription id and exactly the result an unshared subscriber would see.
 */
const OPERATION_UPDATED = `subscription ($id: ID!) { operationUpdated(id: $id) { id status progress { percent done total unit } ... on NodeRestore { phases { phase completed } } } }`;

describe('fan-out over graphql-ws', () => {
  let world: World;
  afterEach(async () => {
    await world?.close();
  });

  it('delivers the same result to 3 clients × 40 subscriptions, each under its own id, and errors intact', async () => {
    world = await startWorld();
    const id = await restoreIdOf(world, 'pg-restore', 'pg-restore-2');
    const clients = [world.ws(), world.ws(), world.ws()];
    const subs = clients.flatMap((client) => Array.from({ length: 40 }, () => collect(client, OPERATION_UPDATED, { id })));
    await Promise.all(subs.map((s) => s.next((e) => e.data?.operationUpdated?.status === 'PENDING')));
    world.sim.advance(2_500);
    const running = await Promise.all(subs.map((s) => s.next((e) => (e.data?.operationUpdated?.progress?.done ?? 0) > 0)));
    const first = JSON.stringify(running[0]);
    expect(running.every((event) => JSON.stringify(event) === first)).toBe(true);
    expect(running[0]!.data?.operationUpdated).toMatchObject({ id, status: 'RUNNING' });

    // A result with errors (an id the gateway never issued) keeps its errors, serialised the same way.
    const unknown = collect(clients[0]!, OPERATION_UPDATED, { id: 'bm9wZQ' });
    const failed = await unknown.next(() => true);
    expect(failed.errors?.[0]).toMatchObject({ path: ['operationUpdated'], extensions: { code: 'BAD_USER_INPUT', argument: 'id' } });
    expect(failed.data ?? null).toBeNull();
    for (const s of subs) s.stop();
    unknown.stop();
  });
});
