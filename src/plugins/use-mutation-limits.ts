import { getOperationAST, Kind, type ArgumentNode, type ValueNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GatewayContext } from '../context.js';
import { GatewayError } from '../errors.js';

export interface MutationLimits {
  /** Mutation fields in one request (aliases count). */
  perRequest: number;
  /** Mutations one caller (key, or all anonymous callers together) may run per minute. */
  perMinute: number;
  /** IDs one `nodes(ids:)` may ask for: each can cost an upstream call. */
  nodeIds: number;
}

/**
 * Caps what a request may make the upstreams do, before execution: mutations per request and per
 * caller per minute (each mutation is an upstream write, never retried unless idempotent), and the
 * size of `nodes(ids:)`. The per-caller budget is a sliding minute kept in memory — a few lines,
 * where a rate-limiting library would bring a store and a directive system this does not need.
 */
export function useMutationLimits(limits: MutationLimits, now: () => number = Date.now): Plugin<GatewayContext> {
  const recent = new Map<string, number[]>();
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (!operation) return;
      const refuse = (message: string) => setResultAndStopExecution({ errors: [new GatewayError('LIMIT_EXCEEDED', message)] });
      const fields = operation.selectionSet.selections.filter((s) => s.kind === Kind.FIELD);
      for (const field of fields) {
        if (field.name.value !== 'nodes') continue;
        const ids = argumentValue(field.arguments, 'ids', args.variableValues ?? {});
        if (Array.isArray(ids) && ids.length > limits.nodeIds) return refuse(`nodes(ids:) takes at most ${limits.nodeIds} IDs per request (got ${ids.length})`);
      }
      if (operation.operation !== 'mutation') return;
      if (fields.length > limits.perRequest) return refuse(`At most ${limits.perRequest} mutations per request (got ${fields.length})`);
      const caller = args.contextValue.caller;
      const at = now();
      const window = (recent.get(caller) ?? []).filter((t) => t > at - 60_000);
      if (window.length + fields.length > limits.perMinute) {
        recent.set(caller, window);
        return refuse(`Too many mutations: at most ${limits.perMinute} per minute for this caller; try again in a minute`);
      }
      for (let i = 0; i < fields.length; i++) window.push(at);
      recent.set(caller, window);
    },
  };
}

function argumentValue(nodes: readonly ArgumentNode[] | undefined, name: string, variables: Record<string, unknown>): unknown {
  const node = nodes?.find((a) => a.name.value === name)?.value;
  return node ? valueOf(node, variables) : undefined;
}

function valueOf(node: ValueNode, variables: Record<string, unknown>): unknown {
  if (node.kind === Kind.VARIABLE) return variables[node.name.value];
  if (node.kind === Kind.LIST) return node.values;
  return undefined;
}
