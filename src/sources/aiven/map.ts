import { z } from 'zod';
import { globalId } from '../../model/ids.js';
import { isoTimestamp, wireDecoder } from '../decode.js';
import { EMPTY_PROGRESS, type OperationSnapshot, type OperationStatus, type Progress } from '../../model/operation.js';
import type { AivenBackup, AivenNodeState, AivenProgressUpdate, AivenService, AivenServicePlan, AivenServiceType } from './client.js';

/**
 * Aiven wire objects → the gateway's model. Pure: no I/O, no clock (callers pass `now`).
 * Facts and quirks relied on here: docs/upstreams/aiven.md.
 */

/**
 * The structure map.ts relies on, checked per service before mapping: containers and identities
 * must have the right shape; scalar leaves stay lenient (null, absent or odd values map to null).
 */
const progressUpdateWire = z.looseObject({ phase: z.string(), position: z.looseObject({}).nullish() });
const nodeStateWire = z
  .looseObject({
    name: z.string().optional(),
    node_name: z.string().optional(),
    state: z.string(),
    progress_updates: z.array(progressUpdateWire).nullish(),
    shard: z.looseObject({}).nullish(),
  })
  .refine((node) => Boolean(node.name ?? node.node_name), { message: 'a node has neither name nor node_name' });
const serviceWire = z.looseObject({
  service_name: z.string().min(1),
  service_type: z.string(),
  state: z.string(),
  node_states: z.array(nodeStateWire).nullish(),
  backups: z.array(z.looseObject({ backup_name: z.string() })).nullish(),
  maintenance: z.looseObject({}).nullish(),
  user_config: z.record(z.string(), z.unknown()).nullish(),
  tags: z.record(z.string(), z.unknown()).nullish(),
  databases: z.array(z.unknown()).nullish(),
});

/** One service of a listing, checked; throws naming the bad field. */
export const decodeService = wireDecoder(serviceWire) as (raw: unknown) => AivenService;

export const SERVICE_STATES = ['RUNNING', 'REBUILDING', 'REBALANCING', 'POWEROFF', 'UNKNOWN'] as const;
export type ServiceState = (typeof SERVICE_STATES)[number];
export const NODE_STATES = ['SETTING_UP_VM', 'SYNCING_DATA', 'RUNNING', 'LEAVING', 'TIMING_OUT', 'UNKNOWN'] as const;
export type NodeState = (typeof NODE_STATES)[number];
export const RESTORE_PHASES = ['PREPARE', 'BASEBACKUP_PREPARE', 'BASEBACKUP', 'STREAM', 'FINALIZE', 'UNKNOWN'] as const;
export type RestorePhaseName = (typeof RESTORE_PHASES)[number];

/** The documented phase order; `basebackup_prepare` only counts when the node reports it. */
const PHASE_ORDER: RestorePhaseName[] = ['PREPARE', 'BASEBACKUP_PREPARE', 'BASEBACKUP', 'STREAM', 'FINALIZE'];
const STANDARD_PHASE_COUNT = 4;

export interface BackupChainPosition {
  incremental: boolean | null;
  backupName: string | null;
  chainIndex: number | null;
  chainTotal: number | null;
}

export interface RestorePhase {
  phase: RestorePhaseName;
  vendorPhase: string;
  completed: boolean;
  current: number | null;
  min: number | null;
  max: number | null;
  unit: string | null;
  position: BackupChainPosition | null;
  progress: Progress;
}

export interface ServiceNode {
  id: string;
  source: string;
  project: string;
  service: string;
  name: string;
  state: NodeState;
  vendorState: string;
  role: string | null;
  roles: string | null;
  availabilityZone: string | null;
  shard: { name: string | null; position: number | null } | null;
  phases: RestorePhase[];
  /** Whether the node reported a progress_updates key at all (absent is a documented quirk). */
  reportsProgress: boolean;
}

export interface Service {
  id: string;
  source: string;
  project: string;
  name: string;
  type: string;
  state: ServiceState;
  vendorState: string;
  plan: string | null;
  cloud: string | null;
  cloudDescription: string | null;
  nodeCount: number | null;
  nodeCpuCount: number | null;
  nodeMemoryMb: number | null;
  diskSpaceMb: number | null;
  terminationProtection: boolean | null;
  createdAt: string | null;
  updatedAt: string | null;
  serviceUri: string | null;
  /** service_uri_params: host, port, user, password, dbname, sslmode (secrets: operators only). */
  connectionParams: Record<string, string> | null;
  maintenance: { dow: string | null; time: string | null } | null;
  projectVpcId: string | null;
  userConfig: Record<string, unknown> | null;
  typeDescription: string | null;
  isClusterPlan: boolean | null;
  tags: Record<string, string> | null;
  databases: string[];
  backups: ServiceBackup[];
  nodes: ServiceNode[];
}

