import type { Plugin } from 'graphql-yoga';

/**
 * DNS rebinding: a web page can make a browser send requests to a loopback gateway under a name
 * the attacker controls. Requests whose Host is not one of the allowed names are refused. With no
 * list configured, a loopback gateway allows only loopback names; one listening wider allows any.
 */
export function hostChecker(allowed: readonly string[] | undefined, listenHost: string): (host: string | null | undefined) => boolean {
  const names = allowed ?? (isLoopback(listenHost) ? ['localhost', '127.0.0.1', '::1', '[::1]'] : undefined);
  if (!names) return () => true;
  const set = new Set(names.map((n) => n.toLowerCase()));
  return (host) => {
    if (!host) return false;
    const name = host.toLowerCase().replace(/:\d+$/, '');
    return set.has(name) || (name.startsWith('127.') && set.has('127.0.0.1'));
  };
}

export function useHostCheck(isAllowed: (host: string | null) => boolean): Plugin {
  return {
    onRequest({ request, fetchAPI, endResponse }) {
      if (isAllowed(request.headers.get('host'))) return;
      endResponse(
        new fetchAPI.Response(JSON.stringify({ errors: [{ message: 'This Host is not served here', extensions: { code: 'FORBIDDEN' } }] }), {
          status: 421,
          headers: { 'content-type': 'application/json' },
        }),
      );
    },
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
