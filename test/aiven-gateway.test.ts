import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startWorld, type World } from './support/harness.js';

const SERVICES = /* GraphQL */ `
  query ($source: String!, $project: String, $first: Int, $after: String) {
    aiven(source: $source) { services(project: $project, first: $first, after: $after) {
      edges { cursor node {
        id project name type state vendorState plan cloud nodeCount diskSpaceMb terminationProtection createdAt updatedAt
        maintenance { dow time }
        nodes {
          id name state vendorState role availabilityZone reportsProgress shard { name position }
          phases { phase vendorPhase completed current min max unit position { incremental backupName chainIndex chainTotal } progress { percent done total unit } }
          restore { id kind status vendorStatus progress { percent done total unit } }
        }
      } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    } }
  }
`;

type ServiceNode = {
  name: string;
  state: string;
  vendorState: string;
  role: string | null;
  availabilityZone: string | null;
  reportsProgress: boolean;
  shard: { name: string; position: number } | null;
  phases: Array<{ phase: string; vendorPhase: string; completed: boolean; current: number | null; min: number | null; max: number | null; unit: string | null; position: any; progress: { percent: number | null } }>;
  restore: { id: string; status: string; vendorStatus: string; progress: { percent: number | null; done: number | null; total: number | null; unit: string | null } } | null;
};

async function services(world: World) {
  const result = await world.gql(SERVICES, { source: 'aiven-test', project: 'test-project' });
  expect(result.errors).toBeUndefined();
  const list = result.data.aiven.services.edges.map((e: any) => e.node);
  return { list, byName: (name: string) => list.find((s: any) => s.name === name), node: (service: string, node: string): ServiceNode => list.find((s: any) => s.name === service).nodes.find((n: any) => n.name === node) };
}