export interface ServiceBackup {
  name: string;
  at: string | null;
  dataSizeBytes: number | null;
  incremental: boolean | null;
  storageLocation: string | null;
  cloud: string | null;
  region: string | null;
  paused: boolean | null;
  pauseReason: string | null;
  tieredStorageDataSizeBytes: number | null;
}

export function mapBackup(raw: AivenBackup): ServiceBackup {
  return {
    name: raw.backup_name,
    at: isoTimestamp(raw.backup_time),
    dataSizeBytes: num(raw.data_size),
    incremental: typeof raw.incremental === 'boolean' ? raw.incremental : null,
    storageLocation: str(raw.storage_location),
    cloud: str(raw.cloud),
    region: str(raw.region),
    paused: typeof raw.paused === 'boolean' ? raw.paused : null,
    pauseReason: str(raw.pause_reason),
    tieredStorageDataSizeBytes: num(raw.tiered_storage_data_size),
  };
}

/** What a NodeRestore operation carries as its vendor detail. */
export interface NodeRestoreDetail {
  project: string;
  service: string;
  node: ServiceNode;
}

export function serviceId(source: string, project: string, name: string): string {
  return globalId('Service', [source, project, name]);
}

export function nodeId(source: string, project: string, service: string, node: string): string {
  return globalId('ServiceNode', [source, project, service, node]);
}

/**
 * Aiven gives a restore no identity of its own: one run is the node's restore that the gateway
 * first saw at `startedAt`, so a second restore of the same node is a new operation.
 */
export function nodeRestoreId(source: string, project: string, service: string, node: string, startedAt: string): string {
  return globalId('NodeRestore', [source, project, service, node, startedAt]);
}

/** The object a node restore runs on (its RunClock key within a project). */
export function nodeRunKey(service: string, node: string): string {
  return JSON.stringify([service, node]);
}

