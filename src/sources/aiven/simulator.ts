/**
 * A faithful fake of the Aiven REST API (the subset in docs/upstreams/aiven.md), node:http only.
 *
 * Wire decisions (documented where the real API leaves a choice):
 * - Node lifecycle is a pure function of (node seed, anchor, virtual now): see `nodeStateAt`.
 * - While `syncing_data`, `progress_updates` lists only the phases started so far: earlier ones
 *   `completed: true` with current = max, the active one `completed: false`. Later phases are absent.
 * - Every other node state (running, setting_up_vm, timing_out, leaving) carries
 *   `progress_updates: []` because `avn service get -v` reads the key directly. The quirks
 *   `reportProgress: false` (key absent) and `'empty'` ([]) apply only while syncing_data.
 * - `include_secrets` is accepted and ignored: service_uri / service_uri_params always carry the
 *   (deterministic, fake) password.
 * - update_time bumps on create/update only, not on lifecycle transitions.
 * - PUT changing `plan` or `cloud` replaces the nodes: they restore again (setting_up_vm →
 *   syncing_data prepare/basebackup/stream/finalize → running), as during a real node replacement.
 * - `powered: false` on a termination-protected service is refused with 403, like DELETE.
 * - user_config in PUT merges shallowly; a key set to null is removed.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type {
  AivenBackupSeed,
  AivenNodeSeed,
  AivenPhaseSeed,
  AivenRestorePlan,
  AivenScenario,
  AivenServiceSeed,
  AivenServiceState,
} from './scenarios.js';

import { CLOUDS, type PlanDef, SERVICE_TYPES, generateNodes, nodeCountForPlan, planDef, plansFor } from './sim-catalogue.js';
import { nodeStateAt, replacementPlan } from './sim-lifecycle.js';
import { emptyReply, type HttpFault, jsonReply, readBody, type Reply, type SimulatedHttpOptions, type SimulatedUpstream, startSimulatedHttp, virtualClock } from '../simulated-http.js';

export type * from './scenarios.js';
export { nodeStateAt, type AivenNodeStateAt, type AivenNodeStateName } from './sim-lifecycle.js';
export { nodeCountForPlan } from './sim-catalogue.js';

export interface AivenSimulatorOptions extends SimulatedHttpOptions {
  token: string;
  scenario: AivenScenario;
  /** Addition: setting_up_vm time of nodes of created / powered-on services (default 5000 ms). */
  bringUpMs?: number;
}

export interface AivenSimulator extends SimulatedUpstream<AivenFault> {
  forgetService(project: string, service: string): void;
  /**
   * Rewrites every service view before it is sent (null: stop): for malformed items and states
   * the gateway has never heard of.
   */
  tamper(hook: ((project: string, service: Record<string, unknown>) => Record<string, unknown>) | null): void;
  getService(project: string, service: string): Record<string, unknown> | undefined;
}

/** `drip` always sends a fixed 4 KiB 200, whatever the path: the gateway's body budget is what is tested. */
export type AivenFault = HttpFault;

// ---------------------------------------------------------------------------------------------
// Mutable state

interface NodeRt { seed: AivenNodeSeed; plan: AivenRestorePlan | undefined; anchor: number }
interface ServiceRt {
  project: string;
  service_name: string;
  service_type: string;
  plan: string;
  cloud_name: string;
  baseState: AivenServiceState;
  termination_protection: boolean;
  disk_space_mb: number | undefined;
  user_config: Record<string, unknown>;
  project_vpc_id: string | null;
  create_time: string;
  update_time: number;
  maintenance: { dow: string; time: string };
  backups: AivenBackupSeed[];
  nodes: NodeRt[];
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}
function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly code: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}
export function aivenErrorBody(status: number, message: string, errorCode: string): Record<string, unknown> {
  return { message, errors: [{ error_code: errorCode, message, status }] };
}
function errorReply(status: number, message: string, code: string, headers: Record<string, string> = {}): Reply {
  return jsonReply(status, aivenErrorBody(status, message, code), 'application/json', headers);
}
function bad(message: string, code = 'invalid_request'): HttpError {
  return new HttpError(400, message, code);
}
const NAME_RE = /^[a-z][-a-z0-9]{0,61}[a-z0-9]$/;
const DOWS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday', 'never'];

// ---------------------------------------------------------------------------------------------