describe('Aiven through the gateway', () => {
  let world: World;
  beforeEach(async () => {
    world = await startWorld();
  });
  afterEach(async () => {
    await world.close();
  });

  it('lists every service of a project with nodes, roles, zones and shards in one upstream call', async () => {
    world.sim.resetRequests();
    const { list, byName } = await services(world);
    expect(list.map((s: any) => s.name)).toEqual(['kafka-idle', 'mysql-grow', 'pg-legacy', 'pg-off', 'pg-restore']);
    expect(world.sim.countRequests('GET', '/v1/project/test-project/service')).toBe(1);
    expect(world.sim.requests).toHaveLength(1);
    const kafka = byName('kafka-idle');
    expect(kafka).toMatchObject({ type: 'kafka', state: 'RUNNING', plan: 'business-4', cloud: 'google-europe-west3', terminationProtection: true, createdAt: '2025-01-04T00:00:00.000Z' });
    expect(kafka.nodes.map((n: any) => [n.name, n.state, n.availabilityZone, n.shard])).toEqual([
      ['kafka-idle-1', 'RUNNING', 'europe-west3-a', { name: 's1', position: 1 }],
      ['kafka-idle-2', 'RUNNING', 'europe-west3-b', { name: 's2', position: 2 }],
    ]);
    expect(byName('pg-off').state).toBe('POWEROFF');
    expect(byName('pg-restore').nodes[0]).toMatchObject({ name: 'pg-restore-1', role: 'master', state: 'RUNNING', restore: null });
  });

  it('pages with opaque cursors', async () => {
    const first = await world.gql(SERVICES, { source: 'aiven-test', project: 'test-project', first: 2 });
    expect(first.data.aiven.services.edges.map((e: any) => e.node.name)).toEqual(['kafka-idle', 'mysql-grow']);
    expect(first.data.aiven.services.pageInfo.hasNextPage).toBe(true);
    const second = await world.gql(SERVICES, { source: 'aiven-test', project: 'test-project', first: 10, after: first.data.aiven.services.pageInfo.endCursor });
    expect(second.data.aiven.services.edges.map((e: any) => e.node.name)).toEqual(['pg-legacy', 'pg-off', 'pg-restore']);
    expect(second.data.aiven.services.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
  });

  it('follows a node restore through setting_up_vm, phases in order, and back to running', async () => {
    let view = await services(world);
    expect(view.byName('pg-restore').state).toBe('REBUILDING');
    expect(view.node('pg-restore', 'pg-restore-2')).toMatchObject({ state: 'SETTING_UP_VM', phases: [], restore: { kind: 'RESTORE', status: 'PENDING', progress: { percent: 0 } } });

    world.sim.advance(1_500); // prepare half way
    view = await services(world);
    let node = view.node('pg-restore', 'pg-restore-2');
    expect(node.state).toBe('SYNCING_DATA');
    expect(node.phases.map((p) => [p.phase, p.completed, p.unit])).toEqual([['PREPARE', false, 'prepare_percent']]);
    expect(node.phases[0]!.progress.percent).toBe(50);
    expect(node.restore).toMatchObject({ status: 'RUNNING', vendorStatus: 'syncing_data', progress: { percent: 12.5, done: 50, total: 100, unit: 'prepare_percent' } });

    world.sim.advance(3_500); // basebackup 3000/4000... 2 s in: 2000/4000
    node = (await services(world)).node('pg-restore', 'pg-restore-2');
    expect(node.phases.map((p) => [p.phase, p.completed])).toEqual([['PREPARE', true], ['BASEBACKUP', false]]);
    expect(node.phases[1]).toMatchObject({ current: 3000, min: 0, max: 4000, unit: 'bytes_uncompressed' });
    expect(node.restore!.progress).toMatchObject({ percent: 43.75, done: 3000, total: 4000, unit: 'bytes_uncompressed' });

    world.sim.advance(2_000); // stream, min 1000
    node = (await services(world)).node('pg-restore', 'pg-restore-2');
    expect(node.phases.map((p) => p.phase)).toEqual(['PREPARE', 'BASEBACKUP', 'STREAM']);
    expect(node.phases[2]).toMatchObject({ min: 1000, max: 3000, unit: 'wal_lsn', completed: false });

    world.sim.advance(1_500); // finalize: null counters
    node = (await services(world)).node('pg-restore', 'pg-restore-2');
    expect(node.phases[3]).toMatchObject({ phase: 'FINALIZE', current: null, min: null, max: null, unit: null, progress: { percent: null } });

    world.sim.advance(1_000);
    view = await services(world);
    node = view.node('pg-restore', 'pg-restore-2');
    expect(view.byName('pg-restore').state).toBe('RUNNING');
    expect(node).toMatchObject({ state: 'RUNNING', phases: [] });
    expect(node.restore).toMatchObject({ status: 'SUCCEEDED', progress: { percent: 100 } });
  });

  it('reads the legacy node_name and tolerates a syncing node without progress_updates', async () => {
    world.sim.advance(1_000);
    const node = (await services(world)).node('pg-legacy', 'pg-legacy-1');
    expect(node).toMatchObject({ name: 'pg-legacy-1', state: 'SYNCING_DATA', reportsProgress: false, phases: [] });
    expect(node.restore).toMatchObject({ status: 'RUNNING', progress: { percent: null } });
  });

  it('maps basebackup_prepare with its chain position and a growing max', async () => {
    world.sim.advance(1_500);
    const early = (await services(world)).node('mysql-grow', 'mysql-grow-1').phases[0]!;
    world.sim.advance(1_000);
    const later = (await services(world)).node('mysql-grow', 'mysql-grow-1').phases[0]!;
    expect(early).toMatchObject({ phase: 'BASEBACKUP_PREPARE', vendorPhase: 'basebackup_prepare', unit: 'bytes_compressed', position: { incremental: false, backupName: 'mysql-grow-full-1', chainIndex: 1, chainTotal: 1 } });
    expect(later.max!).toBeGreaterThan(early.max!);
    expect(later.current!).toBeGreaterThan(early.current!);
  });

  it('resolves a service and a node by global id, and many ids in one upstream call', async () => {
    const { byName } = await services(world);
    const kafka = byName('kafka-idle');
    world.sim.resetRequests();
    const result = await world.gql(
      `query ($ids: [ID!]!) { nodes(ids: $ids) { id __typename ... on Service { name } ... on ServiceNode { name state } } }`,
      { ids: [kafka.id, kafka.nodes[1].id, byName('pg-off').id] },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data.nodes).toEqual([
      { id: kafka.id, __typename: 'Service', name: 'kafka-idle' },
      { id: kafka.nodes[1].id, __typename: 'ServiceNode', name: 'kafka-idle-2', state: 'RUNNING' },
      { id: byName('pg-off').id, __typename: 'Service', name: 'pg-off' },
    ]);
    expect(world.sim.requests).toHaveLength(1);
  });

  it('exposes the backups Aiven keeps for a service', async () => {
    const result = await world.gql(`{ aiven(source: "aiven-test") { service(project: "test-project", name: "mysql-grow") { serviceUri serviceUriRedacted typeDescription databases backups { name at dataSizeBytes incremental cloud } } } }`);
    expect(result.errors).toBeUndefined();
    expect(result.data.aiven.service.backups).toEqual([{ name: 'mysql-grow-full-1', at: '2024-12-31T00:00:00.000Z', dataSizeBytes: 2000, incremental: false, cloud: 'google-europe-west3' }]);
    expect(result.data.aiven.service.typeDescription).toMatch(/MySQL/);
    const raw = world.sim.getService('test-project', 'mysql-grow')!.service_uri as string;
    const password = /:\/\/[^:]+:([^@]+)@/.exec(raw)![1]!;
    expect(result.data.aiven.service.serviceUriRedacted).toBe(raw.replace(password, '[redacted]'));
    expect(result.data.aiven.service.serviceUriRedacted).not.toContain(password);
    expect(result.data.aiven.service.serviceUri).toBe(raw); // this world's callers are operators
  });

  it('answers service(), null for an unknown name', async () => {
    const result = await world.gql(`{ aiven(source: "aiven-test") { a: service(project: "test-project", name: "pg-off") { name state } b: service(project: "test-project", name: "nope") { name } } }`);
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ aiven: { a: { name: 'pg-off', state: 'POWEROFF' }, b: null } });
  });

  it('lists service types and plans filtered by cloud', async () => {
    const result = await world.gql(`{ aiven(source: "aiven-test") {
      serviceTypes { name description latestAvailableVersion }
      projectTypes: serviceTypes(project: "test-project") { name }
      servicePlans(project: "test-project", serviceType: "pg", cloud: "google-europe-west3") { name cloud nodeCount diskSpaceMb priceUsd clouds }
    } }`);
    expect(result.errors).toBeUndefined();
    expect(result.data.aiven.serviceTypes.find((t: any) => t.name === 'pg')).toMatchObject({ latestAvailableVersion: expect.any(String), description: expect.stringContaining('PostgreSQL') });
    expect(result.data.aiven.projectTypes.map((t: any) => t.name)).toContain('kafka');
    const business = result.data.aiven.servicePlans.find((p: any) => p.name === 'business-4');
    expect(business).toMatchObject({ cloud: 'google-europe-west3', nodeCount: 2, priceUsd: expect.stringMatching(/^\d+\.\d+$/) });
  });

  it('creates a service that comes up from setting_up_vm to running', async () => {
    const created = await world.gql(`mutation { createAivenService(input: { source: "aiven-test", project: "test-project", name: "pg-new", type: "pg", plan: "business-4", cloud: "google-europe-west3", terminationProtection: false, userConfig: { pg_version: "16" } }) { name state plan userConfig nodes { name state } } }`);
    expect(created.errors).toBeUndefined();
    expect(created.data.createAivenService).toMatchObject({ name: 'pg-new', state: 'REBUILDING', plan: 'business-4', userConfig: { pg_version: '16' } });
    expect(created.data.createAivenService.nodes.every((n: any) => n.state === 'SETTING_UP_VM')).toBe(true);
    world.sim.advance(10_000);
    const after = await world.gql(`{ aiven(source: "aiven-test") { service(project: "test-project", name: "pg-new") { state nodes { state } } } }`);
    expect(after.data.aiven.service.state).toBe('RUNNING');
  });

  it('updates plan, power, disk, protection, maintenance and user config', async () => {
    const result = await world.gql(`mutation {
      a: updateAivenService(input: { source: "aiven-test", project: "test-project", name: "pg-off", powered: true, diskSpaceMb: 100000, maintenance: { dow: "sunday", time: "03:00:00" }, userConfig: { x: 1 } }) { state diskSpaceMb maintenance { dow time } userConfig }
      b: updateAivenService(input: { source: "aiven-test", project: "test-project", name: "kafka-idle", terminationProtection: false }) { terminationProtection }
    }`);
    expect(result.errors).toBeUndefined();
    expect(result.data.a).toMatchObject({ state: 'REBUILDING', diskSpaceMb: 100000, maintenance: { dow: 'sunday', time: '03:00:00' } });
    expect(result.data.a.userConfig).toMatchObject({ x: 1 });
    expect(result.data.b.terminationProtection).toBe(false);
    const off = await world.gql(`mutation { updateAivenService(input: { source: "aiven-test", project: "test-project", name: "kafka-idle", powered: false }) { state nodes { name } } }`);
    expect(off.data.updateAivenService).toEqual({ state: 'POWEROFF', nodes: [] });
  });

  it('refuses to delete a protected service, and deletes it once protection is off', async () => {
    const refused = await world.gql(`mutation { deleteAivenService(source: "aiven-test", project: "test-project", name: "kafka-idle") }`);
    expect(refused.data).toBeNull();
    expect(refused.errors![0]!.extensions).toMatchObject({ code: 'FORBIDDEN', source: 'aiven-test' });
    expect(refused.errors![0]!.message).toMatch(/termination protection/);
    expect(world.sim.countRequests('DELETE', '/v1/')).toBe(0);
    await world.gql(`mutation { updateAivenService(input: { source: "aiven-test", project: "test-project", name: "kafka-idle", terminationProtection: false }) { name } }`);
    const deleted = await world.gql(`mutation { deleteAivenService(source: "aiven-test", project: "test-project", name: "kafka-idle") }`);
    expect(deleted).toEqual({ data: { deleteAivenService: true } });
    expect(world.sim.getService('test-project', 'kafka-idle')).toBeUndefined();
  });

  it('passes the upstream reason when Aiven rejects a mutation', async () => {
    const duplicate = await world.gql(`mutation { createAivenService(input: { source: "aiven-test", project: "test-project", name: "pg-off", type: "pg", plan: "business-4" }) { name } }`);
    expect(duplicate.errors![0]!.extensions).toMatchObject({ code: 'CONFLICT', source: 'aiven-test', upstreamStatus: 409 });
    expect(duplicate.errors![0]!.message).toMatch(/already in use/);
    const shrink = await world.gql(`mutation { updateAivenService(input: { source: "aiven-test", project: "test-project", name: "pg-restore", diskSpaceMb: 10 }) { name } }`);
    expect(shrink.errors![0]!.extensions).toMatchObject({ code: 'UPSTREAM_REJECTED', upstreamStatus: 400 });
  });
});

