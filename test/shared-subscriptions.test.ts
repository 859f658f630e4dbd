import { GraphQLInt, GraphQLObjectType, GraphQLSchema, GraphQLString, parse, type ExecutionResult } from 'graphql';
import { createYoga, Repeater } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/logger.js';
import { createMaskError } from '../src/plugins/mask-errors.js';
import { sharedSubscriptions, STATE_STREAM, type DirectSink } from '../src/plugins/use-shared-subscriptions.js';

/**
 * The shared execution on its own (its gateway-level behaviour is in fan-out.test.ts): a small
 * schema with one state subscription whose second state fails in a resolver, as an unexpected
 * fault would.
 */
function schemaWithFaultyState(): GraphQLSchema {
  const State = new GraphQLObjectType({
    name: 'State',
    fields: {
      step: { type: GraphQLInt },
      detail: {
        type: GraphQLString,
        resolve: ({ step }: { step: number }) => {
          if (step === 2) throw new Error('connect ECONNREFUSED 10.0.0.7:5432 (user=backup password=hunter2)');
          return `step ${step}`;
        },
      },
    },
  });
  return new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt, resolve: () => 1 } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        state: {
          type: State,
          extensions: STATE_STREAM,
          subscribe: async function* () {
            for (const step of [1, 2, 3]) yield { state: { step } };
          },
        },
      },
    }),
  });
}

describe('a shared state execution', () => {
  it('masks an unexpected error once, before its results reach the direct sinks', async () => {
    const shared = sharedSubscriptions(silentLogger(), createMaskError(silentLogger()));
    const yoga = createYoga({ schema: schemaWithFaultyState(), plugins: [shared.plugin], maskedErrors: false, logging: false });
    const received: ExecutionResult[] = [];
    const sink: DirectSink = (result) => received.push(result);
    const enveloped = yoga.getEnveloped({ directSink: sink, role: 'viewer' } as never);
    const stream = (await enveloped.subscribe({
      schema: enveloped.schema,
      document: parse('subscription { state { step detail } }'),
      contextValue: await enveloped.contextFactory(),
    })) as AsyncIterableIterator<unknown>;
    // The stream handed back to the transport only completes: the sink gets the results.
    expect(await stream.next()).toEqual({ done: true, value: undefined });
    expect(received.map((r) => r.data)).toEqual([{ state: { step: 1, detail: 'step 1' } }, { state: { step: 2, detail: null } }, { state: { step: 3, detail: 'step 3' } }]);
    const error = received[1]!.errors?.[0];
    expect(error?.message).toBe('Unexpected error.');
    expect(error?.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(JSON.stringify(received)).not.toContain('hunter2');
  });

  it('lets an identical subscriber join the running execution, and stops it when the last one leaves', async () => {
    const shared = sharedSubscriptions(silentLogger(), createMaskError(silentLogger()));
    let stopped = false;
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt, resolve: () => 1 } } }),
      subscription: new GraphQLObjectType({
        name: 'Subscription',
        fields: {
          tick: {
            type: GraphQLInt,
            extensions: STATE_STREAM,
            // One state that does not change again, until the stream is stopped.
            subscribe: () =>
              new Repeater(async (push, stop) => {
                await push({ tick: 1 });
                await stop;
                stopped = true;
              }),
          },
        },
      }),
    });
    const yoga = createYoga({ schema, plugins: [shared.plugin], logging: false });
    const document = parse('subscription { tick }');
    const firstResults: ExecutionResult[] = [];
    const enveloped = yoga.getEnveloped({ directSink: (r: ExecutionResult) => firstResults.push(r), role: 'viewer' } as never);
    const first = (await enveloped.subscribe({ schema, document, contextValue: await enveloped.contextFactory() })) as AsyncIterableIterator<unknown>;
    const firstEnd = first.next();
    for (let i = 0; i < 50 && firstResults.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(firstResults).toEqual([{ data: { tick: 1 } }]);

    // A viewer with the same document joins; an operator, or a viewer resuming from an event id, does not.
    expect(shared.joinable({ schema, document, role: 'operator', lastEventId: undefined })).toBeUndefined();
    expect(shared.joinable({ schema, document, role: 'viewer', lastEventId: '42' })).toBeUndefined();
    const execution = shared.joinable({ schema, document, role: 'viewer', lastEventId: undefined });
    expect(execution).toBeDefined();
    const joinedResults: ExecutionResult[] = [];
    let ended = 0;
    const joined = shared.attach(execution!, (r) => joinedResults.push(r), () => ended++);
    const joinedEnd = joined.next();
    expect(joinedResults).toEqual([{ data: { tick: 1 } }]);

    // The first subscriber leaves: the execution goes on for the joined one.
    await first.return?.();
    await firstEnd;
    expect(stopped).toBe(false);
    // The last one leaves: the execution stops, and the joined stream's end is reported once.
    await joined.return!();
    await joined.return!();
    expect(await joinedEnd).toEqual({ done: true, value: undefined });
    expect(ended).toBe(1);
    for (let i = 0; i < 50 && !stopped; i++) await new Promise((r) => setTimeout(r, 10));
    expect(stopped).toBe(true);
    expect(shared.joinable({ schema, document, role: 'viewer', lastEventId: undefined })).toBeUndefined();
  });
});
