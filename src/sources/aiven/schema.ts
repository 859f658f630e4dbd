import { badInput, GatewayError } from '../../errors.js';
import { redact } from '../redact.js';
import { eventPayload } from '../../live/subscriptions.js';
import { watchService } from './live.js';
import { decodeGlobalId, encodeGlobalId, typenameOfGlobalId } from '../../model/ids.js';
import type { OperationSnapshot } from '../../model/operation.js';
import type { UpdateServiceBody } from './client.js';
import {
  NODE_STATES,
  RESTORE_PHASES,
  SERVICE_STATES,
  isRestoring,
  type BackupChainPosition,
  type NodeRestoreDetail,
  type RestorePhase,
  type Service,
  type ServiceNode,
  type ServiceBackup,
  type ServicePlanModel,
  type ServiceTypeModel,
} from './map.js';
import type { AivenSource } from './source.js';
import type { GatewayContext } from '../../context.js';
import { STATE_STREAM } from '../../plugins/use-shared-subscriptions.js';
import { builder } from '../../schema/builder.js';
import { OperationRef } from '../../schema/operation.js';
import { ProgressRef } from '../../schema/progress.js';
import { SourceRef, sourceEntryField, sourceNode } from '../../schema/source.js';

/** Aiven's part of the API: AivenSource (the `aiven(source:)` entry), services, nodes, restores. */

function aiven(ctx: GatewayContext, name: string | null | undefined): AivenSource {
  return ctx.registry.ofKind<AivenSource>('aiven', 'Aiven', name ?? undefined);
}

function localId(id: string): string {
  return decodeGlobalId(id).id;
}

function isType(typename: string) {
  return (value: unknown) =>
    typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string' && typenameOfGlobalId((value as { id: string }).id) === typename;
}

const ServiceStateEnum = builder.enumType('ServiceState', { values: SERVICE_STATES });
const NodeStateEnum = builder.enumType('NodeState', { values: NODE_STATES });
const RestorePhaseNameEnum = builder.enumType('RestorePhaseName', { values: RESTORE_PHASES });

const ServiceNodeShardRef = builder.objectRef<NonNullable<ServiceNode['shard']>>('ServiceNodeShard').implement({
  fields: (t) => ({
    name: t.exposeString('name', { nullable: true }),
    position: t.exposeInt('position', { nullable: true }),
  }),
});

const BackupChainPositionRef = builder.objectRef<BackupChainPosition>('BackupChainPosition').implement({
  description: 'Where a restore phase is in the chain of backups being applied.',
  fields: (t) => ({
    incremental: t.exposeBoolean('incremental', { nullable: true }),
    backupName: t.exposeString('backupName', { nullable: true }),
    chainIndex: t.exposeInt('chainIndex', { nullable: true, description: '1-based.' }),
    chainTotal: t.exposeInt('chainTotal', { nullable: true }),
  }),
});

const RestorePhaseRef = builder.objectRef<RestorePhase>('RestorePhase').implement({
  description: 'One entry of an Aiven node\'s progress_updates.',
  fields: (t) => ({
    phase: t.field({ type: RestorePhaseNameEnum, resolve: (p) => p.phase }),
    vendorPhase: t.exposeString('vendorPhase'),
    completed: t.exposeBoolean('completed'),
    current: t.exposeFloat('current', { nullable: true }),
    min: t.exposeFloat('min', { nullable: true }),
    max: t.exposeFloat('max', { nullable: true, description: 'May grow while the phase runs.' }),
    unit: t.exposeString('unit', { nullable: true, description: 'binlogs, bytes_compressed, bytes_uncompressed, prepare_percent, wal_lsn, or null for a generic unit.' }),
    position: t.field({ type: BackupChainPositionRef, nullable: true, resolve: (p) => p.position }),
    progress: t.field({ type: ProgressRef, resolve: (p) => p.progress }),
  }),
});

const MaintenanceWindowRef = builder.objectRef<NonNullable<Service['maintenance']>>('MaintenanceWindow').implement({
  fields: (t) => ({
    dow: t.exposeString('dow', { nullable: true }),
    time: t.exposeString('time', { nullable: true }),
  }),
});