describe('request coalescing', () => {
  it('lets concurrent queries for one project share the upstream call in flight', async () => {
    const world = await startWorld();
    try {
      world.sim.resetRequests();
      world.sim.fail({ kind: 'hang', ms: 400 }, { count: 1 }); // keeps the first call on the wire
      const query = `{ aiven(source: "aiven-test") { services(project: "test-project") { edges { node { name } } } } }`;
      const first = world.gql(query);
      await new Promise((r) => setTimeout(r, 100));
      const results = await Promise.all([first, ...Array.from({ length: 5 }, () => world.gql(query))]);
      for (const result of results) expect(result.data.aiven.services.edges).toHaveLength(5);
      expect(world.sim.countRequests('GET', '/v1/project/test-project/service')).toBe(1);
    } finally {
      await world.close();
    }
  });
});

describe('project discovery', () => {
  it('lists the projects the token sees when the config names none', async () => {
    const world = await startWorld({ source: { projects: undefined } });
    try {
      world.sim.resetRequests();
      const result = await world.gql(`{ aiven(source: "aiven-test") { services { edges { node { project name } } } } }`);
      expect(result.errors).toBeUndefined();
      expect(new Set(result.data.aiven.services.edges.map((e: any) => e.node.project))).toEqual(new Set(['test-project']));
      expect(world.sim.countRequests('GET', '/v1/project/other-project/service')).toBe(1); // discovered, and empty
      expect(world.sim.countRequests('GET', '/v1/project/test-project/service')).toBe(1);
    } finally {
      await world.close();
    }
  });
});

