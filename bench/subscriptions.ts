import { createClient, type Client } from 'graphql-ws';
import { Agent, request } from 'undici';
import WebSocket from 'ws';

/**
 * Many subscribers to one operation. Every event a subscriber receives is recorded as
 * (receipt time, content key); the key tells which poll produced it (see run.ts).
 */
export interface Received {
  /** Date.now() at receipt, per event. */
  at: number[];
  /** Content key per event (updatedAt + progress), same index as `at`. */
  key: string[];
  /** The event's `updatedAt` (the gateway's clock when its poll observed the change), epoch ms; NaN if none. */
  updated: number[];
  /** Subscriptions that got at least one event. */
  started: number;
  errors: string[];
  completed: number;
}

export interface Subscribers {
  received: Received;
  describe: string;
  close(): Promise<void>;
}

export const OPERATION_UPDATED = `subscription Watch($id: ID!) {
  operationUpdated(id: $id) {
    id
    status
    updatedAt
    progress { percent done total unit }
  }
}`;

function record(received: Received, payload: any): void {
  received.at.push(Date.now());
  received.key.push(keyOf(payload));
  const updatedAt = payload?.data?.operationUpdated?.updatedAt;
  received.updated.push(typeof updatedAt === 'string' ? Date.parse(updatedAt) : Number.NaN);
}

function keyOf(payload: any): string {
  const op = payload?.data?.operationUpdated;
  return op ? `${op.updatedAt}|${op.status}|${op.progress?.done}|${op.progress?.percent}` : `error:${JSON.stringify(payload?.errors ?? payload)}`;
}

function newReceived(): Received {
  return { at: [], key: [], updated: [], started: 0, errors: [], completed: 0 };
}

/** `count` graphql-ws subscriptions spread over `sockets` clients (one WebSocket each). */
export function subscribeWs(url: string, id: string, count: number, sockets: number): Subscribers {
  const received = newReceived();
  const clients: Client[] = [];
  const unsubscribes: Array<() => void> = [];
  for (let s = 0; s < sockets; s++) {
    clients.push(createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, keepAlive: 0 }));
  }
  for (let i = 0; i < count; i++) {
    const client = clients[i % sockets]!;
    let first = true;
    unsubscribes.push(
      client.subscribe(
        { query: OPERATION_UPDATED, variables: { id } },
        {
          next: (payload) => {
            record(received, payload);
            if (first) {
              first = false;
              received.started += 1;
            }
            if (payload.errors && received.errors.length < 5) received.errors.push(JSON.stringify(payload.errors));
          },
          error: (error) => {
            if (received.errors.length < 5) received.errors.push(String(error instanceof Error ? error.message : JSON.stringify(error)));
          },
          complete: () => {
            received.completed += 1;
          },
        },
      ),
    );
  }
  return {
    received,
    describe: `graphql-ws: ${count} subscriptions multiplexed over ${sockets} WebSockets (${Math.ceil(count / sockets)} per socket), one client process`,
    async close() {
      for (const u of unsubscribes) u();
      await Promise.allSettled(clients.map((c) => c.dispose()));
    },
  };
}

/** `count` SSE subscriptions: one HTTP/1.1 connection (a streaming POST) each. */
export function subscribeSse(url: string, id: string, count: number): Subscribers {
  const received = newReceived();
  const agent = new Agent({ connections: null, keepAliveTimeout: 1_000, bodyTimeout: 0, headersTimeout: 60_000 });
  const abort = new AbortController();
  const body = JSON.stringify({ query: OPERATION_UPDATED, variables: { id } });
  const streams: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    streams.push(
      (async () => {
        const response = await request(url, {
          dispatcher: agent,
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
          body,
          signal: abort.signal,
        });
        if (response.statusCode !== 200) {
          if (received.errors.length < 5) received.errors.push(`HTTP ${response.statusCode}: ${(await response.body.text()).slice(0, 300)}`);
          return;
        }
        let buffer = '';
        let first = true;
        for await (const chunk of response.body) {
          buffer += (chunk as Buffer).toString('utf8');
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let event = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('event:')) event = line.slice(6).trim();
              else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
            }
            if (event === 'complete') {
              received.completed += 1;
              continue;
            }
            if (data.length === 0) continue; // keep-alive comment
            const payload = JSON.parse(data.join('\n'));
            record(received, payload);
            if (first) {
              first = false;
              received.started += 1;
            }
            if (payload.errors && received.errors.length < 5) received.errors.push(JSON.stringify(payload.errors));
          }
        }
      })().catch((error: unknown) => {
        if (!abort.signal.aborted && received.errors.length < 5) received.errors.push(String(error));
      }),
    );
  }
  return {
    received,
    describe: `SSE: ${count} subscriptions, one HTTP/1.1 connection each (POST, accept: text/event-stream), one client process`,
    async close() {
      abort.abort();
      await Promise.allSettled(streams);
      await agent.close().catch(() => undefined);
    },
  };
}
