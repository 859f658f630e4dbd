import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, startWorld, TOKEN, type World } from './support/harness.js';

/**
 * OpenTelemetry traces (issue 10, "See it"): a gateway with an OTLP endpoint sends its spans, as
 * OTLP/HTTP JSON, to an in-process receiver; an Aiven simulator is the upstream.
 */

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: Array<{ key: string; value: OtlpValue }>;
  status?: { code?: number; message?: string };
  scope: string;
}

const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;
const STATUS_ERROR = 2;

/** An OTLP/HTTP receiver: accepts POST /v1/traces (JSON) and keeps every body. */
async function startReceiver(): Promise<{ url: string; bodies: unknown[]; raw: string[]; spans(): OtlpSpan[]; close(): Promise<void> }> {
  const bodies: unknown[] = [];
  const raw: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).startsWith('application/json')) {
        res.writeHead(404).end();
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      raw.push(text);
      bodies.push(JSON.parse(text));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    raw,
    spans: () =>
      bodies.flatMap((body) =>
        ((body as { resourceSpans?: any[] }).resourceSpans ?? []).flatMap((rs) =>
          (rs.scopeSpans ?? []).flatMap((ss: any) => (ss.spans ?? []).map((span: any) => ({ ...span, scope: ss.scope?.name ?? '' }) as OtlpSpan)),
        ),
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function attr(span: OtlpSpan, key: string): string | number | boolean | undefined {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  if (!value) return undefined;
  if (value.intValue !== undefined) return Number(value.intValue);
  return value.stringValue ?? value.boolValue ?? value.doubleValue;
}

describe('OpenTelemetry traces', () => {
  let world: World | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;

  afterEach(async () => {
    await world?.close();
    await receiver?.close();
    world = undefined;
    receiver = undefined;
  });

  /** Closing the gateway flushes its spans to the receiver. */
  async function start(): Promise<{ world: World; receiver: NonNullable<typeof receiver> }> {
    receiver = await startReceiver();
    world = await startWorld({ gateway: { tracing: { otlpEndpoint: receiver.url, serviceName: 'backupgraph-test' } } });
    return { world, receiver };
  }

  it('sends a trace per GraphQL operation, with its upstream calls as child client spans, and no secret', async () => {
    const { world, receiver } = await start();
    const query = `query ServiceState($project: String!, $name: String!) { aiven(source: "aiven-test") { service(project: $project, name: $name) { name state } } }`;
    const result = await world.gql(query, { project: 'test-project', name: 'mysql-grow' });
    expect(result.errors).toBeUndefined();
    expect(result.data.aiven.service.name).toBe('mysql-grow');
    await world.gateway.close();

    const spans = receiver.spans();
    const operation = spans.find((s) => s.name === 'query ServiceState');
    expect(operation, `spans: ${spans.map((s) => s.name).join(', ')}`).toBeDefined();
    expect(operation!.kind).toBe(SPAN_KIND.SERVER);
    expect(operation!.parentSpanId ?? '').toBe('');
    expect(attr(operation!, 'graphql.operation.type')).toBe('query');
    expect(attr(operation!, 'graphql.operation.name')).toBe('ServiceState');
    expect(operation!.status?.code ?? 0).not.toBe(STATUS_ERROR);

    const upstream = spans.filter((s) => s.traceId === operation!.traceId && s.parentSpanId === operation!.spanId && s.kind === SPAN_KIND.CLIENT);
    expect(upstream.length).toBeGreaterThanOrEqual(1);
    for (const call of upstream) {
      expect(call.scope).toBe('@opentelemetry/instrumentation-undici');
      expect(attr(call, 'http.request.method')).toBe('GET');
      expect(attr(call, 'server.address')).toBe('127.0.0.1');
      expect(attr(call, 'http.response.status_code')).toBe(200);
      // Named and located by the route template: the names from the query's variables stay out.
      expect(String(attr(call, 'url.template'))).toMatch(/^\/v1\/project\/\{\}\//);
      expect(call.name).toBe(`GET ${attr(call, 'url.template')}`);
      expect(String(attr(call, 'url.full'))).not.toContain('?');
    }
    const resource = (receiver.bodies[0] as any).resourceSpans[0].resource.attributes as Array<{ key: string; value: OtlpValue }>;
    expect(resource.find((a) => a.key === 'service.name')?.value.stringValue).toBe('backupgraph-test');

    // No token, header value, variable value or query string anywhere in what was sent.
    const sent = receiver.raw.join('\n');
    expect(sent).not.toContain(TOKEN);
    expect(sent.toLowerCase()).not.toContain('aivenv1');
    expect(sent.toLowerCase()).not.toContain('authorization');
    expect(sent).not.toContain('mysql-grow');
    expect(sent).not.toContain('url.query');
  });

  it('marks a failed operation and its failed upstream call with an error status carrying codes, not messages', async () => {
    const { world, receiver } = await start();
    world.sim.fail({ kind: 'status', status: 404, body: { message: `no such project ${TOKEN}`, errors: [] } }, { count: 1, pathPrefix: '/v1/project/test-project/service_types' });
    const result = await world.gql(`query Types { aiven(source: "aiven-test") { serviceTypes(project: "test-project") { name } } }`);
    expect(result.errors?.length).toBeGreaterThan(0);
    await world.gateway.close();

    const spans = receiver.spans();
    const operation = spans.find((s) => s.name === 'query Types')!;
    expect(operation).toBeDefined();
    expect(operation.status?.code).toBe(STATUS_ERROR);
    expect(operation.status?.message).toMatch(/^[A-Z_,]+$/);
    const call = spans.find((s) => s.parentSpanId === operation.spanId && s.kind === SPAN_KIND.CLIENT)!;
    expect(call).toBeDefined();
    expect(attr(call, 'http.response.status_code')).toBe(404);
    expect(call.status?.code).toBe(STATUS_ERROR);
    expect(receiver.raw.join('\n')).not.toContain(TOKEN);
  });

  it('traces a refused document (validation) as an operation with an error status', async () => {
    const { world, receiver } = await start();
    const result = await world.gql(`query Wrong { aiven(source: "aiven-test") { nope } }`);
    expect(result.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
    await world.gateway.close();
    const operation = receiver.spans().find((s) => s.name === 'query Wrong');
    expect(operation?.status?.code).toBe(STATUS_ERROR);
    expect(operation?.status?.message).toContain('GRAPHQL_VALIDATION_FAILED');
  });

  it("runs each poll tick of a live loop as its own trace, not inside the subscription's", async () => {
    const { world, receiver } = await start();
    const stream = collect(world.ws(), `subscription Live { operationsChanged { change } }`);
    await stream.next((e) => Boolean(e.data?.operationsChanged), 10_000);
    stream.stop();
    await world.gateway.close();

    const spans = receiver.spans();
    const subscription = spans.find((s) => s.name === 'subscription Live');
    expect(subscription).toBeDefined();
    expect(attr(subscription!, 'backupgraph.transport')).toBe('graphql-ws');
    const ticks = spans.filter((s) => s.name === 'poll');
    expect(ticks.length).toBeGreaterThanOrEqual(1);
    for (const tick of ticks) {
      expect(tick.parentSpanId ?? '').toBe('');
      expect(tick.traceId).not.toBe(subscription!.traceId);
      expect(String(attr(tick, 'backupgraph.feed'))).toContain('aiven-test');
    }
    // Every upstream call of a tick is a child of that tick; none hangs under the subscription.
    const tickIds = new Set(ticks.map((t) => t.spanId));
    const calls = spans.filter((s) => s.kind === SPAN_KIND.CLIENT);
    expect(calls.some((c) => tickIds.has(c.parentSpanId ?? ''))).toBe(true);
    expect(calls.filter((c) => c.traceId === subscription!.traceId)).toEqual([]);
    expect(receiver.raw.join('\n')).not.toContain(TOKEN);
  });
});