const ServiceBackupRef = builder.objectRef<ServiceBackup>('ServiceBackup').implement({
  description: 'A backup Aiven keeps for the service (BackupOut): the chain a node restore replays.',
  fields: (t) => ({
    name: t.exposeString('name'),
    at: t.field({ type: 'DateTime', nullable: true, resolve: (b) => b.at }),
    dataSizeBytes: t.exposeFloat('dataSizeBytes', { nullable: true }),
    incremental: t.exposeBoolean('incremental', { nullable: true }),
    storageLocation: t.exposeString('storageLocation', { nullable: true }),
    cloud: t.exposeString('cloud', { nullable: true }),
    region: t.exposeString('region', { nullable: true }),
    paused: t.exposeBoolean('paused', { nullable: true }),
    pauseReason: t.exposeString('pauseReason', { nullable: true }),
    tieredStorageDataSizeBytes: t.exposeFloat('tieredStorageDataSizeBytes', { nullable: true }),
  }),
});

/**
 * Batching (Pothos dataloader): every service lookup of one request that falls in the same project
 * costs one upstream call — the project listing when several of its services are needed (shared
 * with any listing already under way), a single-service GET when only one is.
 */
async function loadServices(keys: readonly string[], ctx: GatewayContext): Promise<Array<Service | Error>> {
  const wanted = keys.map((key) => JSON.parse(key) as [string, string, string]);
  const perProject = new Map<string, number>();
  for (const [source, project] of wanted) perProject.set(`${source}\u0000${project}`, (perProject.get(`${source}\u0000${project}`) ?? 0) + 1);
  return Promise.all(
    wanted.map(async ([source, project, name]) => {
      try {
        const aivenSource = aiven(ctx, source);
        if (perProject.get(`${source}\u0000${project}`) === 1) return await aivenSource.getService(project, name);
        const found = (await aivenSource.listServices(project)).items.find((s) => s.name === name);
        return found ?? (await aivenSource.getService(project, name)); // absent or unreadable: the single GET says which
      } catch (error) {
        return error instanceof Error ? error : new Error(String(error));
      }
    }),
  );
}

function serviceKey(source: string, project: string, name: string): string {
  return JSON.stringify([source, project, name]);
}

const ConnectionInfoRef = builder.objectRef<Record<string, string>>('ServiceConnectionInfo').implement({
  description: "A service's connection parameters as Aiven gives them (service_uri_params).",
  fields: (t) => ({
    host: t.string({ nullable: true, resolve: (p) => p['host'] ?? null }),
    port: t.int({ nullable: true, resolve: (p) => (p['port'] === undefined ? null : Number(p['port'])) }),
    user: t.string({ nullable: true, resolve: (p) => p['user'] ?? null }),
    password: t.string({ nullable: true, resolve: (p) => p['password'] ?? null }),
    database: t.string({ nullable: true, resolve: (p) => p['dbname'] ?? p['database'] ?? null }),
    sslMode: t.string({ nullable: true, resolve: (p) => p['sslmode'] ?? null }),
    all: t.field({ type: 'JSON', description: 'Every parameter, as sent.', resolve: (p) => p }),
  }),
});

export const ServiceRef = builder.loadableNodeRef('Service', {
  id: { resolve: (s: Service) => localId(s.id) },
  load: loadServices,
});
export const ServiceNodeRef = builder.loadableNodeRef('ServiceNode', {
  id: { resolve: (n: ServiceNode) => localId(n.id) },
  load: async (keys: readonly string[], ctx: GatewayContext) =>
    Promise.all(
      keys.map(async (key) => {
        const [source, project, service, node] = JSON.parse(key) as [string, string, string, string];
        try {
          const found = await ServiceRef.getDataloader(ctx).load(serviceKey(source, project, service));
          return found.nodes.find((n) => n.name === node) ?? new GatewayError('NOT_FOUND', `Node ${node} is not part of service ${service}`, { source });
        } catch (error) {
          return error instanceof Error ? error : new Error(String(error));
        }
      }),
    ),
});
export const NodeRestoreRef = builder.objectRef<OperationSnapshot>('NodeRestore');

