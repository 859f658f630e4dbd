/**
 * Child process of bench/fan-out.ts and bench/cost.ts: graphql-ws clients, ONE subscription per
 * WebSocket, so that a client process holds at most ~10,000 sockets (the machine allows 20,000 open
 * files per process). Every event is kept as (receipt − its updatedAt): updatedAt is the gateway's
 * clock when the poll that carried the change was observed (the upstream leg before it is ~1–2 ms,
 * see run.ts), and all processes read the same machine clock.
 * Calls:
 *   `subscribe { url, ids, count, parallel, subscription }`: opens `count` sockets, socket i subscribes
 *       to operationUpdated(ids[i % ids.length]) (or, with subscription `operationsChanged`, to every
 *       change of an operation in flight); at most `parallel` handshakes at a time. Answers at once.
 *   `status` → { open, started, events, errors, closedEarly }
 *   `mark`: forget the events so far (a measured window starts).
 *   `delays { to }` → { delays: number[], events } of the events received since `mark`, up to `to`.
 *   `leave`: unsubscribes and closes every socket; answers once all are closed.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { serveParent } from './ipc.js';
import { sleep } from './stats.js';
import { OPERATION_UPDATED } from './subscriptions.js';

const OPERATIONS_CHANGED = `subscription { operationsChanged(filter: { active: true }) { change operation { id status updatedAt progress { percent done } } } }`;

const clients: Client[] = [];
const disposers: Array<() => void> = [];
let open = 0;
let started = 0;
let closedEarly = 0;
let leaving = false;
const errors: string[] = [];
let receivedAt: number[] = [];
let delays: number[] = [];

function note(error: unknown): void {
  if (errors.length < 5) errors.push(error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error));
}

/** One socket, one subscription; resolves once the socket is open (or failed). */
function connect(url: string, id: string | undefined): Promise<void> {
  return new Promise((resolve) => {
    let first = true;
    let connected = false;
    const client = createClient({
      url,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      keepAlive: 0,
      on: {
        connected: () => {
          connected = true;
          open += 1;
          resolve();
        },
        closed: () => {
          if (connected) open -= 1;
          connected = false;
          if (!leaving) closedEarly += 1;
          resolve();
        },
        error: (error) => {
          note(error);
          resolve();
        },
      },
    });
    clients.push(client);
    disposers.push(
      client.subscribe(
        id === undefined ? { query: OPERATIONS_CHANGED } : { query: OPERATION_UPDATED, variables: { id } },
        {
          next: (payload) => {
            const now = Date.now();
            if (first) {
              first = false;
              started += 1;
            }
            if (payload.errors) note(payload.errors);
            const data = payload.data as { operationUpdated?: { updatedAt?: string }; operationsChanged?: { operation?: { updatedAt?: string } } } | null | undefined;
            const updatedAt = data?.operationUpdated?.updatedAt ?? data?.operationsChanged?.operation?.updatedAt;
            receivedAt.push(now);
            delays.push(typeof updatedAt === 'string' ? now - Date.parse(updatedAt) : Number.NaN);
          },
          error: note,
          complete: () => undefined,
        },
      ),
    );
  });
}

serveParent(
  {
    subscribe: (m) => {
      const url = String(m['url']).replace(/^http/, 'ws');
      const ids = m['ids'] as string[];
      const count = Number(m['count']);
      const parallel = Number(m['parallel'] ?? 100);
      const everything = m['subscription'] === 'operationsChanged';
      void (async () => {
        let next = 0;
        const lane = async () => {
          while (next < count) {
            const i = next++;
            await connect(url, everything ? undefined : ids[i % ids.length]!);
          }
        };
        await Promise.all(Array.from({ length: Math.min(parallel, count) }, lane));
      })();
      return {};
    },
    status: () => ({ open, started, events: receivedAt.length, errors, closedEarly }),
    mark: () => {
      receivedAt = [];
      delays = [];
      return {};
    },
    delays: (m) => {
      const to = Number(m['to'] ?? Infinity);
      const kept = delays.filter((d, i) => receivedAt[i]! <= to && Number.isFinite(d));
      return { delays: kept, events: kept.length };
    },
    leave: async () => {
      leaving = true;
      for (const dispose of disposers) dispose();
      await Promise.allSettled(clients.map((c) => c.dispose()));
      // Bounded wait for the sockets' close handshakes.
      for (let i = 0; i < 50 && open > 0; i++) await sleep(100);
      clients.length = 0;
      disposers.length = 0;
      return {};
    },
  },
  async () => {
    leaving = true;
    await Promise.allSettled(clients.map((c) => c.dispose()));
  },
);
process.send?.({ type: 'ready', pid: process.pid });
