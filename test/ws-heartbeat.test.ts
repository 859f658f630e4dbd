import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually, restoreIdOf, startWorld, type World } from './support/harness.js';

/** A raw graphql-transport-ws client whose pong answers can be switched off. */
async function rawSubscriber(url: string, autoPong: boolean, restoreId: string): Promise<{ socket: WebSocket; messages: any[]; closed: Promise<number> }> {
  const socket = new WebSocket(url, 'graphql-transport-ws', { autoPong });
  const messages: any[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise((resolve) => socket.once('open', resolve));
  socket.send(JSON.stringify({ type: 'connection_init' }));
  await eventually(() => messages.some((m) => m.type === 'connection_ack'), 5_000, 'connection_ack');
  socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: `subscription ($id: ID!) { operationUpdated(id: $id) { status } }`, variables: { id: restoreId } } }));
  await eventually(() => messages.some((m) => m.type === 'next'), 5_000, 'first event');
  return { socket, messages, closed };
}

describe('WebSocket heartbeat', () => {
  let world: World;
  /** pg-restore-2's restore run (ids are per run: discovered once the gateway has seen it). */
  let restoreId: string;
  beforeEach(async () => {
    world = await startWorld({ gateway: { keepAliveMs: 150 } });
    restoreId = await restoreIdOf(world, 'pg-restore', 'pg-restore-2');
  });
  afterEach(async () => {
    await world.close();
  });

  it('terminates a client that stops answering pings and releases its poller lease', async () => {
    const url = world.gateway.url.replace(/^http/, 'ws');
    const silent = await rawSubscriber(url, false, restoreId);
    expect(world.gateway.services.poller.activeKeys()).toHaveLength(1);
    expect(await silent.closed).toBe(1006); // terminated, no close frame
    await eventually(() => world.gateway.services.poller.activeKeys().length === 0, 5_000, 'lease release');
  });

  it('keeps a client that answers pings', async () => {
    const url = world.gateway.url.replace(/^http/, 'ws');
    const healthy = await rawSubscriber(url, true, restoreId);
    await new Promise((r) => setTimeout(r, 600)); // four heartbeat intervals
    expect(healthy.socket.readyState).toBe(WebSocket.OPEN);
    healthy.socket.close();
    await healthy.closed;
  });
});
