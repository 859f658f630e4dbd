import { GraphQLError } from 'graphql';
import { isGatewayError } from '../errors.js';
import type { Logger } from '../logger.js';

/**
 * The one place errors become what a client sees. GatewayErrors keep their message, code and
 * source; GraphQL's own errors (syntax, validation, coercion) pass as they are; anything else is
 * an unexpected fault: masked, and logged on the server.
 */
export function createMaskError(logger: Logger): (error: unknown, message: string) => Error {
  return (raw, message) => {
    const error = fromOtherRealm(raw);
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    const located = error instanceof GraphQLError ? error : undefined;
    if (isGatewayError(original)) {
      // Expected: returned as is (graphql-js already copied its extensions), so yoga does not log it.
      return located ?? original;
    }
    if (original instanceof GraphQLError) {
      // A GraphQLError raised on purpose (by graphql-js or a scalar): keep it, give it a code.
      if (original.extensions['code'] === undefined && located && !located.path) {
        return new GraphQLError(located.message, {
          nodes: located.nodes,
          source: located.source,
          positions: located.positions,
          extensions: { ...located.extensions, code: 'BAD_USER_INPUT' },
        });
      }
      return located ?? original;
    }
    logger.error({ err: original, path: located?.path }, 'unexpected error (masked for the client)');
    return new GraphQLError(message, {
      nodes: located?.nodes,
      path: located?.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  };
}

/**
 * A GraphQLError built by another copy of graphql-js (a CommonJS plugin such as graphql-armor can
 * load the other build under some loaders) fails `instanceof`: rebuild it in ours, so it is kept
 * and coded rather than masked as a fault.
 */
function fromOtherRealm(error: unknown): unknown {
  if (error instanceof GraphQLError || !(error instanceof Error) || error.name !== 'GraphQLError') return error;
  const foreign = error as Error & { extensions?: Record<string, unknown>; path?: ReadonlyArray<string | number>; locations?: unknown };
  const rebuilt = new GraphQLError(foreign.message, { path: foreign.path, extensions: { ...foreign.extensions } });
  if (foreign.locations) Object.defineProperty(rebuilt, 'locations', { value: foreign.locations, enumerable: true });
  return rebuilt;
}