ServiceRef.implement({
  description: 'An Aiven service.',
  isTypeOf: isType('Service'),
  fields: (t) => ({
    source: t.field({ type: SourceRef, resolve: (s, _, ctx) => ctx.registry.get(s.source) }),
    project: t.exposeString('project'),
    name: t.exposeString('name'),
    type: t.exposeString('type'),
    state: t.field({ type: ServiceStateEnum, resolve: (s) => s.state }),
    vendorState: t.exposeString('vendorState'),
    plan: t.exposeString('plan', { nullable: true }),
    cloud: t.exposeString('cloud', { nullable: true }),
    cloudDescription: t.exposeString('cloudDescription', { nullable: true }),
    nodeCount: t.exposeInt('nodeCount', { nullable: true }),
    nodeCpuCount: t.exposeInt('nodeCpuCount', { nullable: true }),
    nodeMemoryMb: t.exposeFloat('nodeMemoryMb', { nullable: true }),
    diskSpaceMb: t.exposeInt('diskSpaceMb', { nullable: true }),
    terminationProtection: t.exposeBoolean('terminationProtection', { nullable: true }),
    createdAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.createdAt }),
    updatedAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.updatedAt }),
    maintenance: t.field({ type: MaintenanceWindowRef, nullable: true, resolve: (s) => s.maintenance }),
    projectVpcId: t.exposeString('projectVpcId', { nullable: true }),
    userConfig: t.field({ type: 'JSON', nullable: true, resolve: (s) => s.userConfig }),
    serviceUri: t.string({
      nullable: true,
      description: 'Connection URI, password included: operators only (for viewers: null with a FORBIDDEN error).',
      resolve: (s, _, ctx) => {
        if (s.serviceUri === null) return null;
        if (ctx.role !== 'operator') throw new GatewayError('FORBIDDEN', 'serviceUri carries the service password: it is shown to operators only', { source: s.source });
        return s.serviceUri;
      },
    }),
    connectionInfo: t.field({
      type: ConnectionInfoRef,
      nullable: true,
      description: 'How to connect (service_uri_params), password included: operators only (for viewers: null with a FORBIDDEN error).',
      resolve: (s, _, ctx) => {
        if (s.connectionParams === null) return null;
        if (ctx.role !== 'operator') throw new GatewayError('FORBIDDEN', 'connectionInfo carries the service password: it is shown to operators only', { source: s.source });
        return s.connectionParams;
      },
    }),
    serviceUriRedacted: t.string({
      nullable: true,
      description: 'Connection URI with its password redacted, for every role.',
      resolve: (s) => (s.serviceUri === null ? null : redact(s.serviceUri)),
    }),
    typeDescription: t.exposeString('typeDescription', { nullable: true }),
    isClusterPlan: t.exposeBoolean('isClusterPlan', { nullable: true }),
    tags: t.field({ type: 'JSON', nullable: true, description: 'Key/value tags.', resolve: (s) => s.tags }),
    databases: t.exposeStringList('databases'),
    backups: t.field({ type: [ServiceBackupRef], description: 'Backups Aiven keeps for this service, newest last as Aiven lists them.', resolve: (s) => s.backups }),
    nodes: t.field({ type: [ServiceNodeRef], resolve: (s) => s.nodes }),
    restoring: t.boolean({
      description: 'Whether any node is restoring now (setting up, syncing, or timing out).',
      resolve: (s) => s.nodes.some(isRestoring),
    }),
  }),
});

ServiceNodeRef.implement({
  description: 'One node of an Aiven service (node_states[]).',
  isTypeOf: isType('ServiceNode'),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The API\'s `name` (or the older `node_name`).' }),
    state: t.field({ type: NodeStateEnum, resolve: (n) => n.state }),
    vendorState: t.exposeString('vendorState'),
    role: t.exposeString('role', { nullable: true, description: 'master, read-replica or standby.' }),
    roles: t.exposeString('roles', { nullable: true, description: 'OpenSearch node roles.' }),
    availabilityZone: t.exposeString('availabilityZone', { nullable: true }),
    shard: t.field({ type: ServiceNodeShardRef, nullable: true, resolve: (n) => n.shard }),
    reportsProgress: t.exposeBoolean('reportsProgress', {
      description: 'False when the node sent no progress_updates at all (Aiven may omit it even while syncing).',
    }),
    phases: t.field({ type: [RestorePhaseRef], resolve: (n) => n.phases }),
    restore: t.field({
      type: NodeRestoreRef,
      nullable: true,
      description: 'The restore in progress, or the last one the gateway observed for this node.',
      resolve: (n, _, ctx) => aiven(ctx, n.source).restoreOf(n.project, n.service, n.name),
    }),
  }),
});

