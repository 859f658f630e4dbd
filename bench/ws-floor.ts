/**
 * `npm run bench` (part): the floor of a graphql-ws fan-out on this machine — what it costs `ws`
 * alone to send one ~300-byte `next` frame to each of N open sockets in one synchronous loop, the
 * way the gateway's direct sink does (src/transports/graphql-ws.ts). No GraphQL, no gateway: the
 * figure bounds from below the p99 delay of any fan-out to N subscribers on one connection each.
 * 9,000 sockets in one process (18,000 descriptors with their clients); the loop time per socket
 * scales to 18,000. Also: the resident memory one idle WebSocket connection costs, both ends.
 */
import { createServer } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { fmt, percentile, sleep } from './stats.js';

const SOCKETS = 9_000;
const ROUNDS = 10;
const payload = JSON.stringify({ data: { operationUpdated: { id: 'x'.repeat(120), status: 'RUNNING', updatedAt: new Date().toISOString(), progress: { percent: 42.5, done: 4250, total: 10000, unit: 'bytes' } } } });

const server = createServer();
const wss = new WebSocketServer({ server });
const serverSockets: WebSocket[] = [];
wss.on('connection', (socket) => serverSockets.push(socket));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as { port: number }).port;

let received = 0;
const clients: WebSocket[] = [];
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const rssBefore = process.memoryUsage().rss;
for (let i = 0; i < SOCKETS; i += 100) {
  await Promise.all(
    Array.from({ length: Math.min(100, SOCKETS - i) }, () => new Promise<void>((resolve, reject) => {
      const client = new WebSocket(`ws://127.0.0.1:${port}`);
      client.on('open', () => resolve());
      client.on('error', reject);
      client.on('message', () => (received += 1));
      clients.push(client);
    })),
  );
}
while (serverSockets.length < SOCKETS) await sleep(20);
gc?.();
await sleep(500);
const rssPerPair = (process.memoryUsage().rss - rssBefore) / SOCKETS;

const loops: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const before = received;
  const start = performance.now();
  serverSockets.forEach((socket, i) => socket.send(`{"id":"sub-${i}","type":"next","payload":${payload}}`));
  loops.push(performance.now() - start);
  const deadline = Date.now() + 10_000;
  while (received - before < SOCKETS && Date.now() < deadline) await sleep(5);
}
const perSocketUs = (percentile(loops, 50) * 1000) / SOCKETS;
console.log(`\nws floor: one ${payload.length + 40}-byte frame to each of ${SOCKETS} sockets in one loop, ${ROUNDS} rounds`);
console.log(`| sockets | loop p50 | loop max | per socket | scaled to 18,000 sockets |`);
console.log(`| ---: | ---: | ---: | ---: | ---: |`);
console.log(`| ${SOCKETS} | ${fmt(percentile(loops, 50), 1)} ms | ${fmt(Math.max(...loops), 1)} ms | ${fmt(perSocketUs, 1)} µs | ${fmt((perSocketUs * 18_000) / 1000, 0)} ms |`);
console.log(`\nRSS per open connection, server and client side together (one process${gc ? ', after a GC' : ''}): ${fmt(rssPerPair / 1024, 1)} KiB`);
for (const client of clients) client.terminate();
wss.close();
server.close();
