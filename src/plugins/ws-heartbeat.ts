import type { WebSocket, WebSocketServer } from 'ws';

/**
 * Pings every WebSocket client at an interval and terminates those that did not answer the
 * previous ping: a client that vanished without closing (laptop lid, dropped NAT mapping) must not
 * hold its subscriptions, and the upstream pollers behind them, forever.
 */
export function startHeartbeat(server: WebSocketServer, intervalMs: number): () => void {
  const alive = new WeakSet<WebSocket>();
  server.on('connection', (socket) => {
    alive.add(socket);
    socket.on('pong', () => alive.add(socket));
  });
  const timer = setInterval(() => {
    for (const socket of server.clients) {
      if (!alive.has(socket)) {
        socket.terminate();
        continue;
      }
      alive.delete(socket);
      socket.ping();
    }
  }, intervalMs).unref();
  return () => clearInterval(timer);
}
