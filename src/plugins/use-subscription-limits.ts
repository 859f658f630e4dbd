import { NoSchemaIntrospectionCustomRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { GatewayError } from '../errors.js';

/**
 * Caps on running subscriptions, per connection (graphql-ws multiplexes many on one socket) and
 * per process, with a clear error instead of memory growing without bound.
 */
export function useSubscriptionLimits(limits: { perConnection: number; total: number }): Plugin {
  const perSocket = new WeakMap<object, number>();
  let total = 0;
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const socket = (args.contextValue as { socket?: object }).socket;
      const onSocket = socket ? (perSocket.get(socket) ?? 0) : 0;
      const refusal =
        socket && onSocket >= limits.perConnection
          ? `at most ${limits.perConnection} subscriptions per connection`
          : total >= limits.total
            ? `the gateway runs at most ${limits.total} subscriptions`
            : undefined;
      if (refusal) {
        setResultAndStopExecution({ errors: [new GatewayError('LIMIT_EXCEEDED', `Subscription refused: ${refusal}`)] });
        return;
      }
      return {
        onSubscribeResult({ result }) {
          if (!(typeof result === 'object' && result !== null && Symbol.asyncIterator in result)) return;
          total++;
          if (socket) perSocket.set(socket, (perSocket.get(socket) ?? 0) + 1);
          return {
            onEnd: () => {
              total--;
              if (socket) perSocket.set(socket, (perSocket.get(socket) ?? 1) - 1);
            },
          };
        },
      };
    },
  };
}

/** `limits.introspection: false`: schema introspection is refused (GraphiQL and codegen need it on). */
export function useNoIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}
