/**
 * The slow-consumer limit both transports apply (graphql-ws.ts, sse-slow-consumers.ts): a
 * subscriber whose connection holds this many bytes unsent has stopped reading, and is dropped
 * rather than let the gateway's memory grow (about a hundred typical events; the kernel's own
 * buffers come on top).
 */
export const SLOW_CONSUMER_BYTES = 512 * 1024;

const SLOW_CONSUMER_MESSAGE = 'Slow consumer: send buffer full';

/** The close code of a slow graphql-ws consumer (4xxx: application-defined in RFC 6455; 4008 echoes HTTP 408). */
export const SLOW_CONSUMER_CLOSE = { code: 4008, reason: SLOW_CONSUMER_MESSAGE } as const;

/** SSE has no close code: the last event a slow SSE consumer is sent, when its socket can still take it. */
export const SLOW_CONSUMER_SSE_EVENT = `event: error\ndata: ${JSON.stringify({ errors: [{ message: SLOW_CONSUMER_MESSAGE, extensions: { code: 'SLOW_CONSUMER' } }] })}\n\n`;
