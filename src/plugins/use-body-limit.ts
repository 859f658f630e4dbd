import { createGraphQLError, type Plugin } from 'graphql-yoga';

/**
 * The request body limit (`http.maxBodyBytes`), in place of yoga's own. A body with a
 * Content-Length is checked by that header alone: Node's HTTP parser frames the body by it, so it
 * cannot be longer. yoga wrapped every body in a counting stream, whose pipe costs an AbortController
 * and a DOMException per request (about 4 % of a request's CPU). Only a chunked body, with no
 * length given, is counted as it is read.
 */
export function useBodyLimit(limit: number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const length = request.headers.get('content-length');
      if (length !== null) {
        if (Number(length) > limit) throw tooLarge();
        return;
      }
      if (!requestParser || !request.body) return;
      setRequestParser((req) => requestParser(counted(req, limit, fetchAPI)));
    },
  };
}

/** The rest of the body is not read: the connection cannot carry another request. */
function tooLarge() {
  return createGraphQLError('Request body too large', { extensions: { http: { status: 413, headers: { connection: 'close' } }, code: 'REQUEST_ENTITY_TOO_LARGE' } });
}

/** The same request, its body failing with 413 once more than `limit` bytes were read. */
function counted(request: Request, limit: number, fetchAPI: { Request: typeof Request; TransformStream: typeof TransformStream }): Request {
  // A native stream needs the native TransformStream, a ponyfilled one the ponyfill's.
  const Transform = request.body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
  let read = 0;
  const body = request.body!.pipeThrough(
    new Transform<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        read += chunk.byteLength;
        if (read > limit) controller.error(tooLarge());
        else controller.enqueue(chunk);
      },
    }),
  );
  return new fetchAPI.Request(request.url, { method: request.method, headers: request.headers, signal: request.signal, body, duplex: 'half' } as RequestInit);
}
