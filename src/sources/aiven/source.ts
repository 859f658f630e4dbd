import { GatewayError } from '../../errors.js';
import type { DecodedId } from '../../model/ids.js';
import type { OperationSnapshot } from '../../model/operation.js';
import type { SourceServices } from '../kind.js';
import { PolledSource, type Listing, type PolledScope } from '../polled.js';
import type { AivenSourceConfig } from './kind.js';
import { AivenClient, type CreateServiceBody, type UpdateServiceBody } from './client.js';
import {
  closeNodeRestore,
  decodeService,
  isRestoring,
  mapService,
  mapServicePlan,
  mapServiceType,
  nodeRestoreId,
  nodeRestoreSnapshot,
  nodeRunKey,
  type NodeRestoreDetail,
  type Service,
  type ServicePlanModel,
  type ServiceTypeModel,
} from './map.js';

/**
 * One configured Aiven source. Its scope is a project: the service list carries every service,
 * node and restore phase, so every query and subscription on a project shares one call.
 */
export class AivenSource extends PolledSource<Service> {
  readonly client: AivenClient;
  private readonly config: AivenSourceConfig;
  private discovered: Promise<string[]> | undefined;
  private readonly projectScopes = new Map<string, PolledScope<Service>>();

  constructor(config: AivenSourceConfig, services: SourceServices) {
    super({ name: config.name, kind: config.kind, upstream: 'Aiven API', poll: config.poll }, services);
    this.config = config;
    this.client = new AivenClient({
      source: config.name,
      baseUrl: config.baseUrl,
      token: config.token,
      timeouts: config.timeouts,
      health: this.health,
    });
  }

  async version(): Promise<string | null> {
    return null; // Aiven's API does not report a version.
  }

  /** Configured projects, or those the token can see (`GET /v1/project`), discovered once. */
  async projects(signal?: AbortSignal): Promise<string[]> {
    if (this.config.projects?.length) return this.config.projects;
    this.discovered ??= this.client.listProjects(signal).catch((error: unknown) => {
      this.discovered = undefined; // try again on the next call
      throw error;
    });
    return this.discovered;
  }

  async scopes(signal?: AbortSignal): Promise<PolledScope<Service>[]> {
    return (await this.projects(signal)).map((project) => this.projectScope(project));
  }

  /** Every service of a project with nodes and phases, in one (shared) upstream call. */
  listServices(project: string, signal?: AbortSignal): Promise<Listing<Service>> {
    return this.list(this.projectScope(project), signal);
  }

  async getService(project: string, name: string, signal?: AbortSignal): Promise<Service> {
    return this.seen(project, await this.client.getService(project, name, signal));
  }

  async createService(project: string, input: CreateServiceBody): Promise<Service> {
    return this.seen(project, await this.client.createService(project, input));
  }

  async updateService(project: string, name: string, input: UpdateServiceBody): Promise<Service> {
    return this.seen(project, await this.client.updateService(project, name, input));
  }

  /**
   * Aiven refuses to delete a protected service with a 403 that reads like an auth failure; the
   * gateway checks first so that the caller gets a precise FORBIDDEN with the way out.
   */
  async deleteService(project: string, name: string): Promise<void> {
    const current = await this.client.getService(project, name);
    if (current.termination_protection) {
      throw new GatewayError(
        'FORBIDDEN',
        `Service ${name} has termination protection enabled; disable it with updateAivenService(terminationProtection: false) before deleting`,
        { source: this.name },
      );
    }
    await this.client.deleteService(project, name);
  }

  async serviceTypes(project?: string, signal?: AbortSignal): Promise<ServiceTypeModel[]> {
    return (await this.client.listServiceTypes(project, signal)).map(mapServiceType);
  }

  async servicePlans(project: string, serviceType: string, cloud?: string, signal?: AbortSignal): Promise<ServicePlanModel[]> {
    return (await this.client.listServicePlans(project, serviceType, cloud, signal)).map((p) => mapServicePlan(p, cloud));
  }

  /** The live feed of a project (serviceUpdated watches it). */
  projectFeed(project: string) {
    return this.feed(this.projectScope(project));
  }

  /** The restore the gateway knows for a node now: in flight, or the last one it saw end. */
  restoreOf(project: string, service: string, node: string): OperationSnapshot | null {
    const startedAt = this.runStartOf(this.projectScope(project), nodeRunKey(service, node));
    const open = startedAt === undefined ? undefined : this.services.tracker.current(nodeRestoreId(this.name, project, service, node, startedAt));
    return open ?? this.lastRestores.get(JSON.stringify([project, service, node])) ?? null;
  }

  close(): Promise<void> {
    return this.client.close();
  }

  protected scopeFor(operation: DecodedId): PolledScope<Service> | undefined {
    const [, project] = operation.parts;
    return operation.typename === 'NodeRestore' && typeof project === 'string' ? this.projectScope(project) : undefined;
  }

  protected scopeKeyOf(operation: OperationSnapshot): string | undefined {
    return operation.typename === 'NodeRestore' ? projectKey((operation.detail as NodeRestoreDetail).project) : undefined;
  }

  protected override runKeyOf(operation: OperationSnapshot): string | undefined {
    if (operation.typename !== 'NodeRestore') return undefined;
    const detail = operation.detail as NodeRestoreDetail;
    return nodeRunKey(detail.service, detail.node.name);
  }

  /** Last finished restore per node, for ServiceNode.restore once a run has ended. */
  private readonly lastRestores = new Map<string, OperationSnapshot>();

  private projectScope(project: string): PolledScope<Service> {
    let scope = this.projectScopes.get(project);
    if (scope) return scope;
    scope = {
      key: projectKey(project),
      fetch: (signal) => this.client.listServices(project, signal),
      decode: (raw) => mapService(this.name, project, decodeService(raw)),
      operations: (services, { now, runs }) =>
        services.flatMap((service) =>
          service.nodes.flatMap((node) => {
            if (!isRestoring(node)) return [];
            const snapshot = nodeRestoreSnapshot(node, now, runs.start(nodeRunKey(service.name, node.name)));
            return snapshot ? [snapshot] : [];
          }),
        ),
      close: (last, services, now) => {
        const detail = last.detail as NodeRestoreDetail;
        const service = services.find((s) => s.name === detail.service);
        const closed = closeNodeRestore(last, service?.nodes.find((n) => n.name === detail.node.name), service?.state, now);
        this.lastRestores.set(JSON.stringify([project, detail.service, detail.node.name]), closed);
        return closed;
      },
    };
    this.projectScopes.set(project, scope);
    return scope;
  }

  /** A service seen outside a listing: its restores are reported (and closed when they ended). */
  private seen(project: string, raw: unknown): Service {
    const scope = this.projectScope(project);
    const service = this.decodeOne(scope, raw);
    this.observeItems(scope, [service], (op) => (op.detail as NodeRestoreDetail).service === service.name);
    return service;
  }
}

function projectKey(project: string): string {
  return `project:${project}`;
}
