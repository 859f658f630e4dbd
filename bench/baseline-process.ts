/**
 * Child process: the baseline of the comparison in bench/baseline.ts — a plain graphql-yoga server
 * with no gateway logic (no sources, tracker, history, limits or plugins). A schema written by hand
 * with buildSchema; `services` makes one undici request to the Aiven simulator's listing and maps it
 * directly. What the gateway adds on top of this is what the comparison shows.
 * Env: BENCH_SIM_URL, BENCH_TOKEN. Calls: `memory` (after a full GC), `cpu`, `rss`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSchema, type GraphQLObjectType } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { Agent, request } from 'undici';
import { serveParent } from './ipc.js';

const simUrl = process.env['BENCH_SIM_URL'] ?? '';
const token = process.env['BENCH_TOKEN'] ?? '';

const schema = buildSchema(`
  type Query { aiven(source: String!): Aiven }
  type Aiven { services(project: String!): ServiceConnection! }
  type ServiceConnection { edges: [ServiceEdge!]! }
  type ServiceEdge { node: Service! }
  type Service { name: String! state: String! nodes: [Node!]! }
  type Node { name: String! state: String! phases: [Phase!]! }
  type Phase { phase: String! current: Float max: Float }
`);

interface WireService {
  service_name: string;
  state: string;
  node_states?: Array<{ name?: string; node_name?: string; state: string; progress_updates?: Array<{ phase: string; current?: number | null; max?: number | null }> }>;
}

const upstream = new Agent({ keepAliveTimeout: 30_000 });

async function services(project: string) {
  const response = await request(`${simUrl}/v1/project/${encodeURIComponent(project)}/service`, { dispatcher: upstream, headers: { authorization: `aivenv1 ${token}` } });
  if (response.statusCode !== 200) throw new Error(`upstream answered ${response.statusCode}`);
  const body = (await response.body.json()) as { services: WireService[] };
  return {
    edges: body.services.map((s) => ({
      node: {
        name: s.service_name,
        state: s.state,
        nodes: (s.node_states ?? []).map((n) => ({
          name: n.name ?? n.node_name ?? '',
          state: n.state,
          phases: (n.progress_updates ?? []).map((p) => ({ phase: p.phase, current: p.current ?? null, max: p.max ?? null })),
        })),
      },
    })),
  };
}

// The two resolvers; every other field is graphql-js's default (the property of the same name).
schema.getQueryType()!.getFields()['aiven']!.resolve = () => ({});
(schema.getType('Aiven') as GraphQLObjectType).getFields()['services']!.resolve = (_parent, args: { project: string }) => services(args.project);
const yoga = createYoga({ schema, graphqlEndpoint: '/graphql', landingPage: false, graphiql: false, logging: false });
const server = createServer(yoga);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

serveParent(
  {
    memory: () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      gc?.();
      return { memory: process.memoryUsage() };
    },
  },
  async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await upstream.close();
  },
);
process.send?.({ type: 'ready', url: `http://127.0.0.1:${port}/graphql`, pid: process.pid });
