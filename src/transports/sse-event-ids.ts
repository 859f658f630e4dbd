import type { Plugin } from 'graphql-yoga';

/**
 * SSE is yoga's own wire format (`event: next` / `data: …`); this adds the standard `id:` line to
 * each event whose result carries `extensions.eventId` (plugins/use-event-ids.ts). A browser's
 * EventSource then sends it back as `Last-Event-ID` when it reconnects, and the gateway replays
 * what was missed. The stream is rewritten block by block (an SSE block ends with a blank line),
 * as the client reads: nothing is buffered beyond one event.
 */
export function useSseEventIds(): Plugin {
  return {
    onResponse({ response, setResponse, fetchAPI }) {
      if (!response.body || !response.headers.get('content-type')?.startsWith('text/event-stream')) return;
      const decoder = new TextDecoder();
      const encoder = new TextEncoder();
      const source = response.body.getReader();
      let pending = '';
      // Pulled: the next event is read from yoga's stream only when the client's side asks for
      // more, so a client that stops reading holds nothing here (see sse-slow-consumers.ts).
      const withIds = new fetchAPI.ReadableStream<Uint8Array>({
        async pull(controller) {
          for (;;) {
            const { value, done } = await source.read();
            if (done) {
              if (pending) controller.enqueue(encoder.encode(pending));
              controller.close();
              return;
            }
            pending += decoder.decode(value, { stream: true });
            let end: number;
            let emitted = false;
            while ((end = pending.indexOf('\n\n')) >= 0) {
              const block = pending.slice(0, end + 2);
              pending = pending.slice(end + 2);
              controller.enqueue(encoder.encode(identified(block)));
              emitted = true;
            }
            if (emitted) return;
          }
        },
        cancel(reason) {
          return source.cancel(reason);
        },
      });
      setResponse(new fetchAPI.Response(withIds, { status: response.status, statusText: response.statusText, headers: response.headers }));
    },
  };
}

function identified(block: string): string {
  if (!block.startsWith('event: next\n')) return block;
  const data = /^data: (.*)$/m.exec(block)?.[1];
  if (!data || !data.includes('"eventId"')) return block;
  try {
    const eventId = (JSON.parse(data) as { extensions?: { eventId?: unknown } }).extensions?.eventId;
    return typeof eventId === 'string' && /^\d+$/.test(eventId) ? `id: ${eventId}\n${block}` : block;
  } catch {
    return block;
  }
}
