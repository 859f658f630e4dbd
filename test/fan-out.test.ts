import { afterEach, describe, expect, it } from 'vitest';
import { collect, eventually, restoreIdOf, startWorld, type World } from './support/harness.js';

/**
 * Fan-out of one shared result: graphql-ws sends every subscriber the result serialised once
 * (src/transports/graphql-ws.ts, a direct sink per subscription). Each subscriber must still get its
 * own subscription id and exactly the result an unshared subscriber would see. A subscriber
 * identical to a running execution joins it directly, without a pipeline of its own, and is still
 * capped, counted and drained like any other.
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

  it('holds subscribers that join a running execution directly to the caps, counts them, lets each leave alone, and completes them on drain', async () => {
    world = await startWorld({ limits: { subscriptionsPerConnection: 3 } });
    const gauge = async () => {
      const text = await (await fetch(world.gateway.url.replace(/graphql$/, 'metrics'))).text();
      return Number(/^backupgraph_subscriptions\{transport="graphql-ws"\} (\d+)$/m.exec(text)?.[1]);
    };
    const id = await restoreIdOf(world, 'pg-restore', 'pg-restore-2');
    const [one, two] = [world.ws(), world.ws()];
    const first = collect(one, OPERATION_UPDATED, { id });
    await first.next((e) => e.data?.operationUpdated?.status === 'PENDING');
    // The execution runs: these two join it, and get its last result at once.
    const joined = [collect(one, OPERATION_UPDATED, { id }), collect(one, OPERATION_UPDATED, { id })];
    for (const s of joined) expect((await s.next(() => true)).data?.operationUpdated).toMatchObject({ id, status: 'PENDING' });

    // A fourth on the same connection is over its cap: an error result, then complete.
    const refused = collect(one, OPERATION_UPDATED, { id });
    expect((await refused.next(() => true)).errors?.[0]).toMatchObject({ message: 'Subscription refused: at most 3 subscriptions per connection', extensions: { code: 'LIMIT_EXCEEDED' } });
    await refused.done;
    const other = collect(two, OPERATION_UPDATED, { id });
    await other.next(() => true);
    expect(await gauge()).toBe(4);

    // One joined subscriber leaves; the others keep receiving changes.
    joined[0]!.stop();
    await eventually(async () => (await gauge()) === 3, 5_000, 'the gauge at 3');
    world.sim.advance(2_500);
    for (const s of [first, joined[1]!, other]) await s.next((e) => e.data?.operationUpdated?.status === 'RUNNING');
    expect(joined[0]!.events.some((e) => e.data?.operationUpdated?.status === 'RUNNING')).toBe(false);

    // Draining completes every one of them, joined or not.
    await world.gateway.close();
    await Promise.all([first.done, joined[1]!.done, other.done]);
  });
});
