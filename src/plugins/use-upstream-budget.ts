import {
  getNamedType,
  getOperationAST,
  isInterfaceType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { GatewayError } from '../errors.js';

/**
 * A budget of upstream calls per request, counted before execution: every field of a vendor's
 * source type (`aiven { … }`, `aerospike { … }`, …) asks its upstream, so 10,000 aliases of
 * `serviceTypes` cost 10,000 and are refused, whatever the alias limit. The count is an upper
 * bound of the fields that call out (fields resolved from a listing already fetched cost nothing
 * here); `nodes(ids:)` has its own cap (use-mutation-limits.ts).
 */
export function useUpstreamBudget(maxCalls: number): Plugin {
  const costly = new WeakMap<GraphQLSchema, Set<string>>();
  // The cost depends on the document alone, and yoga's parser cache hands back the same document
  // object for the same text: each distinct document is counted once (per operation name).
  const costs = new WeakMap<DocumentNode, Map<string, number>>();
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const name = args.operationName ?? '';
      let known = costs.get(args.document);
      let cost = known?.get(name);
      if (cost === undefined) {
        const operation = getOperationAST(args.document, args.operationName);
        const root = operation && (operation.operation === 'query' ? args.schema.getQueryType() : undefined);
        cost = 0;
        if (operation && root) {
          let fields = costly.get(args.schema);
          if (!fields) costly.set(args.schema, (fields = sourceTypeFields(args.schema)));
          const fragments = new Map<string, FragmentDefinitionNode>();
          for (const definition of args.document.definitions) {
            if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
          }
          cost = count(operation.selectionSet, root, args.schema, fragments, fields);
        }
        if (!known) costs.set(args.document, (known = new Map()));
        known.set(name, cost);
      }
      if (cost > maxCalls) {
        setResultAndStopExecution({
          errors: [new GatewayError('LIMIT_EXCEEDED', `This request would make up to ${cost} upstream calls; the limit is ${maxCalls}`)],
        });
      }
    },
  };
}

/** "AivenSource.serviceTypes", …: every field of a type implementing Source, but the interface's own. */
function sourceTypeFields(schema: GraphQLSchema): Set<string> {
  const out = new Set<string>();
  const source = schema.getType('Source');
  if (!isInterfaceType(source)) return out;
  const own = new Set(Object.keys(source.getFields()).filter((name) => name !== 'version'));
  for (const type of schema.getPossibleTypes(source)) {
    for (const name of Object.keys(type.getFields())) if (!own.has(name)) out.add(`${type.name}.${name}`);
  }
  return out;
}

function count(
  selections: SelectionSetNode,
  parent: GraphQLNamedType,
  schema: GraphQLSchema,
  fragments: Map<string, FragmentDefinitionNode>,
  costly: Set<string>,
): number {
  let total = 0;
  for (const selection of selections.selections) {
    if (selection.kind === Kind.FIELD) {
      if (!isObjectType(parent) && !isInterfaceType(parent)) continue;
      const field = parent.getFields()[selection.name.value];
      if (!field) continue;
      if (costly.has(`${parent.name}.${field.name}`)) total += 1;
      if (selection.selectionSet) total += count(selection.selectionSet, getNamedType(field.type), schema, fragments, costly);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
      if (type) total += count(selection.selectionSet, type, schema, fragments, costly);
    } else {
      const fragment = fragments.get(selection.name.value);
      const type = fragment && schema.getType(fragment.typeCondition.name.value);
      if (fragment && type) total += count(fragment.selectionSet, type, schema, fragments, costly);
    }
  }
  return total;
}
