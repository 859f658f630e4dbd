import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, eventually, startWorld, type World } from './support/harness.js';

/** /metrics after a scripted workload, read with a Prometheus text-format parser. */
describe('/metrics', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    await world.close();
  });

  async function scrape() {
    const response = await fetch(world.gateway.url.replace(/graphql$/, 'metrics'));
    expect(response.status).toBe(200);
    const text = await response.text();
    const families = parsePrometheusTextFormat(text);
    return Object.assign((name: string) => families.find((f) => f.name === name)?.metrics ?? [], { text });
  }

  it('counts GraphQL operations, upstream calls by endpoint and outcome, subscriptions, health and live loops', async () => {
    await world.gql(`query Fleet { aiven { services { edges { node { name } } } } }`);
    world.sim.fail({ kind: 'status', status: 404, body: { message: 'no such project', errors: [] } }, { count: 1, pathPrefix: '/v1/project/test-project/service_types' });
    await world.gql(`query Types { aiven { serviceTypes(project: "test-project") { name } } }`);
    const stream = collect(world.ws(), `subscription Live { operationsChanged { change } }`);
    await stream.next((e) => Boolean(e.data?.operationsChanged), 10_000);

    const metric = await scrape();
    const calls = metric('backupgraph_upstream_calls_total');
    const listing = calls.find((m) => m.labels?.['endpoint'] === 'GET /v1/project/{}/service' && m.labels['outcome'] === 'ok');
    expect(listing?.labels?.['source']).toBe('aiven-test');
    expect(Number(listing?.value)).toBeGreaterThanOrEqual(1);
    const refused = calls.find((m) => m.labels?.['endpoint'] === 'GET /v1/project/{}/service_types');
    expect(refused?.labels?.['outcome']).toBe('NOT_FOUND');
    expect(metric('backupgraph_upstream_call_duration_seconds')[0]?.buckets).toHaveProperty('0.1');
    // (the parser keeps a histogram's buckets but not its labels: the count line is read as text)
    const count = /backupgraph_upstream_call_duration_seconds_count\{source="aiven-test",endpoint="GET \/v1\/project\/\{\}\/service",outcome="ok"\} (\d+)/.exec(metric.text);
    expect(Number(count?.[1])).toBeGreaterThanOrEqual(1);
    // No label carries a name from a request: project and service names stay out.
    expect(calls.every((m) => !JSON.stringify(m.labels).includes('test-project'))).toBe(true);

    expect(metric('backupgraph_subscriptions').find((m) => m.labels?.['transport'] === 'graphql-ws')?.value).toBe('1');
    expect(metric('backupgraph_source_status')).toEqual([{ labels: { source: 'aiven-test', kind: 'AIVEN', status: 'UP' }, value: '1' }]);
    expect(Number(metric('backupgraph_live_loops').find((m) => m.labels?.['measure'] === 'loops')?.value)).toBeGreaterThanOrEqual(1);
    expect(metric('backupgraph_operations_in_flight').length).toBeGreaterThan(0);
    const requests = metric('graphql_envelop_request');
    expect(requests.some((m) => m.labels?.['operationName'] === 'Fleet')).toBe(true);
    stream.stop();

    await eventually(async () => (await scrape())('backupgraph_subscriptions').find((m) => m.labels?.['transport'] === 'graphql-ws')?.value === '0', 5_000, 'the subscription gauge back at 0');
  });
});