export async function startAivenSimulator(opts: AivenSimulatorOptions): Promise<AivenSimulator> {
  const clock = virtualClock(opts);
  const { now } = clock;
  const bringUpMs = opts.bringUpMs ?? 5_000;

  let tamper: ((project: string, service: Record<string, unknown>) => Record<string, unknown>) | null = null;
  const projects = new Map<string, { defaultCloud: string; services: Map<string, ServiceRt> }>();
  for (const [name, seeds] of Object.entries(opts.scenario.projects)) {
    const services = new Map<string, ServiceRt>();
    for (const s of seeds) services.set(s.service_name, fromSeed(name, s));
    const defaultCloud = opts.scenario.projectSettings?.[name]?.default_cloud ?? seeds[0]?.cloud_name ?? 'google-europe-west3';
    projects.set(name, { defaultCloud, services });
  }

  function fromSeed(project: string, s: AivenServiceSeed): ServiceRt {
    const t0 = now();
    return {
      project,
      service_name: s.service_name,
      service_type: s.service_type,
      plan: s.plan,
      cloud_name: s.cloud_name,
      baseState: s.state ?? 'RUNNING',
      termination_protection: s.termination_protection ?? false,
      disk_space_mb: s.disk_space_mb ?? planDef(s.service_type, s.plan)?.disk,
      user_config: { ...(s.user_config ?? {}) },
      project_vpc_id: null,
      create_time: s.create_time ?? iso(t0 - 30 * 86_400_000),
      update_time: t0,
      maintenance: { dow: 'sunday', time: '02:00:00' },
      backups: s.backups ?? [],
      nodes: s.nodes.map((n) => ({ seed: n, plan: n.restore, anchor: t0 })),
    };
  }

  function serviceView(s: ServiceRt): Record<string, unknown> {
    const t = now();
    const powered = s.baseState !== 'POWEROFF';
    const nodeStates = powered
      ? s.nodes.map((n) => {
          const st = nodeStateAt(n.plan, n.anchor, t);
          const o: Record<string, unknown> = {};
          o[n.seed.legacyNodeName ? 'node_name' : 'name'] = n.seed.name;
          o['state'] = st.state;
          if (n.seed.role) o['role'] = n.seed.role;
          if (n.seed.roles !== undefined) o['roles'] = n.seed.roles;
          if (n.seed.availability_zone !== undefined) o['availability_zone'] = n.seed.availability_zone;
          if (n.seed.shard) o['shard'] = { ...n.seed.shard };
          if (st.progress_updates) o['progress_updates'] = st.progress_updates;
          return o;
        })
      : [];
    const state: AivenServiceState = !powered
      ? 'POWEROFF'
      : nodeStates.some((n) => n['state'] !== 'running') ? 'REBUILDING' : s.baseState;
    const h = hash(`${s.project}/${s.service_name}`);
    const host = `${s.service_name}-${s.project}.a.aivencloud.com`;
    const port = 10000 + (h % 20000);
    const password = `AVNS_${h.toString(36)}${hash(s.service_name).toString(36)}`;
    const { uri, params } = connection(s.service_type, host, port, password);
    const def = planDef(s.service_type, s.plan);
    const out: Record<string, unknown> = {
      service_name: s.service_name,
      service_type: s.service_type,
      service_type_description: SERVICE_TYPES[s.service_type]?.description,
      state,
      plan: s.plan,
      cloud_name: s.cloud_name,
      create_time: s.create_time,
      update_time: iso(s.update_time),
      service_uri: uri,
      service_uri_params: params,
      termination_protection: s.termination_protection,
      user_config: { ...s.user_config },
      service_integrations: [],
      group_list: ['default'],
      project_vpc_id: s.project_vpc_id,
      node_count: s.nodes.length,
      disk_space_mb: s.disk_space_mb,
      node_memory_mb: def?.memory,
      node_states: nodeStates,
      maintenance: { ...s.maintenance, updates: [] },
      components: [{ component: s.service_type, host, port, route: 'dynamic', usage: 'primary', ssl: true }],
      backups: s.backups.map((b) => ({ cloud: s.cloud_name, ...b })),
    };
    for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
    return tamper ? tamper(s.project, out) : out;
  }

  function connection(type: string, host: string, port: number, password: string): { uri: string; params: Record<string, string> } {
    const p = { host, port: String(port), user: 'avnadmin', password };
    switch (type) {
      case 'pg':
        return { uri: `postgres://avnadmin:${password}@${host}:${port}/defaultdb?sslmode=require`, params: { ...p, dbname: 'defaultdb', sslmode: 'require' } };
      case 'mysql':
        return { uri: `mysql://avnadmin:${password}@${host}:${port}/defaultdb?ssl-mode=REQUIRED`, params: { ...p, dbname: 'defaultdb', 'ssl-mode': 'REQUIRED' } };
      case 'kafka':
        return { uri: `${host}:${port}`, params: { host, port: String(port) } };
      default:
        return { uri: `https://avnadmin:${password}@${host}:${port}`, params: p };
    }
  }

  function project(name: string): { defaultCloud: string; services: Map<string, ServiceRt> } {
    const p = projects.get(name);
    if (!p) throw new HttpError(404, 'Project does not exist', 'project_not_found');
    return p;
  }
  function service(pName: string, sName: string): ServiceRt {
    const s = project(pName).services.get(sName);
    if (!s) throw new HttpError(404, `Service ${sName} does not exist`, 'service_not_found');
    return s;
  }
  function protectedError(): HttpError {
    return new HttpError(403, 'Service is protected against termination and shutdown. Remove termination protection first.', 'service_termination_protected');
  }
  function checkPlan(type: string, plan: unknown, cloud: string): PlanDef {
    if (typeof plan !== 'string' || plan === '') throw bad('plan is required', 'invalid_plan');
    const def = planDef(type, plan);
    if (!def) throw bad(`Invalid plan ${plan} for service type ${type}`, 'invalid_plan');
    if (!def.clouds.includes(cloud)) throw bad(`Plan ${plan} is not available in cloud ${cloud}`, 'plan_not_available_in_cloud');
    return def;
  }

  function createService(pName: string, body: Record<string, unknown>): ServiceRt {
    const p = project(pName);
    const name = body['service_name'];
    if (typeof name !== 'string' || name.length < 3 || name.length > 63 || !NAME_RE.test(name)) {
      throw bad('Invalid service_name: 3-63 characters, lowercase letters, digits and dashes, starting with a letter', 'invalid_service_name');
    }
    const type = body['service_type'];
    if (typeof type !== 'string' || !SERVICE_TYPES[type]) throw bad(`Invalid service_type ${String(type)}`, 'invalid_service_type');
    const cloud = body['cloud'] ?? p.defaultCloud;
    if (typeof cloud !== 'string' || CLOUDS[cloud] === undefined) throw bad(`Invalid cloud ${String(cloud)}`, 'invalid_cloud');
    const def = checkPlan(type, body['plan'], cloud);
    const disk = body['disk_space_mb'] ?? def.disk;
    if (typeof disk !== 'number' || !Number.isInteger(disk) || disk <= 0) throw bad('Invalid disk_space_mb', 'invalid_disk_space');
    const tp = body['termination_protection'] ?? false;
    if (typeof tp !== 'boolean') throw bad('termination_protection must be a boolean');
    const uc = body['user_config'] ?? {};
    if (typeof uc !== 'object' || uc === null || Array.isArray(uc)) throw bad('user_config must be an object');
    const vpc = body['project_vpc_id'] ?? null;
    if (vpc !== null && typeof vpc !== 'string') throw bad('project_vpc_id must be a string');
    if (p.services.has(name)) throw new HttpError(409, 'Service name is already in use in this project', 'service_name_conflict');
    const t = now();
    const s: ServiceRt = {
      project: pName, service_name: name, service_type: type, plan: def.plan, cloud_name: cloud, baseState: 'RUNNING',
      termination_protection: tp, disk_space_mb: disk, user_config: { ...(uc as Record<string, unknown>) }, project_vpc_id: vpc,
      create_time: iso(t), update_time: t, maintenance: { dow: 'sunday', time: '02:00:00' }, backups: [],
      nodes: generateNodes(name, type, def.plan, cloud).map((seed) => ({ seed, plan: { setupMs: bringUpMs, phases: [] }, anchor: t })),
    };
    p.services.set(name, s);
    return s;
  }

  function updateService(s: ServiceRt, body: Record<string, unknown>): void {
    const t = now();
    const cloud = body['cloud'] ?? s.cloud_name;
    if (typeof cloud !== 'string' || CLOUDS[cloud] === undefined) throw bad(`Invalid cloud ${String(cloud)}`, 'invalid_cloud');
    const plan = body['plan'] ?? s.plan;
    const replace = plan !== s.plan || cloud !== s.cloud_name;
    if (replace) checkPlan(s.service_type, plan, cloud);
    const disk = body['disk_space_mb'];
    if (disk !== undefined) {
      if (typeof disk !== 'number' || !Number.isInteger(disk) || disk <= 0) throw bad('Invalid disk_space_mb', 'invalid_disk_space');
      if (s.disk_space_mb !== undefined && disk < s.disk_space_mb) throw bad('Disk space cannot be decreased', 'disk_space_decrease');
    }
    const tp = body['termination_protection'];
    if (tp !== undefined && typeof tp !== 'boolean') throw bad('termination_protection must be a boolean');
    const powered = body['powered'];
    if (powered !== undefined && typeof powered !== 'boolean') throw bad('powered must be a boolean');
    const m = body['maintenance'];
    if (m !== undefined) {
      if (typeof m !== 'object' || m === null || Array.isArray(m)) throw bad('maintenance must be an object');
      const { dow, time } = m as Record<string, unknown>;
      if (dow !== undefined && (typeof dow !== 'string' || !DOWS.includes(dow))) throw bad('Invalid maintenance dow');
      if (time !== undefined && (typeof time !== 'string' || !/^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/.test(time))) throw bad('Invalid maintenance time');
    }
    const uc = body['user_config'];
    if (uc !== undefined && (typeof uc !== 'object' || uc === null || Array.isArray(uc))) throw bad('user_config must be an object');
    const protect = tp ?? s.termination_protection;
    if (powered === false && s.baseState !== 'POWEROFF' && protect) throw protectedError();

    // all valid: apply
    if (typeof tp === 'boolean') s.termination_protection = tp;
    if (typeof disk === 'number') s.disk_space_mb = disk;
    if (m) {
      const mm = m as Record<string, unknown>;
      if (typeof mm['dow'] === 'string') s.maintenance.dow = mm['dow'];
      if (typeof mm['time'] === 'string') s.maintenance.time = mm['time'];
    }
    if (uc) {
      for (const [k, v] of Object.entries(uc as Record<string, unknown>)) {
        if (v === null) delete s.user_config[k];
        else s.user_config[k] = v;
      }
    }
    if (replace && typeof plan === 'string') {
      s.plan = plan;
      s.cloud_name = cloud;
      s.nodes = generateNodes(s.service_name, s.service_type, plan, cloud).map((seed) => ({
        seed, plan: replacementPlan(bringUpMs, s.disk_space_mb ?? 81920), anchor: t,
      }));
    }
    if (powered === false) s.baseState = 'POWEROFF';
    else if (powered === true && s.baseState === 'POWEROFF') {
      s.baseState = 'RUNNING';
      const seeds = s.nodes.length > 0 ? s.nodes.map((n) => n.seed) : generateNodes(s.service_name, s.service_type, s.plan, s.cloud_name);
      s.nodes = seeds.map((seed) => ({ seed, plan: { setupMs: bringUpMs, phases: [] }, anchor: t }));
    }
    s.update_time = t;
  }

  function plansView(type: string, cloud: string | null): Record<string, unknown> {
    if (!SERVICE_TYPES[type]) throw new HttpError(404, `Service type ${type} does not exist`, 'service_type_not_found');
    const plans = plansFor(type)
      .filter((p) => cloud === null || p.clouds.includes(cloud))
      .map((p) => ({
        service_plan: p.plan,
        service_type: type,
        node_count: nodeCountForPlan(p.plan),
        disk_space_mb: p.disk,
        regions: Object.fromEntries(
          p.clouds.filter((c) => cloud === null || c === cloud).map((c) => [
            c, { price_usd: (p.price * (CLOUDS[c] ?? 1)).toFixed(4), disk_space_mb: p.disk, node_memory_mb: p.memory },
          ]),
        ),
      }));
    return { service_plans: plans };
  }

  // --- routing --------------------------------------------------------------------------------
  type Handler = (m: string[], q: URLSearchParams, body: Record<string, unknown>) => { status?: number; body?: unknown; empty?: boolean };
  const routes: Array<{ re: RegExp; methods: Record<string, Handler> }> = [
    { re: /^\/v1\/project$/, methods: {
      GET: () => {
        const names = [...projects.keys()];
        return { body: { project_names: names, projects: names.map((n) => ({ project_name: n, default_cloud: projects.get(n)?.defaultCloud })) } };
      },
    } },
    { re: /^\/v1\/project\/([^/]+)\/service$/, methods: {
      GET: (m) => ({ body: { services: [...project(m[0]!).services.values()].map(serviceView) } }),
      POST: (m, _q, b) => ({ body: { service: serviceView(createService(m[0]!, b)) } }),
    } },
    { re: /^\/v1\/project\/([^/]+)\/service\/([^/]+)$/, methods: {
      GET: (m) => ({ body: { service: serviceView(service(m[0]!, m[1]!)) } }),
      PUT: (m, _q, b) => {
        const s = service(m[0]!, m[1]!);
        updateService(s, b);
        return { body: { service: serviceView(s) } };
      },
      DELETE: (m) => {
        const s = service(m[0]!, m[1]!);
        if (s.termination_protection) throw protectedError();
        project(m[0]!).services.delete(s.service_name);
        return { empty: true };
      },
    } },
    { re: /^\/v1\/service_types$/, methods: {
      GET: () => ({ body: { service_types: Object.entries(SERVICE_TYPES).map(([k, v]) => ({ service_type: k, ...v })) } }),
    } },
    { re: /^\/v1\/project\/([^/]+)\/service_types$/, methods: {
      GET: (m) => {
        project(m[0]!);
        return { body: { service_types: Object.fromEntries(Object.entries(SERVICE_TYPES).map(([k, v]) => [k, { ...v }])) } };
      },
    } },
    { re: /^\/v1\/project\/([^/]+)\/service_types\/([^/]+)\/plans$/, methods: {
      GET: (m, q) => {
        project(m[0]!);
        return { body: plansView(m[1]!, q.get('cloud')) };
      },
    } },
  ];

  async function respond(req: IncomingMessage, url: URL): Promise<Reply> {
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname;
    try {
      if (req.headers.authorization !== `aivenv1 ${opts.token}`) throw new HttpError(403, 'Invalid token', 'authentication_failed');
      const norm = path.length > 1 ? path.replace(/\/$/, '') : path;
      let route: (typeof routes)[number] | undefined;
      let match: RegExpExecArray | null = null;
      for (const r of routes) {
        match = r.re.exec(norm);
        if (match) { route = r; break; }
      }
      if (!route || !match) throw new HttpError(404, 'Not found', 'not_found');
      const handler = route.methods[method];
      if (!handler) throw new HttpError(405, 'Method not allowed', 'method_not_allowed', { allow: Object.keys(route.methods).join(', ') });
      let params: string[];
      try {
        params = match.slice(1).map((x) => decodeURIComponent(x ?? ''));
      } catch {
        throw new HttpError(404, 'Not found', 'not_found');
      }
      let body: Record<string, unknown> = {};
      if (method === 'POST' || method === 'PUT') {
        const text = await readBody(req, () => new HttpError(413, 'Request body too large', 'request_too_large'));
        if (text.trim() !== '') {
          let parsed: unknown;
          try { parsed = JSON.parse(text); } catch { throw bad('Request body is not valid JSON', 'invalid_json'); }
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('Request body must be a JSON object', 'invalid_json');
          body = parsed as Record<string, unknown>;
        }
      }
      const out = handler(params, url.searchParams, body);
      return out.empty ? emptyReply(out.status ?? 200) : jsonReply(out.status ?? 200, out.body ?? {});
    } catch (err) {
      if (err instanceof HttpError) return errorReply(err.status, err.message, err.code, err.headers);
      return errorReply(500, 'Internal Server Error', 'internal_server_error');
    }
  }

  const http = await startSimulatedHttp({
    host: opts.host,
    port: opts.port,
    clock,
    respond,
    malformedJson: '{"services":[{"service_name":"pg-',
    statusReply(f) {
      const reason = STATUS_CODES[f.status] ?? 'Error';
      const code = reason.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
      return jsonReply(f.status, f.body ?? aivenErrorBody(f.status, reason, code));
    },
    dripReply: () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"services":[]}'.padEnd(4_096, ' ') }),
  });

  return {
    ...http,
    forgetService(p, s) { projects.get(p)?.services.delete(s); },
    tamper(hook) { tamper = hook; },
    getService(p, s) {
      const rt = projects.get(p)?.services.get(s);
      return rt ? serviceView(rt) : undefined;
    },
  };
}
