import { afterEach, describe, expect, it } from 'vitest';
import { collect, startWorld, type World } from './support/harness.js';

/** Closing the gateway (SIGTERM) drains: out of rotation, subscribers completed, requests finished. */
describe('graceful drain', () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('completes graphql-ws and SSE subscribers, finishes the query in flight, and turns /ready 503', async () => {
    world = await startWorld();
    const gateway = world.gateway;
    const ws = collect(world.ws(), `subscription { operationsChanged { change } }`);
    await ws.next((e) => Boolean(e.data?.operationsChanged), 10_000);

    const sse = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { operationsChanged { change } }' }),
    });
    const reader = sse.body!.getReader();
    let sseText = '';
    const sseDone = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        sseText += new TextDecoder().decode(value);
      }
    })();

    world.sim.fail({ kind: 'hang', ms: 600 }, { count: 1, pathPrefix: '/v1/service_types' });
    const inFlight = world.gql(`{ aiven { serviceTypes { name } } }`);
    await new Promise((r) => setTimeout(r, 100));

    const health = await fetch(gateway.url.replace(/graphql$/, 'health'));
    expect(await health.json()).toMatchObject({ status: 'ok' });

    const closing = gateway.close();
    const ready = await fetch(gateway.url.replace(/graphql$/, 'ready')).catch(() => null);
    // Either already refused at the socket, or answered 503 while draining.
    if (ready) expect(ready.status).toBe(503);

    const answer = await inFlight;
    expect(answer.errors).toBeUndefined();
    expect(answer.data.aiven.serviceTypes.length).toBeGreaterThan(0);
    await ws.done; // resolved by `complete`, not rejected by a cut socket
    await sseDone;
    expect(sseText).toContain('event: complete');
    await closing;
  });
});
