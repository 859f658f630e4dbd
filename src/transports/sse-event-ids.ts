import type { Plugin } from 'graphql-yoga';

/**
 * SSE is yoga's own wire format (`event: next` / `data: …`); this adds the standard `id:` line to
 * each event whose result carries `extensions.eventId` (plugins/use-event-ids.ts). A browser's
 * EventSource then sends it back as `Last-Event-ID` when it reconnects, and the gateway replays
 * what was missed. The stream is rewritten block by block (an SSE block ends with a blank line),
 * so nothing is buffered beyond one event.
 */
export function useSseEventIds(): Plugin {
  return {
    onResponse({ response, setResponse, fetchAPI }) {
      if (!response.body || !response.headers.get('content-type')?.startsWith('text/event-stream')) return;
      const decoder = new TextDecoder();
      const encoder = new TextEncoder();
      let pending = '';
      const withIds = new fetchAPI.TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          pending += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = pending.indexOf('\n\n')) >= 0) {
            const block = pending.slice(0, end + 2);
            pending = pending.slice(end + 2);
            controller.enqueue(encoder.encode(identified(block)));
          }
        },
        flush(controller) {
          if (pending) controller.enqueue(encoder.encode(pending));
        },
      });
      setResponse(new fetchAPI.Response(response.body.pipeThrough(withIds), { status: response.status, statusText: response.statusText, headers: response.headers }));
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
