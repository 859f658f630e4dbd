import { existsSync, readFileSync } from 'node:fs';
import type { Plugin } from 'graphql-yoga';

/**
 * The live progress page (`GET /`, assets under `/page/`): static files shipped next to this
 * module, read once at start. The page talks to `/graphql` only (queries and the
 * `operationsChanged` subscription over SSE); it is served with a strict Content-Security-Policy
 * (same origin only: no inline script or style, nothing from elsewhere).
 */
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/page/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/page/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Beside this module in src/; in the production bundle, under page/ beside the bundle's files. */
function pageDirectory(): URL {
  const here = new URL('./', import.meta.url);
  return existsSync(new URL('index.html', here)) ? here : new URL('page/', here);
}

export function useProgressPage(): Plugin {
  const dir = pageDirectory();
  const bodies = new Map(Object.entries(FILES).map(([path, { file, type }]) => [path, { body: readFileSync(new URL(file, dir)), type }]));
  return {
    onRequest({ request, url, fetchAPI, endResponse }) {
      const asset = bodies.get(url.pathname);
      if (!asset) return;
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        endResponse(new fetchAPI.Response(null, { status: 405, headers: { allow: 'GET, HEAD' } }));
        return;
      }
      endResponse(
        new fetchAPI.Response(request.method === 'HEAD' ? null : asset.body, {
          status: 200,
          headers: {
            'content-type': asset.type,
            'content-length': String(asset.body.byteLength),
            'content-security-policy': PAGE_CSP,
            'x-content-type-options': 'nosniff',
            'referrer-policy': 'no-referrer',
            'cache-control': 'no-cache',
          },
        }),
      );
    },
  };
}
