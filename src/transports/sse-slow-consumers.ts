import type { ServerResponse } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics.js';
import { SLOW_CONSUMER_BYTES, SLOW_CONSUMER_SSE_EVENT } from './slow-consumer.js';

/**
 * Drops SSE subscribers that stop reading, as graphql-ws.ts does for its sockets. Without this the
 * unsent events of a stalled client pile up in the gateway: the fetch ponyfill's TransformStream
 * (sse-event-ids.ts) takes chunks whatever its reader's pace, and @whatwg-node/server stops
 * writing only at node's socket buffer.
 *
 * Each SSE body is read at once into a queue of this plugin's own, so the events of a client that
 * stops reading collect where they can be counted. When the queue and node's socket buffer together
 * would hold more than SLOW_CONSUMER_BYTES, the subscription is cancelled (its upstream loop is
 * released), the queue is discarded, and the connection ends: with a final `event: error`
 * (SLOW_CONSUMER) when the socket can still take it, otherwise destroyed. The queue hands over one
 * chunk per read, so what waits beyond it (the ponyfill's read-ahead) stays below one stream buffer.
 *
 * Registered after every plugin that rewrites the SSE body, so this wraps the body that is sent.
 */
export function useSseSlowConsumers(logger: Logger, metrics: GatewayMetrics, limitBytes = SLOW_CONSUMER_BYTES): Plugin {
  return {
    onResponse({ response, setResponse, fetchAPI, serverContext }) {
      if (!response.body || !response.headers.get('content-type')?.startsWith('text/event-stream')) return;
      // Only node's http server has a socket buffer to watch (yoga.fetch in-process has none).
      const res = (serverContext as { res?: ServerResponse }).res;
      if (typeof res?.writableLength !== 'number') return;
      const body = boundedBody(response.body, res, fetchAPI.ReadableStream, limitBytes, (unsentBytes) => {
        metrics.slowConsumersDropped.inc({ transport: 'sse' });
        logger.warn({ transport: 'sse', unsentBytes, limitBytes }, 'slow consumer dropped: send buffer full');
      });
      setResponse(new fetchAPI.Response(body, { status: response.status, statusText: response.statusText, headers: response.headers }));
    },
  };
}

const FINAL_EVENT = new TextEncoder().encode(SLOW_CONSUMER_SSE_EVENT);

function boundedBody(
  source: ReadableStream<Uint8Array>,
  res: ServerResponse,
  ReadableStreamImpl: typeof ReadableStream,
  limitBytes: number,
  onDrop: (unsentBytes: number) => void,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  const queue: Uint8Array[] = [];
  let queuedBytes = 0;
  let ended = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const clear = () => {
    queue.length = 0;
    queuedBytes = 0;
  };
  // Ends the subscription behind the body (yoga's SSE stream returns its iterator), once.
  const release = (reason: string) => {
    if (ended) return;
    ended = true;
    clear();
    reader.cancel(new Error(reason)).catch(() => undefined);
    notify();
  };
  // The client went away (or was dropped): nothing will be sent any more.
  res.once('close', () => release('connection closed'));

  void (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (ended) return;
      if (done) break;
      const unsentBytes = queuedBytes + res.writableLength + value.byteLength;
      if (unsentBytes > limitBytes) {
        const canTakeMore = !res.writableNeedDrain && !res.destroyed;
        release('slow consumer');
        onDrop(unsentBytes);
        if (canTakeMore) {
          queue.push(FINAL_EVENT);
          queuedBytes = FINAL_EVENT.byteLength;
        } else res.destroy();
        notify();
        return;
      }
      queue.push(value);
      queuedBytes += value.byteLength;
      notify();
    }
    ended = true;
    notify();
  })().catch((error: unknown) => {
    if (ended) return; // cancelled by release(): nothing more is sent anyway
    // The stream behind the body failed: what was queued is sent, then the body fails too.
    failure = { error };
    ended = true;
    notify();
  });

  return new ReadableStreamImpl<Uint8Array>({
    async pull(controller) {
      while (queue.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve));
      const chunk = queue.shift();
      if (chunk) {
        queuedBytes -= chunk.byteLength;
        controller.enqueue(chunk);
      } else if (failure) controller.error(failure.error);
      else controller.close();
    },
    cancel(reason) {
      release(String(reason ?? 'body cancelled'));
    },
  });
}
