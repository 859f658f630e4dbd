import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { createSchema, createYoga } from 'graphql-yoga';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { silentLogger } from '../src/logger.js';
import { GatewayMetrics } from '../src/metrics.js';
import { testScenario } from '../src/sources/aiven/scenarios.js';
import { useSseSlowConsumers } from '../src/transports/sse-slow-consumers.js';
import { SLOW_CONSUMER_BYTES, SLOW_CONSUMER_CLOSE, SLOW_CONSUMER_SSE_EVENT } from '../src/transports/slow-consumer.js';
import { collect, eventually, restoreIdOf, startWorld, type World } from './support/harness.js';

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
    const dropped = (await world.gateway.services.metrics.slowConsumersDropped.get()).values.find((v) => v.labels['transport'] === 'graphql-ws');
    expect(dropped?.value).toBe(1);
    // The gateway dropped what it could not send: far fewer messages arrived than were offered.
    expect(nextMessages * 200).toBeLessThan(offeredBytes);
  });
});

/** A restore whose basebackup phase lasts an hour: every step of the simulator's clock moves its progress. */
function longRestoreScenario() {
  const scenario = testScenario();
  const node = scenario.projects['test-project']!.find((s) => s.service_name === 'pg-restore')!.nodes.find((n) => n.name === 'pg-restore-2')!;
  node.restore!.phases[1] = { phase: 'basebackup', unit: 'bytes_uncompressed', min: 0, max: 1_000_000_000, durationMs: 3_600_000 };
  return scenario;
}

/** The progress selected this many times over (aliases), so that each event is tens of KiB. */
const PROGRESS_COPIES = 400;
const BIG_OPERATION_UPDATED = `subscription ($id: ID!) { operationUpdated(id: $id) { id status ${Array.from({ length: PROGRESS_COPIES }, (_, i) => `p${i}: progress { percent done total unit ratePerSecond estimatedEndAt estimated }`).join(' ')} } }`;

/**
 * An SSE request on a raw socket: the test decides when it reads. `ended`: the connection closed,
 * or the response's last chunk arrived (yoga answers keep-alive, so the socket itself may stay).
 */