builder.node(NodeRestoreRef, {
  description: 'The restore (or catch-up) of one Aiven node, from its progress_updates phases.',
  interfaces: [OperationRef],
  id: { resolve: (op) => localId(op.id) },
  isTypeOf: (op) => (op as OperationSnapshot).typename === 'NodeRestore',
  loadOne: async (id, ctx) => {
    const gid = encodeGlobalId('NodeRestore', id);
    return ctx.tracker.current(gid) ?? (await ctx.history.get(gid)) ?? null;
  },
  fields: (t) => ({
    project: t.string({ resolve: (op) => (op.detail as NodeRestoreDetail).project }),
    service: t.field({
      type: ServiceRef,
      nullable: true,
      description: 'The service now (null when it no longer exists).',
      resolve: async (op, _, ctx) => {
        const d = op.detail as NodeRestoreDetail;
        return ServiceRef.getDataloader(ctx).load(serviceKey(op.source, d.project, d.service)).catch(() => null);
      },
    }),
    node: t.field({ type: ServiceNodeRef, description: 'The node as it was at this state of the restore.', resolve: (op) => (op.detail as NodeRestoreDetail).node }),
    phases: t.field({ type: [RestorePhaseRef], resolve: (op) => (op.detail as NodeRestoreDetail).node.phases }),
  }),
});

const ServiceTypeRef = builder.objectRef<ServiceTypeModel>('ServiceType').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    latestAvailableVersion: t.exposeString('latestAvailableVersion', { nullable: true }),
  }),
});

const ServicePlanRef = builder.objectRef<ServicePlanModel>('ServicePlan').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    serviceType: t.exposeString('serviceType', { nullable: true }),
    cloud: t.exposeString('cloud', { nullable: true, description: 'The cloud asked for, when the plan is offered there.' }),
    diskSpaceMb: t.exposeInt('diskSpaceMb', { nullable: true }),
    nodeCount: t.exposeInt('nodeCount', { nullable: true }),
    priceUsd: t.exposeString('priceUsd', { nullable: true, description: 'Hourly price in the cloud asked for.' }),
    clouds: t.exposeStringList('clouds', { description: 'Clouds the plan is offered in.' }),
  }),
});

/** A services page holds services and, for items Aiven sent that could not be read, their errors. */
type ServiceEntry = Service | GatewayError;

