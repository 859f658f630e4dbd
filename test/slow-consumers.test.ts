import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SLOW_CONSUMER_BYTES, SLOW_CONSUMER_CLOSE } from '../src/transports/graphql-ws.js';
import { collect, restoreIdOf, startWorld, type World } from './support/harness.js';

/**
 * A subscriber that stops reading must not grow the gateway's memory without bound: once its
 * socket holds SLOW_CONSUMER_BYTES unsent, it is closed with SLOW_CONSUMER_CLOSE. The client here
 * pauses its socket (the kernel stops taking data once its small buffers are full) while many
 * subscriptions on it receive every progress change of a restore driven by the simulator's clock.
 */
const OPERATION_UPDATED = `subscription ($id: ID!) { operationUpdated(id: $id) { id status vendorStatus message progress { percent done total unit ratePerSecond estimatedEndAt estimated } startedAt finishedAt ... on NodeRestore { phases { phase completed current min max unit } } } }`;
/** Subscriptions on the stalled socket: each change of the restore is this many messages to it. */
const SUBSCRIPTIONS = 1_000;
/** Far more than the loopback's kernel buffers of a socket that is not read (about 4 MiB) plus the limit. */
const VOLUME_BYTES = 16 * 1024 * 1024 + SLOW_CONSUMER_BYTES;

describe('slow consumers', () => {
  let world: World;
  afterEach(async () => {
    await world?.close();
  });

  it('closes a graphql-ws client that stopped reading with 4008 once its buffer is full', { timeout: 120_000 }, async () => {
    world = await startWorld({ limits: { subscriptionsPerConnection: SUBSCRIPTIONS + 10 } });
    const id = await restoreIdOf(world, 'pg-restore', 'pg-restore-2');
    world.sim.advance(2_000); // into the basebackup phase, where every step of the clock moves the progress

    const stalled = new WebSocket(world.gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    let nextMessages = 0;
    let acknowledged!: () => void;
    const ack = new Promise<void>((resolve) => (acknowledged = resolve));
    let firstEvents!: () => void;
    const allSubscribed = new Promise<void>((resolve) => (firstEvents = resolve));
    stalled.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string };
      if (message.type === 'connection_ack') acknowledged();
      if (message.type === 'next' && ++nextMessages === SUBSCRIPTIONS) firstEvents();
    });
    const closed = new Promise<{ code: number; reason: string }>((resolve) => stalled.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
    await new Promise((resolve) => stalled.once('open', resolve));
    stalled.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await ack;
    for (let i = 0; i < SUBSCRIPTIONS; i++) stalled.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query: OPERATION_UPDATED, variables: { id } } }));
    await allSubscribed;
    stalled.pause(); // stops reading: from here the gateway's writes pile up

    // A reader on another socket sees each change; the stalled socket was sent the same message
    // SUBSCRIPTIONS times. Bounded by the rounds the restore's basebackup phase allows.
    const reader = collect(world.ws(), OPERATION_UPDATED, { id });
    await reader.next((e) => Boolean(e.data?.operationUpdated));
    let offeredBytes = 0;
    for (let round = 0; round < 60 && offeredBytes < VOLUME_BYTES; round++) {
      const seen = reader.events.length;
      world.sim.advance(50);
      const event = await reader.next(() => reader.events.length > seen);
      offeredBytes += JSON.stringify(event).length * SUBSCRIPTIONS;
    }
    expect(offeredBytes).toBeGreaterThanOrEqual(VOLUME_BYTES);
    reader.stop();

    // Reading again drains what the kernel held, then the close frame the gateway queued behind it.
    stalled.resume();
    // Bounded: a gateway that never closed it would keep it open; that fails the assertion below.
    const notClosed = new Promise<{ code: number; reason: string }>((resolve) => setTimeout(() => resolve({ code: -1, reason: 'still open after 40 s' }), 40_000).unref());
    const { code, reason } = await Promise.race([closed, notClosed]);
    stalled.terminate();
    expect({ code, reason }).toEqual({ code: SLOW_CONSUMER_CLOSE.code, reason: SLOW_CONSUMER_CLOSE.reason });
    // The gateway dropped what it could not send: far fewer messages arrived than were offered.
    expect(nextMessages * 200).toBeLessThan(offeredBytes);
  });
});
