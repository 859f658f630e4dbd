import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions/dist/graphql-armor-block-field-suggestions.esm.js';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit/dist/graphql-armor-cost-limit.esm.js';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases/dist/graphql-armor-max-aliases.esm.js';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth/dist/graphql-armor-max-depth.esm.js';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives/dist/graphql-armor-max-directives.esm.js';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens/dist/graphql-armor-max-tokens.esm.js';
import { NoSchemaIntrospectionCustomRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { QueryLimitsConfig } from '../config.js';
import { useMutationLimits } from './use-mutation-limits.js';
import { useUpstreamBudget } from './use-upstream-budget.js';

/** Defaults roomy enough for every query in the README and GraphiQL's introspection. */
export const DEFAULT_LIMITS: Required<QueryLimitsConfig> = {
  depth: 14,
  aliases: 30,
  tokens: 5_000,
  directives: 20,
  cost: 20_000,
  subscriptionsPerConnection: 100,
  subscriptions: 20_000,
  introspection: true,
  mutationsPerRequest: 5,
  mutationsPerMinute: 60,
  nodeIds: 100,
  upstreamCalls: 50,
};

/**
 * Depth, alias, token, directive and cost limits, checked before execution (graphql-armor) on
 * every transport — graphql-ws and SSE go through the same envelop (the subscription caps are
 * the SubscriptionLedger's, live/subscription-ledger.ts). Field suggestions are off
 * outside development, so validation errors do not map the schema for a stranger. (ESM builds:
 * see src/types/graphql-armor-esm.d.ts.)
 */
export function useQueryLimits(limits: QueryLimitsConfig = {}, development = false): Plugin[] {
  const l = { ...DEFAULT_LIMITS, ...limits };
  const plugins = [
    maxTokensPlugin({ n: l.tokens }),
    maxDepthPlugin({ n: l.depth, ignoreIntrospection: true }),
    maxAliasesPlugin({ n: l.aliases }),
    maxDirectivesPlugin({ n: l.directives }),
    costLimitPlugin({ maxCost: l.cost, ignoreIntrospection: true }),
  ];
  if (!development) plugins.push(blockFieldSuggestionsPlugin());
  return [
    ...(plugins as Plugin[]),
    useMutationLimits({ perRequest: l.mutationsPerRequest, perMinute: l.mutationsPerMinute, nodeIds: l.nodeIds }) as Plugin,
    useUpstreamBudget(l.upstreamCalls),
    ...(l.introspection ? [] : [useNoIntrospection()]),
  ];
}

/** `limits.introspection: false`: schema introspection is refused (GraphiQL and codegen need it on). */
function useNoIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}
