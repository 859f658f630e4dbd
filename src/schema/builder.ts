import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import RelayPlugin from '@pothos/plugin-relay';
import type { GatewayContext } from '../context.js';
import { decodeGlobalId, encodeGlobalId } from '../model/ids.js';

/** The one Pothos builder; every file in schema/ registers its own types on it. */
export const builder = new SchemaBuilder<{
  Context: GatewayContext;
  Scalars: {
    DateTime: { Input: string; Output: string | Date };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: false;
}>({
  plugins: [RelayPlugin, DataloaderPlugin],
  defaultFieldNullability: false,
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    encodeGlobalID: (typename, id) => encodeGlobalId(typename, String(id)),
    decodeGlobalID: (id) => {
      const decoded = decodeGlobalId(id);
      return { typename: decoded.typename, id: decoded.id };
    },
    nodeQueryOptions: { description: 'Any object by its global ID.' },
    nodesQueryOptions: { description: 'Several objects by their global IDs, in order; null for those not found.' },
  },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
