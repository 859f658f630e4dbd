import type { AivenSourceConfig } from '../../config.js';
import { GatewayError } from '../../errors.js';
import type { PollerHub, PollSpec } from '../../live/poller.js';
import type { OperationTracker } from '../../live/tracker.js';
import type { DecodedId } from '../../model/ids.js';
import { isFinal, type OperationSnapshot } from '../../model/operation.js';
import { HealthTracker } from '../health.js';
import type { LiveFeed, SourceRuntime } from '../source.js';
import { AivenClient, type AivenService, type CreateServiceBody, type UpdateServiceBody } from './client.js';
import {
  closeNodeRestore,
  isRestoring,
  mapService,
  mapServicePlan,
  mapServiceType,
  nodeRestoreId,
  nodeRestoreSnapshot,
  type Service,
  type ServicePlanModel,
  type ServiceTypeModel,
} from './map.js';

export interface LiveServices {
  poller: PollerHub;
  tracker: OperationTracker;
}

/** What resolvers and live loops call for one configured Aiven source. */
export class AivenSource implements SourceRuntime {
  readonly kind = 'AIVEN' as const;
  readonly name: string;
  readonly health = new HealthTracker();
  readonly client: AivenClient;
  private readonly config: AivenSourceConfig;
  private readonly live: LiveServices;
  private discovered: Promise<string[]> | undefined;
  /** Concurrent list calls for the same project share one upstream request. */
  private readonly listing = new Map<string, Promise<AivenService[]>>();
  /**
   * A listing reaches several consumers (the poller's tracker hook, every serviceUpdated watcher,
   * coalesced queries): it is mapped and reported to the tracker once.
   */
  private readonly observed = new WeakMap<AivenService[], Service[]>();

  constructor(config: AivenSourceConfig, live: LiveServices) {
    this.config = config;
    this.name = config.name;
    this.live = live;
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

  async probe(signal?: AbortSignal): Promise<void> {
    const [first] = await this.projects(signal);
    if (first !== undefined) await this.client.listServices(first, signal);
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

  /** Every service of a project with nodes and phases, in one upstream call; feeds the tracker. */
  async listServices(project: string, signal?: AbortSignal): Promise<Service[]> {
    let pending = this.listing.get(project);
    if (!pending) {
      // Not tied to one caller's signal: others may be waiting on the same request.
      pending = this.client.listServices(project).finally(() => this.listing.delete(project));
      this.listing.set(project, pending);
    }
    const raw = await (signal ? abortable(pending, signal) : pending);
    return this.observeProject(project, raw);
  }

  async getService(project: string, name: string, signal?: AbortSignal): Promise<Service> {
    const service = mapService(this.name, project, await this.client.getService(project, name, signal));
    this.observeService(service);
    return service;
  }

  async createService(project: string, input: CreateServiceBody): Promise<Service> {
    const service = mapService(this.name, project, await this.client.createService(project, input));
    this.observeService(service);
    return service;
  }

  async updateService(project: string, name: string, input: UpdateServiceBody): Promise<Service> {
    const service = mapService(this.name, project, await this.client.updateService(project, name, input));
    this.observeService(service);
    return service;
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
        `Service ${name} has termination protection enabled; disable it with updateService(terminationProtection: false) before deleting`,
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

  /** Projects whose live feed is running are skipped: that loop already keeps the tracker current. */
  async refreshOperations(signal?: AbortSignal): Promise<void> {
    const stale = (await this.projects(signal)).filter((project) => this.live.poller.peek(this.projectFeed(project).key) === undefined);
    await Promise.all(stale.map((project) => this.listServices(project, signal)));
  }

  async feeds(signal?: AbortSignal): Promise<LiveFeed[]> {
    return (await this.projects(signal)).map((project) => this.projectFeed(project));
  }

  feedFor(operation: DecodedId): LiveFeed | undefined {
    const [source, project] = operation.parts;
    if (operation.typename !== 'NodeRestore' || source !== this.name || typeof project !== 'string') return undefined;
    return this.projectFeed(project);
  }

  /**
   * The one live resource per project: the service list carries every service, node and restore
   * phase, so all subscriptions on a project share one upstream call per interval.
   */
  projectFeed(project: string): LiveFeed & { spec: PollSpec<AivenService[]> } {
    const spec: PollSpec<AivenService[]> = {
      key: `aiven:${this.name}:${project}:services`,
      fetch: (signal) => this.client.listServices(project, signal),
      isActive: (services) =>
        services.some((s) => (s.state !== 'RUNNING' && s.state !== 'POWEROFF') || (s.node_states ?? []).some((n) => n.state !== 'running')),
      activeMs: this.config.poll.activeMs,
      idleMs: this.config.poll.idleMs,
      onValue: (services) => this.observeProject(project, services),
    };
    return { key: spec.key, spec, watch: (signal) => this.live.poller.watch(spec, signal) };
  }

  close(): Promise<void> {
    return this.client.close();
  }

  /**
   * Maps a full project listing and reports its restores to the tracker (vanished ones get
   * closed), once per listing object.
   */
  observeProject(project: string, raw: AivenService[]): Service[] {
    const seen = this.observed.get(raw);
    if (seen) return seen;
    const now = new Date().toISOString();
    const services = raw.map((s) => mapService(this.name, project, s));
    this.observed.set(raw, services);
    const snapshots = services.flatMap((service) =>
      service.nodes.flatMap((node) => {
        const snapshot = nodeRestoreSnapshot(node, now);
        return snapshot ? [this.withStart(snapshot, now)] : [];
      }),
    );
    const byName = new Map(services.map((s) => [s.name, s]));
    this.live.tracker.observe(`aiven:${this.name}:${project}`, snapshots, (last) => {
      const detail = last.detail as { service: string; node: { name: string } };
      const service = byName.get(detail.service);
      const node = service?.nodes.find((n) => n.name === detail.node.name);
      return closeNodeRestore(last, node, service?.state, now);
    });
    return services;
  }

  /** Reports the restores of one service seen outside a full listing (a get or a mutation). */
  private observeService(service: Service): void {
    const now = new Date().toISOString();
    for (const node of service.nodes) {
      const snapshot = nodeRestoreSnapshot(node, now);
      if (snapshot) {
        this.live.tracker.observeOne(this.withStart(snapshot, now));
        continue;
      }
      const last = this.live.tracker.current(nodeRestoreId(this.name, service.project, service.name, node.name));
      if (last && !isFinal(last.status) && !isRestoring(node)) {
        this.live.tracker.observeOne(closeNodeRestore(last, node, service.state, now));
      }
    }
  }

  /** Aiven has no restore timestamps: a restore starts when the gateway first sees it. */
  private withStart(snapshot: OperationSnapshot, now: string): OperationSnapshot {
    const previous = this.live.tracker.current(snapshot.id);
    const startedAt = previous && !isFinal(previous.status) ? previous.startedAt : now;
    return { ...snapshot, startedAt };
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export function isAivenSource(source: SourceRuntime): source is AivenSource {
  return source instanceof AivenSource;
}