describe('batching', () => {
  it('costs one upstream list call for 50 services with their nodes and phases, and for node(id) lookups among them', async () => {
    const restoringNode = (i: number) => ({
      name: `svc-${i}-1`,
      restore: { setupMs: 0, phases: [{ phase: 'basebackup', unit: 'bytes_uncompressed', min: 0, max: 1000, durationMs: 10_000 }] },
    });
    const world = await startWorld({
      scenario: {
        projects: {
          'test-project': Array.from({ length: 50 }, (_, i) => ({
            service_name: `svc-${String(i).padStart(2, '0')}`,
            service_type: 'pg',
            plan: 'business-4',
            cloud_name: 'google-europe-west3',
            nodes: [restoringNode(i), { name: `svc-${i}-2` }],
          })),
        },
      },
    });
    try {
      world.sim.advance(1_000);
      world.sim.resetRequests();
      const result = await world.gql(`{ aiven(source: "aiven-test") { services(project: "test-project") { edges { node { id name nodes { id name state phases { phase current max } restore { status progress { percent } } } } } } } }`);
      expect(result.errors).toBeUndefined();
      const list = result.data.aiven.services.edges.map((e: any) => e.node);
      expect(list).toHaveLength(50);
      expect(list.every((s: any) => s.nodes[0].phases[0].current === 100 && s.nodes[0].restore.status === 'RUNNING')).toBe(true);
      expect(world.sim.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/project/test-project/service']);

      world.sim.resetRequests();
      const ids = list.slice(0, 20).flatMap((s: any) => [s.id, s.nodes[1].id]);
      const byId = await world.gql(`query ($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids });
      expect(byId.data.nodes.map((n: any) => n.id)).toEqual(ids);
      expect(world.sim.requests).toHaveLength(1);
    } finally {
      await world.close();
    }
  });
});