function enumValue<T extends string>(raw: unknown, values: readonly T[]): T {
  const upper = typeof raw === 'string' ? raw.toUpperCase() : '';
  return (values as readonly string[]).includes(upper) && upper !== 'UNKNOWN' ? (upper as T) : ('UNKNOWN' as T);
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

export function mapPhase(raw: AivenProgressUpdate): RestorePhase {
  const current = num(raw.current);
  const min = num(raw.min);
  const max = num(raw.max);
  const unit = str(raw.unit);
  const completed = raw.completed === true;
  let percent: number | null = null;
  let done: number | null = null;
  let total: number | null = null;
  // (current-min)/(max-min), as Aiven's own CLI computes it, only when all three are known.
  if (current !== null && max !== null) {
    const lower = min ?? 0;
    done = current - lower;
    total = max - lower;
    if (min !== null && total > 0) percent = clamp((done / total) * 100);
  }
  if (completed) percent = 100;
  const position = raw.position
    ? {
        incremental: typeof raw.position.backup_incremental === 'boolean' ? raw.position.backup_incremental : null,
        backupName: str(raw.position.backup_name),
        chainIndex: num(raw.position.chain_index),
        chainTotal: num(raw.position.chain_total),
      }
    : null;
  return {
    phase: enumValue(raw.phase, RESTORE_PHASES),
    vendorPhase: String(raw.phase ?? ''),
    completed,
    current,
    min,
    max,
    unit,
    position,
    progress: { ...EMPTY_PROGRESS, percent, done, total, unit },
  };
}

export function mapNode(source: string, project: string, service: string, raw: AivenNodeState): ServiceNode {
  const name = raw.name ?? raw.node_name ?? '';
  const updates = Array.isArray(raw.progress_updates) ? raw.progress_updates : [];
  return {
    id: nodeId(source, project, service, name),
    source,
    project,
    service,
    name,
    state: enumValue(raw.state, NODE_STATES),
    vendorState: String(raw.state ?? ''),
    role: str(raw.role),
    roles: str(raw.roles),
    availabilityZone: str(raw.availability_zone),
    shard: raw.shard ? { name: str(raw.shard.name), position: num(raw.shard.position) } : null,
    phases: updates.map(mapPhase),
    reportsProgress: Array.isArray(raw.progress_updates),
  };
}

export function mapService(source: string, project: string, raw: AivenService): Service {
  return {
    id: serviceId(source, project, raw.service_name),
    source,
    project,
    name: raw.service_name,
    type: raw.service_type,
    state: enumValue(raw.state, SERVICE_STATES),
    vendorState: String(raw.state ?? ''),
    plan: str(raw.plan),
    cloud: str(raw.cloud_name),
    cloudDescription: str(raw.cloud_description),
    nodeCount: num(raw.node_count),
    nodeCpuCount: num(raw.node_cpu_count),
    nodeMemoryMb: num(raw.node_memory_mb),
    diskSpaceMb: num(raw.disk_space_mb),
    terminationProtection: typeof raw.termination_protection === 'boolean' ? raw.termination_protection : null,
    createdAt: isoTimestamp(raw.create_time),
    updatedAt: isoTimestamp(raw.update_time),
    serviceUri: str(raw.service_uri),
    connectionParams: stringRecord(raw.service_uri_params),
    maintenance: raw.maintenance ? { dow: str(raw.maintenance.dow), time: str(raw.maintenance.time) } : null,
    projectVpcId: str(raw.project_vpc_id),
    userConfig: raw.user_config && typeof raw.user_config === 'object' ? raw.user_config : null,
    typeDescription: str(raw.service_type_description),
    isClusterPlan: typeof raw.is_cluster_plan === 'boolean' ? raw.is_cluster_plan : null,
    tags: raw.tags && typeof raw.tags === 'object' ? raw.tags : null,
    databases: Array.isArray(raw.databases) ? raw.databases.filter((d): d is string => typeof d === 'string') : [],
    backups: (Array.isArray(raw.backups) ? raw.backups : []).map(mapBackup),
    nodes: (raw.node_states ?? []).map((n) => mapNode(source, project, raw.service_name, n)),
  };
}

/** Node states during which a node is being restored (or brought up from a backup). */
const RESTORING: ReadonlySet<NodeState> = new Set(['SETTING_UP_VM', 'SYNCING_DATA', 'TIMING_OUT']);

/**
 * The one in-flight predicate for Aiven: a node restore is in flight while the node sets up,
 * syncs, or times out (it may still recover), or reports phases in a state we do not know.
 */
export function isRestoring(node: ServiceNode): boolean {
  return RESTORING.has(node.state) || (node.state === 'UNKNOWN' && node.phases.length > 0);
}

function restoreStatus(node: ServiceNode): OperationStatus {
  switch (node.state) {
    case 'SETTING_UP_VM':
      return 'PENDING';
    case 'SYNCING_DATA':
      return 'RUNNING';
    default:
      // timing_out and unknown states are not final: the node may still recover.
      return 'UNKNOWN';
  }
}

/**
 * Aggregate progress of a node restore: each expected phase counts equally (completed = 1, the
 * active one its (current-min)/(max-min) fraction); done/total/unit are the active phase's.
 * Null percent when the node is syncing but reports no phases (documented quirk).
 */
export function restoreProgress(node: ServiceNode): Progress {
  if (node.state === 'SETTING_UP_VM' && node.phases.length === 0) return { ...EMPTY_PROGRESS, percent: 0 };
  if (node.phases.length === 0) return EMPTY_PROGRESS;
  const expected = STANDARD_PHASE_COUNT + (node.phases.some((p) => p.phase === 'BASEBACKUP_PREPARE') ? 1 : 0);
  let sum = 0;
  let unknownFraction = false;
  for (const phase of node.phases) {
    if (phase.phase === 'UNKNOWN') continue;
    if (phase.completed) sum += 1;
    else if (phase.progress.percent !== null) sum += phase.progress.percent / 100;
    else unknownFraction = true;
  }
  const active = activePhase(node);
  const percent = unknownFraction && sum === 0 ? null : clamp((sum / expected) * 100);
  return {
    ...EMPTY_PROGRESS,
    percent: percent === null ? null : Math.round(percent * 100) / 100,
    done: active?.progress.done ?? null,
    total: active?.progress.total ?? null,
    unit: active?.unit ?? null,
  };
}

export function activePhase(node: ServiceNode): RestorePhase | undefined {
  const ordered = [...node.phases].sort((a, b) => PHASE_ORDER.indexOf(a.phase) - PHASE_ORDER.indexOf(b.phase));
  return ordered.find((p) => !p.completed) ?? ordered.at(-1);
}

/** The restore operation of a node that is restoring now (started at `startedAt`), or null. */
export function nodeRestoreSnapshot(node: ServiceNode, now: string, startedAt: string): OperationSnapshot | null {
  if (!isRestoring(node)) return null;
  const active = activePhase(node);
  const detail: NodeRestoreDetail = { project: node.project, service: node.service, node };
  return {
    id: nodeRestoreId(node.source, node.project, node.service, node.name, startedAt),
    typename: 'NodeRestore',
    source: node.source,
    kind: 'RESTORE',
    status: restoreStatus(node),
    vendorStatus: node.vendorState,
    progress: restoreProgress(node),
    message:
      node.state === 'TIMING_OUT'
        ? 'node is timing out'
        : node.state === 'SYNCING_DATA' && node.phases.length === 0
          ? 'syncing data (no phase progress reported)'
          : active
            ? `phase ${active.vendorPhase}`
            : null,
    startedAt,
    updatedAt: now,
    finishedAt: null,
    detail,
  };
}

/**
 * The final state of a restore that is no longer in progress upstream, decided from what the
 * node looks like now (`node` undefined when it or its service is gone).
 */
export function closeNodeRestore(last: OperationSnapshot, node: ServiceNode | undefined, serviceState: ServiceState | undefined, now: string): OperationSnapshot {
  const lastDetail = last.detail as NodeRestoreDetail;
  const base = { ...last, updatedAt: now, finishedAt: now, progress: { ...last.progress, ratePerSecond: null, estimatedEndAt: null } };
  if (node?.state === 'RUNNING') {
    const phases = lastDetail.node.phases.map((p) => ({ ...p, completed: true, progress: { ...p.progress, percent: 100 } }));
    return {
      ...base,
      status: 'SUCCEEDED',
      vendorStatus: node.vendorState,
      message: 'node is running',
      progress: { ...base.progress, percent: 100, done: base.progress.total ?? base.progress.done },
      detail: { ...lastDetail, node: { ...node, phases } } satisfies NodeRestoreDetail,
    };
  }
  if (last.vendorStatus === 'timing_out') {
    return { ...base, status: 'TIMED_OUT', message: 'node timed out and is no longer reported' };
  }
  if (node?.state === 'LEAVING') {
    return { ...base, status: 'CANCELLED', vendorStatus: node.vendorState, message: 'node is leaving the cluster' };
  }
  const why = serviceState === 'POWEROFF' ? 'service was powered off' : node ? `node is ${node.vendorState}` : 'node is no longer reported by Aiven';
  return { ...base, status: 'CANCELLED', message: `restore ended without completing: ${why}` };
}

export interface ServiceTypeModel {
  name: string;
  description: string | null;
  latestAvailableVersion: string | null;
}

export function mapServiceType(raw: AivenServiceType): ServiceTypeModel {
  return { name: raw.service_type, description: str(raw.description), latestAvailableVersion: str(raw.latest_available_version) };
}

export interface ServicePlanModel {
  name: string;
  serviceType: string | null;
  cloud: string | null;
  diskSpaceMb: number | null;
  nodeCount: number | null;
  priceUsd: string | null;
  clouds: string[];
}

export function mapServicePlan(raw: AivenServicePlan, cloud: string | undefined): ServicePlanModel {
  const regions = raw.regions ?? {};
  const region = cloud ? regions[cloud] : undefined;
  return {
    name: raw.service_plan,
    serviceType: str(raw.service_type),
    cloud: cloud && region ? cloud : null,
    diskSpaceMb: num(region?.disk_space_mb) ?? num(raw.disk_space_mb),
    nodeCount: num(raw.node_count),
    priceUsd: str(region?.price_usd),
    clouds: Object.keys(regions).sort(),
  };
}

function stringRecord(value: unknown): Record<string, string> | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const entries = Object.entries(value).filter((e): e is [string, string | number] => typeof e[1] === 'string' || typeof e[1] === 'number');
  return Object.fromEntries(entries.map(([k, v]) => [k, String(v)]));
}

function clamp(value: number): number {
  return Math.min(100, Math.max(0, value));
}
