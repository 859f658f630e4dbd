import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Authenticator, Role } from '../auth.js';

export interface Caller {
  role: Role;
  caller: string;
}
import type { GatewayContext } from '../context.js';
import { GatewayError } from '../errors.js';

/**
 * API keys over HTTP and SSE (`Authorization: Bearer …`): a request without a valid key is refused
 * with 401 before anything runs (unless anonymous callers have a role), and mutations need the
 * operator role. graphql-ws checks its `connection_init` payload the same way
 * (transports/graphql-ws.ts). Keys are never logged; they are compared in constant time.
 */
export function useAuth(auth: Authenticator, graphqlEndpoint: string): { plugin: Plugin<GatewayContext>; identityOf(request: Request | undefined): Caller } {
  const identities = new WeakMap<Request, Caller>();
  const plugin: Plugin<GatewayContext> = {
    async onRequest({ request, url, fetchAPI, endResponse }) {
      if (url.pathname !== graphqlEndpoint) return;
      // GraphiQL's page holds nothing secret; the requests it makes carry the key (headers editor).
      if (request.method === 'GET' && (request.headers.get('accept') ?? '').includes('text/html')) return;
      const identity = await auth.identify(request.headers.get('authorization'));
      if ('role' in identity) {
        identities.set(request, identity);
        return;
      }
      const message = identity.refused === 'missing' ? 'An API key is required: send Authorization: Bearer <key>' : 'The API key is not valid';
      endResponse(
        new fetchAPI.Response(JSON.stringify({ errors: [{ message, extensions: { code: 'UNAUTHENTICATED' } }] }), {
          status: 401,
          headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer' },
        }),
      );
    },
    onExecute({ args, setResultAndStopExecution }) {
      if (getOperationAST(args.document, args.operationName)?.operation !== 'mutation') return;
      if (args.contextValue.role === 'operator') return;
      setResultAndStopExecution({
        errors: [new GatewayError('FORBIDDEN', 'Mutations need the operator role: send an operator API key')],
      });
    },
  };
  const anonymous: Caller = { role: auth.config.anonymousRole === 'none' ? 'viewer' : auth.config.anonymousRole, caller: 'anonymous' };
  return { plugin, identityOf: (request) => (request && identities.get(request)) ?? anonymous };
}
