import { HttpClient, urlPath, type HttpClientOptions } from '../http.js';

/** Aiven REST API wire types: only what the gateway reads, everything else passes through. */

export interface AivenProgressUpdate {
  phase: string;
  completed: boolean;
  current?: number | null;
  min?: number | null;
  max?: number | null;
  unit?: string | null;
  position?: { backup_incremental: boolean; backup_name: string; chain_index: number; chain_total: number } | null;
}

export interface AivenNodeState {
  /** The live API's field. */
  name?: string;
  /** The seed document's spelling, still accepted. */
  node_name?: string;
  state: string;
  availability_zone?: string;
  role?: string;
  roles?: string | null;
  shard?: { name?: string | null; position?: number | null } | null;
  progress_updates?: AivenProgressUpdate[] | null;
}

export interface AivenService {
  service_name: string;
  service_type: string;
  state: string;
  plan: string;
  cloud_name: string;
  cloud_description?: string | null;
  create_time: string;
  update_time: string;
  service_uri?: string | null;
  termination_protection: boolean;
  user_config?: Record<string, unknown>;
  node_count?: number | null;
  disk_space_mb?: number | null;
  node_cpu_count?: number | null;
  node_memory_mb?: number | null;
  node_states?: AivenNodeState[] | null;
  maintenance?: { dow?: string; time?: string } | null;
  project_vpc_id?: string | null;
  service_type_description?: string | null;
  backups?: AivenBackup[] | null;
  tags?: Record<string, string> | null;
  databases?: string[] | null;
  is_cluster_plan?: boolean | null;
  group_list?: string[] | null;
  [key: string]: unknown;
}

/** BackupOut: one backup of a service (the chain a restore replays). */
export interface AivenBackup {
  backup_name: string;
  backup_time: string;
  data_size: number;
  incremental?: boolean | null;
  storage_location?: string | null;
  cloud?: string;
  region?: string | null;
  paused?: boolean | null;
  pause_reason?: string | null;
  tiered_storage_data_size?: number | null;
}

export interface AivenServiceType {
  service_type: string;
  description?: string;
  latest_available_version?: string;
}

export interface AivenServicePlan {
  service_plan: string;
  service_type?: string;
  node_count?: number;
  disk_space_mb?: number;
  regions?: Record<string, { price_usd?: string; disk_space_mb?: number; node_memory_mb?: number }>;
}

export interface CreateServiceBody {
  service_name: string;
  service_type: string;
  plan: string;
  cloud?: string;
  disk_space_mb?: number;
  termination_protection?: boolean;
  user_config?: Record<string, unknown>;
  project_vpc_id?: string;
}

export interface UpdateServiceBody {
  plan?: string;
  cloud?: string;
  powered?: boolean;
  disk_space_mb?: number;
  termination_protection?: boolean;
  maintenance?: { dow: string; time: string };
  user_config?: Record<string, unknown>;
}

/** Aiven error bodies: `{message, errors}` where `errors` may be objects, strings or one string. */
export function describeAivenError(_status: number, body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { message?: unknown; errors?: unknown };
    if (typeof parsed.message === 'string' && parsed.message) return parsed.message;
    const first = Array.isArray(parsed.errors) ? parsed.errors[0] : parsed.errors;
    if (typeof first === 'string') return first;
    if (first && typeof (first as { message?: unknown }).message === 'string') return (first as { message: string }).message;
  } catch {
    // not JSON: no message to pass on
  }
  return undefined;
}


/** One method per Aiven endpoint the gateway uses. */
export class AivenClient {
  readonly http: HttpClient;

  constructor(options: Omit<HttpClientOptions, 'upstream' | 'describeError' | 'headers'> & { token: string }) {
    const { token, ...rest } = options;
    this.http = new HttpClient({
      ...rest,
      upstream: 'Aiven API',
      headers: { authorization: `aivenv1 ${token}` },
      describeError: describeAivenError,
    });
  }

  async listProjects(signal?: AbortSignal): Promise<string[]> {
    const body = await this.http.json<{ project_names?: string[]; projects?: Array<{ project_name: string }> }>({
      method: 'GET',
      path: '/v1/project',
      signal,
    });
    return body?.project_names ?? body?.projects?.map((p) => p.project_name) ?? [];
  }

  async listServices(project: string, signal?: AbortSignal): Promise<AivenService[]> {
    const body = await this.http.json<{ services?: AivenService[] }>({ method: 'GET', path: urlPath`/v1/project/${project}/service`, signal });
    return body?.services ?? [];
  }

  async getService(project: string, name: string, signal?: AbortSignal): Promise<AivenService> {
    const body = await this.http.json<{ service: AivenService }>({
      method: 'GET',
      path: urlPath`/v1/project/${project}/service/${name}`,
      signal,
    });
    return body.service;
  }

  async createService(project: string, input: CreateServiceBody): Promise<AivenService> {
    const body = await this.http.json<{ service: AivenService }>({ method: 'POST', path: urlPath`/v1/project/${project}/service`, body: input });
    return body.service;
  }

  async updateService(project: string, name: string, input: UpdateServiceBody): Promise<AivenService> {
    const body = await this.http.json<{ service: AivenService }>({
      method: 'PUT',
      path: urlPath`/v1/project/${project}/service/${name}`,
      body: input,
      // A PUT carries the full intended values, so repeating it is harmless.
      idempotent: true,
    });
    return body.service;
  }

  async deleteService(project: string, name: string): Promise<void> {
    await this.http.request({ method: 'DELETE', path: urlPath`/v1/project/${project}/service/${name}` });
  }

  /**
   * Service types: the seed documents `GET /v1/service_types` answering a list; the live API's
   * project-scoped variant answers an object keyed by type. Both shapes are accepted.
   */
  async listServiceTypes(project?: string, signal?: AbortSignal): Promise<AivenServiceType[]> {
    const path = project ? urlPath`/v1/project/${project}/service_types` : '/v1/service_types';
    const body = await this.http.json<{ service_types?: AivenServiceType[] | Record<string, Omit<AivenServiceType, 'service_type'>> }>({
      method: 'GET',
      path,
      signal,
    });
    const types = body?.service_types ?? [];
    return Array.isArray(types) ? types : Object.entries(types).map(([service_type, t]) => ({ ...t, service_type }));
  }

  async listServicePlans(project: string, serviceType: string, cloud?: string, signal?: AbortSignal): Promise<AivenServicePlan[]> {
    const body = await this.http.json<{ service_plans?: AivenServicePlan[] }>({
      method: 'GET',
      path: urlPath`/v1/project/${project}/service_types/${serviceType}/plans`,
      query: { cloud },
      signal,
    });
    return body?.service_plans ?? [];
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