function encodeCursor(entry: ServiceEntry, index: number): string {
  const key = entry instanceof GatewayError ? ['!unreadable', index] : [entry.project, entry.name];
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export const AivenSourceRef = builder.objectRef<AivenSource>('AivenSource');

builder.node(AivenSourceRef, {
  ...sourceNode<AivenSource>('aiven'),
  description: 'A configured Aiven source: its services, nodes and restore phases, service types and plans.',
  fields: (t) => ({
    projects: t.stringList({ description: 'Configured projects, or those the token sees.', resolve: (source) => source.projects() }),
    services: t.connection({
      type: ServiceRef,
      nullable: true,
      nodeNullable: true,
      description:
        'Services, in one upstream call per project, by project then name. A service Aiven sent that cannot be read is an edge whose node is null with an error at that edge; the whole field is null (with an error) only when the upstream fails, so other fields still resolve.',
      args: { project: t.arg.string({ description: 'Default: every configured (or discovered) project.' }) },
      resolve: async (source, args) => {
        if (args.last != null || args.before != null) throw badInput('services pages forward only: use first/after', { argument: 'last' });
        const first = args.first ?? 100;
        if (first < 0 || first > 1000) throw badInput('first must be between 0 and 1000', { argument: 'first' });
        const projects = args.project ? [args.project] : await source.projects();
        const listings = await Promise.all(projects.map((p) => source.listServices(p)));
        const services = listings.flatMap((l) => l.items).sort((a, b) => a.project.localeCompare(b.project) || a.name.localeCompare(b.name));
        const all: ServiceEntry[] = [...services, ...listings.flatMap((l) => l.failures)];
        const cursors = all.map(encodeCursor);
        let start = 0;
        if (args.after) {
          const index = cursors.indexOf(args.after);
          if (index < 0) throw badInput('after is not a cursor of this list (the service may have been deleted)', { argument: 'after' });
          start = index + 1;
        }
        const end = Math.min(all.length, start + first);
        // graphql-js turns an Error returned as a value into an error at that path: the bad item's edge.
        const edges = all.slice(start, end).map((node, i) => ({ cursor: cursors[start + i]!, node: node as Service }));
        return {
          edges,
          pageInfo: { hasNextPage: end < all.length, hasPreviousPage: start > 0, startCursor: cursors[start] ?? null, endCursor: cursors[end - 1] ?? null },
        };
      },
    }, { name: 'ServiceConnection' }, { name: 'ServiceEdge' }),
    service: t.field({
      type: ServiceRef,
      nullable: true,
      description: 'One service; null when Aiven does not know it.',
      args: { project: t.arg.string({ required: true }), name: t.arg.string({ required: true }) },
      resolve: async (source, args, ctx) => {
        try {
          return await ServiceRef.getDataloader(ctx).load(serviceKey(source.name, args.project, args.name));
        } catch (error) {
          if ((error as { code?: string }).code === 'NOT_FOUND') return null;
          throw error;
        }
      },
    }),
    serviceTypes: t.field({
      type: [ServiceTypeRef],
      nullable: true,
      args: { project: t.arg.string() },
      resolve: (source, args) => source.serviceTypes(args.project ?? undefined),
    }),
    servicePlans: t.field({
      type: [ServicePlanRef],
      nullable: true,
      args: { project: t.arg.string({ required: true }), serviceType: t.arg.string({ required: true }), cloud: t.arg.string() },
      resolve: (source, args) => source.servicePlans(args.project, args.serviceType, args.cloud ?? undefined),
    }),
  }),
});

sourceEntryField('aiven', 'aiven', AivenSourceRef, 'Aiven');

const SERVICE_NAME = /^[a-z][-a-z0-9]{1,61}[a-z0-9]$/;
const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday', 'never'];

function checkName(name: string): string {
  if (!SERVICE_NAME.test(name)) {
    throw badInput('name must be 3-63 characters of lowercase letters, digits and "-", starting with a letter', { argument: 'name' });
  }
  return name;
}

function checkObject(value: unknown, argument: string): Record<string, unknown> | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw badInput(`${argument} must be a JSON object`, { argument });
  return value as Record<string, unknown>;
}

function checkVpcId(value: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) throw badInput('projectVpcId must be a VPC id (UUID)', { argument: 'projectVpcId' });
  return value;
}

function checkDisk(value: number | null | undefined): number | undefined {
  if (value == null) return undefined;
  if (value <= 0) throw badInput('diskSpaceMb must be positive', { argument: 'diskSpaceMb' });
  return value;
}

const CreateServiceInput = builder.inputType('CreateServiceInput', {
  fields: (t) => ({
    source: t.string({ description: 'The Aiven source; may be left out when exactly one is configured.' }),
    project: t.string({ required: true }),
    name: t.string({ required: true }),
    type: t.string({ required: true, description: 'pg, mysql, kafka, opensearch, …' }),
    plan: t.string({ required: true }),
    cloud: t.string(),
    diskSpaceMb: t.int(),
    terminationProtection: t.boolean(),
    userConfig: t.field({ type: 'JSON' }),
    projectVpcId: t.string({ description: 'Create the service in this project VPC (its UUID).' }),
  }),
});

const MaintenanceWindowInput = builder.inputType('MaintenanceWindowInput', {
  fields: (t) => ({
    dow: t.string({ required: true, description: 'monday … sunday, or never.' }),
    time: t.string({ required: true, description: 'HH:MM:SS (UTC).' }),
  }),
});