function rawSse(port: number, query: string, variables: Record<string, unknown>): { socket: Socket; received(): string; ended: Promise<void> } {
  const body = JSON.stringify({ query, variables });
  const socket = connect(port, '127.0.0.1');
  let text = '';
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    text += chunk;
    if (text.endsWith('\r\n0\r\n\r\n')) end();
  });
  socket.on('error', () => undefined); // a destroyed connection may end in a reset
  socket.once('close', () => end());
  socket.write(`POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  return { socket, received: () => text, ended };
}

/** A reading SSE client (fetch): its `next` events as they arrive, until stop(). */
function readingSse(url: string, query: string, variables: Record<string, unknown>) {
  const abort = new AbortController();
  const events: string[] = [];
  const done = (async () => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' }, body: JSON.stringify({ query, variables }), signal: abort.signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = text.indexOf('\n\n')) >= 0) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        if (block.split('\n').includes('event: next')) events.push(block);
      }
    }
  })().catch(() => undefined);
  return { events, stop: () => abort.abort(), done };
}

async function sseSubscriptions(world: World): Promise<number> {
  const metric = await world.gateway.services.metrics.subscriptions.get();
  return metric.values.find((v) => v.labels['transport'] === 'sse')?.value ?? 0;
}

async function sseDrops(metrics: GatewayMetrics): Promise<number> {
  const metric = await metrics.slowConsumersDropped.get();
  return metric.values.find((v) => v.labels['transport'] === 'sse')?.value ?? 0;
}

describe('slow SSE consumers', () => {
  let world: World | undefined;
  let server: Server | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
    if (server) await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  });

  it('drops an SSE client that stopped reading and releases its subscription; a reading client keeps receiving', { timeout: 120_000 }, async () => {
    world = await startWorld({
      scenario: longRestoreScenario(),
      source: { poll: { activeMs: 20, idleMs: 50 } },
      limits: { aliases: PROGRESS_COPIES + 10, tokens: 100_000, cost: 10_000_000 },
    });
    const w = world;
    const id = await restoreIdOf(w, 'pg-restore', 'pg-restore-2');
    w.sim.advance(2_000); // into the long basebackup phase

    const stalled = rawSse(w.gateway.port, BIG_OPERATION_UPDATED, { id });
    await eventually(() => stalled.received().includes('event: next'), 10_000, 'the first event on the stalled connection');
    stalled.socket.pause(); // stops reading: from here the gateway's writes pile up
    const reader = readingSse(w.gateway.url, BIG_OPERATION_UPDATED, { id });
    await eventually(async () => (await sseSubscriptions(w)) === 2, 10_000, 'both SSE subscriptions running');

    // Each step of the clock is one event to both clients. Bounded by the rounds and by the volume:
    // far more than the loopback's kernel buffers of a socket that is not read (about 4 MiB) plus the limit.
    const volumeBytes = 12 * 1024 * 1024 + SLOW_CONSUMER_BYTES;
    let offeredBytes = 0;
    let droppedAfterBytes: number | undefined;
    for (let round = 0; round < 2_000 && offeredBytes < volumeBytes; round++) {
      const seen = reader.events.length;
      w.sim.advance(1_000);
      await eventually(() => reader.events.length > seen, 10_000, `the reader's event of round ${round}`);
      offeredBytes += reader.events.slice(seen).reduce((n, e) => n + Buffer.byteLength(e) + 2, 0);
      if (droppedAfterBytes === undefined && (await sseDrops(w.gateway.services.metrics)) > 0) droppedAfterBytes = offeredBytes;
    }
    expect(offeredBytes).toBeGreaterThanOrEqual(volumeBytes);
    // Dropped once, and the reader went on receiving well after that (the rounds above).
    expect(await sseDrops(w.gateway.services.metrics)).toBe(1);
    expect(droppedAfterBytes).toBeLessThan(offeredBytes / 2);
    // The stalled subscription ended; the reader's goes on.
    expect(await sseSubscriptions(w)).toBe(1);

    // Reading again drains what the kernel held, then the connection ends (it was cut, not left open).
    stalled.socket.resume();
    const stillOpen = new Promise<string>((resolve) => setTimeout(() => resolve('still open after 40 s'), 40_000).unref());
    expect(await Promise.race([stalled.ended.then(() => 'ended'), stillOpen])).toBe('ended');
    // The gateway dropped what it could not send: far less arrived than was offered.
    expect(Buffer.byteLength(stalled.received())).toBeLessThan(offeredBytes / 2);
    expect(stalled.received()).not.toContain('event: error'); // its socket was full: cut, no room for a last event

    // With the reader gone too, the upstream loop stops: nothing is left holding it.
    reader.stop();
    await reader.done;
    await eventually(() => w.gateway.services.poller.activeKeys().length === 0, 10_000, 'the upstream loop to be released');
  });

  it('ends with the SLOW_CONSUMER error event when the socket can still take it, and returns the subscription', async () => {
    // One event larger than the limit: the client reads, but the event cannot be queued.
    const limitBytes = 4 * 1024;
    let returned = false;
    const schema = createSchema({
      typeDefs: 'type Query { ok: Boolean } type Subscription { big: String }',
      resolvers: {
        Subscription: {
          big: {
            subscribe: async function* () {
              try {
                for (let i = 0; i < 3; i++) yield { big: 'x'.repeat(limitBytes * 2) };
                await new Promise(() => undefined); // stays open until returned
              } finally {
                returned = true;
              }
            },
          },
        },
      },
    });
    const metrics = new GatewayMetrics();
    const yoga = createYoga({ schema, plugins: [useSseSlowConsumers(silentLogger(), metrics, limitBytes)], logging: false });
    server = createServer(yoga);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;

    const client = rawSse(port, 'subscription { big }', {});
    const notEnded = new Promise<string>((resolve) => setTimeout(() => resolve('still open after 20 s'), 20_000).unref());
    expect(await Promise.race([client.ended.then(() => 'ended'), notEnded])).toBe('ended');
    expect(client.received()).toContain(SLOW_CONSUMER_SSE_EVENT);
    expect(client.received()).not.toContain('x'.repeat(limitBytes * 2));
    expect(await sseDrops(metrics)).toBe(1);
    await eventually(() => returned, 5_000, 'the subscription to be returned');
    client.socket.destroy();
  });
});
