/**
 * The request every comparison of bench/baseline.ts and bench/instructions.ts makes, three ways:
 * the listing straight from the Aiven simulator, and the same data through a GraphQL server (plain
 * yoga or the gateway). Literal arguments: the same query text is valid on both schemas.
 */
export const PROJECT = 'acme-prod';
export const SERVICES_PATH = `/v1/project/${PROJECT}/service`;
export const QUERY = `{ aiven(source: "aiven-bench") { services(project: "${PROJECT}") { edges { node { name state nodes { name state phases { phase current max } } } } } } }`;

export interface ComparedRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** Whether an answer's body is the expected one. */
  check(body: string): boolean;
}

/** GET of the listing on the simulator, with the vendor's auth header. */
export function directRequest(token: string): ComparedRequest {
  return { method: 'GET', headers: { authorization: `aivenv1 ${token}` }, check: (body) => Array.isArray(JSON.parse(body).services) };
}

/** POST of QUERY to a GraphQL server. */
export const graphqlRequest: ComparedRequest = {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
  body: JSON.stringify({ query: QUERY }),
  check: (body) => {
    const parsed = JSON.parse(body);
    return !parsed.errors && parsed.data.aiven.services.edges.length > 0;
  },
};