const UpdateServiceInput = builder.inputType('UpdateServiceInput', {
  fields: (t) => ({
    source: t.string({ description: 'The Aiven source; may be left out when exactly one is configured.' }),
    project: t.string({ required: true }),
    name: t.string({ required: true }),
    plan: t.string(),
    cloud: t.string(),
    powered: t.boolean({ description: 'false powers the service off, true on.' }),
    diskSpaceMb: t.int({ description: 'Can grow, not shrink.' }),
    terminationProtection: t.boolean(),
    maintenance: t.field({ type: MaintenanceWindowInput }),
    userConfig: t.field({ type: 'JSON', description: 'Merged into the service\'s user_config.' }),
  }),
});

builder.mutationFields((t) => ({
  createAivenService: t.field({
    type: ServiceRef,
    description: 'Creates a service; it starts REBUILDING with nodes setting up (subscribe with serviceUpdated).',
    args: { input: t.arg({ type: CreateServiceInput, required: true }) },
    resolve: (_, { input }, ctx) =>
      aiven(ctx, input.source).createService(input.project, {
        service_name: checkName(input.name),
        service_type: input.type,
        plan: input.plan,
        ...(input.cloud ? { cloud: input.cloud } : {}),
        ...(input.diskSpaceMb != null ? { disk_space_mb: checkDisk(input.diskSpaceMb)! } : {}),
        ...(input.terminationProtection != null ? { termination_protection: input.terminationProtection } : {}),
        ...(input.userConfig != null ? { user_config: checkObject(input.userConfig, 'userConfig')! } : {}),
        ...(input.projectVpcId != null ? { project_vpc_id: checkVpcId(input.projectVpcId) } : {}),
      }),
  }),
  updateAivenService: t.field({
    type: ServiceRef,
    description: 'Changes plan, cloud, power, disk, termination protection, maintenance window or user config.',
    args: { input: t.arg({ type: UpdateServiceInput, required: true }) },
    resolve: (_, { input }, ctx) => {
      const body: UpdateServiceBody = {};
      if (input.plan != null) body.plan = input.plan;
      if (input.cloud != null) body.cloud = input.cloud;
      if (input.powered != null) body.powered = input.powered;
      if (input.diskSpaceMb != null) body.disk_space_mb = checkDisk(input.diskSpaceMb)!;
      if (input.terminationProtection != null) body.termination_protection = input.terminationProtection;
      if (input.maintenance) {
        const { dow, time } = input.maintenance;
        if (!DAYS.includes(dow)) throw badInput(`maintenance.dow must be one of ${DAYS.join(', ')}`, { argument: 'maintenance.dow' });
        if (!/^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/.test(time)) throw badInput('maintenance.time must be HH:MM:SS', { argument: 'maintenance.time' });
        body.maintenance = { dow, time };
      }
      const userConfig = checkObject(input.userConfig, 'userConfig');
      if (userConfig) body.user_config = userConfig;
      if (Object.keys(body).length === 0) throw badInput('nothing to update: give at least one field besides source, project and name');
      return aiven(ctx, input.source).updateService(input.project, input.name, body);
    },
  }),
  deleteAivenService: t.boolean({
    description: 'Deletes a service. Refused (FORBIDDEN) while termination protection is on, as Aiven does.',
    args: { source: t.arg.string(), project: t.arg.string({ required: true }), name: t.arg.string({ required: true }) },
    resolve: async (_, args, ctx) => {
      await aiven(ctx, args.source).deleteService(args.project, args.name);
      return true;
    },
  }),
}));

builder.subscriptionField('serviceUpdated', (t) =>
  t.field({
    type: ServiceRef,
    description: 'The service at once, then on every change (nodes, phases, state), from the shared project poller.',
    args: { source: t.arg.string(), project: t.arg.string({ required: true }), name: t.arg.string({ required: true }) },
    extensions: STATE_STREAM,
    subscribe: (_, args, ctx) => watchService(aiven(ctx, args.source), args.project, args.name),
    resolve: (payload: Service | Error, _, ctx) => eventPayload(payload, ctx),
  }),
);
