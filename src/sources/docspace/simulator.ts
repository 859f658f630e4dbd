/**
 * A faithful fake of an ONLYOFFICE DocSpace portal's backup API (docs/upstreams/docspace.md),
 * node:http only. One simulator is one portal (one tenant).
 *
 * State advances lazily: every request (and every inspection) first settles what happened up to the
 * virtual now — task ends, timeline starts — so no timer runs except for 'hang' and 'drip' faults.
 *
 * Wire decisions where the vendor leaves a choice (also in the doc):
 * - Missing or wrong credentials: 401 with an empty body (the authentication challenge).
 * - While a restore or transfer runs, every path but the tenant status filter's allow-list answers
 *   403 with an empty body, before authentication.
 * - `cancelbackup` dequeues the backup task: progress then has no `response`.
 * - `startbackup` while a backup runs answers the running task; `startrestore` while a backup runs
 *   is refused with 400.
 * - A completed restore or transfer reports the new tenant id and the portal address as `link`.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { emptyReply as empty, type HttpFault, jsonReply, readBody, type Reply, type RequestRecord, type SimulatedHttpOptions, type SimulatedUpstream, startSimulatedHttp, virtualClock } from '../simulated-http.js';
import { QUOTA_ERROR, type DocSpaceScenario, type DocSpaceScheduleSeed, type DocSpaceTaskKindName, type DocSpaceTimelineStep } from './scenarios.js';

export type * from './scenarios.js';

export interface DocSpaceSimulatorOptions extends SimulatedHttpOptions {
  scenario: DocSpaceScenario;
}

/** A status fault without a body answers the portal's error envelope (401 and 403: an empty body). */
export type DocSpaceFault = HttpFault;

export interface DocSpaceTaskView {
  kind: DocSpaceTaskKindName;
  wire: Record<string, unknown>;
}

export interface DocSpaceSimulator extends SimulatedUpstream<DocSpaceFault, RequestRecord & { authorization: string | undefined }> {
  /** The next task of this kind fails at `atPercent` with `error` (default: the storage quota message). */
  failNextTask(kind: DocSpaceTaskKindName, options?: { atPercent?: number; error?: string }): void;
  /** While on, `startbackup` is refused with 402 (TenantQuotaException). */
  setStorageQuotaExceeded(on: boolean): void;
  /** Rewrites every task progress the portal answers from now on (undefined: stop); for unknown-value tests. */
  tamperProgress(rewrite: ((wire: Record<string, unknown>) => Record<string, unknown>) | undefined): void;
  /** Starts a portal transfer (there is no API endpoint for it). */
  startTransfer(durationMs?: number): void;
  tenantId(): number;
  tenantStatus(): 'Active' | 'Restoring' | 'Transfering';
  backupTask(): DocSpaceTaskView | null;
  restoreTask(): DocSpaceTaskView | null;
}

const KIND_INDEX: Record<DocSpaceTaskKindName, number> = { backup: 0, restore: 1, transfer: 2 };
const STORAGE_TYPES = ['documents', 'thridpartydocuments', 'customcloud', 'local', 'datastore', 'thirdpartyconsumer'];
const PERIODS = ['everyday', 'everyweek', 'everymonth'];
/** Paths the tenant status filter lets through while the portal restores (suffix match). */
const OPEN_WHILE_RESTORING = ['preparation-portal', 'getrestoreprogress', 'settings', 'settings.json', 'colortheme.json', 'logos.json', 'build.json', '@self.json'];
const DAY = 86_400_000;
const BACKUP = '/api/2.0/backup/';

interface SimTask {
  taskId: string;
  kind: DocSpaceTaskKindName;
  tenantId: number;
  startedAt: number;
  durationMs: number;
  failAtPercent: number | undefined;
  error: string;
  warning: string | undefined;
  dump: boolean;
  storageType: number;
  settled: boolean;
  link: string | undefined;
  newTenantId: number | undefined;
}

interface HistoryEntry { id: string; fileName: string; storageType: number; createdOn: number; expiresOn: number; dump: boolean }
interface Schedule extends DocSpaceScheduleSeed { lastBackupTime: number }

/** An error the portal answers with its error envelope (stack, type and hresult included, as .NET does). */
class PortalError extends Error {
  constructor(readonly status: number, message: string, readonly type: string, readonly hresult: number) {
    super(message);
  }
}
const argumentError = (message: string) => new PortalError(400, message, 'System.ArgumentException', -2147024809);
const notFound = (message: string) => new PortalError(404, message, 'ASC.Common.Web.ItemNotFoundException', -2146233088);

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function stackFor(type: string): string {
  return [
    `${type}: see message`,
    '   at ASC.Data.Backup.Services.BackupService.StartBackupAsync(BackupStorageType storageType, Dictionary`2 storageParams) in /app/common/services/ASC.Data.Backup/Services/BackupService.cs:line 118',
    '   at ASC.Data.Backup.Controllers.BackupController.StartBackupAsync(BackupDto inDto) in /app/common/services/ASC.Data.Backup/Api/BackupController.cs:line 141',
  ].join('\n');
}

export async function startDocSpaceSimulator(opts: DocSpaceSimulatorOptions): Promise<DocSpaceSimulator> {
  const scenario = opts.scenario;
  const clock = virtualClock(opts);
  const { now, startAt } = clock;

  let url = '';
  let tenantId = scenario.tenantId;
  let counter = 0;
  const newId = (): string => {
    counter += 1;
    return `${randomBytes(4).toString('hex')}-${(counter % 0x10000).toString(16).padStart(4, '0')}-4000-8000-${randomBytes(6).toString('hex')}`;
  };
  const tokens = new Set<string>();
  let quotaExceeded = false;
  const pendingFailures = new Map<DocSpaceTaskKindName, { atPercent: number; error: string }>();
  let backupTask: SimTask | null = null;
  let restoreTask: SimTask | null = null;
  const history: HistoryEntry[] = scenario.history.map((h) => ({
    id: h.id,
    fileName: h.fileName,
    storageType: h.storageType,
    createdOn: startAt + h.createdOffsetMs,
    expiresOn: startAt + h.createdOffsetMs + (h.keepMs ?? 30 * DAY),
    dump: h.dump ?? false,
  }));
  let schedule: Schedule | null = scenario.schedule ? { ...scenario.schedule, lastBackupTime: history.at(-1)?.createdOn ?? startAt } : null;
  const createdMs = scenario.createdMs ?? 500;
  const timelineOrigin = startAt - (scenario.timeline?.offsetMs ?? 0);
  let nextStep = 0;

  // --- tasks -------------------------------------------------------------------------------------

  function startTask(kind: DocSpaceTaskKindName, at: number, fields: Partial<DocSpaceTimelineStep> & { storageType?: number } = {}): SimTask {
    const failure = pendingFailures.get(kind);
    pendingFailures.delete(kind);
    const defaultMs = kind === 'backup' ? scenario.durations.backupMs : kind === 'restore' ? scenario.durations.restoreMs : scenario.durations.transferMs;
    const task: SimTask = {
      taskId: newId(),
      kind,
      tenantId,
      startedAt: at,
      durationMs: Math.max(1, fields.durationMs ?? defaultMs),
      failAtPercent: failure?.atPercent ?? fields.failAtPercent,
      error: failure?.error ?? fields.error ?? QUOTA_ERROR,
      warning: fields.warning,
      dump: fields.dump ?? false,
      storageType: fields.storageType ?? 0,
      settled: false,
      link: undefined,
      newTenantId: undefined,
    };
    if (kind === 'backup') backupTask = task;
    else restoreTask = task;
    return task;
  }

  /** When the task stops by itself: its failure point or its end. */
  function endOf(task: SimTask): number {
    const fraction = task.failAtPercent === undefined ? 1 : Math.min(1, task.failAtPercent / 100);
    return task.startedAt + task.durationMs * fraction;
  }
  const failed = (task: SimTask): boolean => task.failAtPercent !== undefined;

  function finish(task: SimTask): void {
    task.settled = true;
    if (failed(task)) return;
    const at = endOf(task);
    if (task.kind === 'backup') {
      const fileName = `${task.dump ? 'dump' : 'backup'}_${iso(at).slice(0, 19).replace(/:/g, '-')}.tar.gz`;
      const id = newId();
      history.push({ id, fileName, storageType: task.storageType, createdOn: at, expiresOn: at + 30 * DAY, dump: task.dump });
      task.link = `${url}/storage/backup/${fileName}`;
      if (schedule) schedule.lastBackupTime = at;
      return;
    }
    task.link = `${url}/`;
    if (scenario.restoreChangesTenant !== false) {
      tenantId += 1;
      task.newTenantId = tenantId;
      // Progress is kept per tenant: the old tenant's backup task is no longer reported.
      backupTask = null;
    }
  }

  function stepAt(index: number): { at: number; step: DocSpaceTimelineStep } | undefined {
    const timeline = scenario.timeline;
    if (!timeline || timeline.steps.length === 0) return undefined;
    const step = timeline.steps[index % timeline.steps.length]!;
    return { at: timelineOrigin + Math.floor(index / timeline.steps.length) * timeline.periodMs + step.atMs, step };
  }

  function runStep(at: number, step: DocSpaceTimelineStep): void {
    if (restoring(at)) return;
    if (step.kind === 'backup') {
      if (backupTask && !backupTask.settled) return;
      startTask('backup', at, step);
    } else {
      if (backupTask && !backupTask.settled) return;
      startTask(step.kind, at, step);
    }
  }

  /** Applies every event up to the virtual now, in time order. */
  function settle(): void {
    const t = now();
    for (;;) {
      const events: Array<{ at: number; apply: () => void }> = [];
      for (const task of [backupTask, restoreTask]) if (task && !task.settled) events.push({ at: endOf(task), apply: () => finish(task) });
      const next = stepAt(nextStep);
      if (next) events.push({ at: next.at, apply: () => { nextStep += 1; runStep(next.at, next.step); } });
      events.sort((a, b) => a.at - b.at);
      const first = events[0];
      if (!first || first.at > t) return;
      first.apply();
    }
  }

  function restoring(t: number): boolean {
    return restoreTask !== null && !restoreTask.settled && restoreTask.startedAt <= t;
  }

  let tamper: ((wire: Record<string, unknown>) => Record<string, unknown>) | undefined;

  function progressWire(task: SimTask, t: number): Record<string, unknown> {
    const wire = trueProgressWire(task, t);
    return tamper ? tamper(wire) : wire;
  }

  function trueProgressWire(task: SimTask, t: number): Record<string, unknown> {
    const elapsed = Math.max(0, t - task.startedAt);
    let isCompleted = false;
    let progress = 0;
    let status = 0;
    let error = '';
    if (task.settled && failed(task)) {
      [isCompleted, progress, status, error] = [true, Math.floor(task.failAtPercent ?? 0), 4, task.error];
    } else if (task.settled) {
      [isCompleted, progress, status] = [true, 100, 2];
    } else if (elapsed >= Math.min(createdMs, task.durationMs / 10)) {
      [progress, status] = [Math.min(99, Math.floor((elapsed / task.durationMs) * 100)), 1];
    }
    const wire: Record<string, unknown> = { isCompleted, progress, error };
    // Null properties are omitted on the wire (WhenWritingNull).
    if (task.kind === 'backup' && task.warning && progress >= 50) wire['warning'] = task.warning;
    if (task.link) wire['link'] = task.link;
    wire['tenantId'] = task.newTenantId ?? task.tenantId;
    wire['backupProgressEnum'] = KIND_INDEX[task.kind];
    wire['status'] = status;
    wire['taskId'] = task.taskId;
    return wire;
  }

  // --- request parsing ---------------------------------------------------------------------------

  function dumpParam(query: URLSearchParams): boolean | undefined {
    const raw = query.get('Dump') ?? query.get('dump');
    if (raw === null || raw === '') return undefined;
    if (raw.toLowerCase() === 'true') return true;
    if (raw.toLowerCase() === 'false') return false;
    throw argumentError(`The value '${raw}' is not valid for Dump.`);
  }

  function enumIndex(raw: unknown, names: string[], field: string): number {
    if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 && raw < names.length) return raw;
    if (typeof raw === 'string') {
      const index = names.indexOf(raw.toLowerCase());
      if (index >= 0) return index;
      if (/^\d+$/.test(raw) && Number(raw) < names.length) return Number(raw);
    }
    throw argumentError(`The JSON value could not be converted to ${field}.`);
  }

  function storageType(body: Record<string, unknown>): number {
    return body['storageType'] === undefined || body['storageType'] === null ? 0 : enumIndex(body['storageType'], STORAGE_TYPES, 'BackupStorageType');
  }

  function storageParams(body: Record<string, unknown>): Record<string, string | null> {
    const raw = body['storageParams'];
    if (raw === undefined || raw === null) return {};
    if (!Array.isArray(raw)) throw argumentError('storageParams must be a list of key/value pairs');
    const out: Record<string, string | null> = {};
    for (const item of raw as Array<Record<string, unknown>>) {
      if (typeof item?.['key'] !== 'string') throw argumentError('storageParams entries need a key');
      out[item['key']] = item['value'] === null || item['value'] === undefined ? null : String(item['value']);
    }
    return out;
  }

  function bool(body: Record<string, unknown>, key: string): boolean {
    const value = body[key];
    if (value === undefined || value === null) return false;
    if (typeof value !== 'boolean') throw argumentError(`The JSON value could not be converted to System.Boolean. Path: $.${key}`);
    return value;
  }

  function date(query: URLSearchParams, key: string): number | undefined {
    const raw = query.get(key);
    if (raw === null || raw === '') return undefined;
    const ms = Date.parse(raw);
    if (Number.isNaN(ms)) throw argumentError(`The value '${raw}' is not valid for ${key}.`);
    return ms;
  }

  // --- endpoints ---------------------------------------------------------------------------------

  type Handler = (ctx: { t: number; query: URLSearchParams; body: Record<string, unknown>; param: string | undefined }) => unknown;
  const authenticated: Record<string, Handler> = {
    'POST startbackup': ({ t, body }) => {
      const dump = bool(body, 'dump');
      const type = storageType(body);
      storageParams(body);
      if (quotaExceeded) throw new PortalError(402, 'The used storage quota is exceeded', 'ASC.Core.Tenants.TenantQuotaException', -2146233088);
      if (dump && scenario.dumpSupported === false) throw argumentError('backup can`t start as dump');
      if (backupTask && !backupTask.settled) return progressWire(backupTask, t);
      return progressWire(startTask('backup', t, { dump, storageType: type }), t);
    },
    'POST cancelbackup': () => {
      backupTask = null;
      return true;
    },
    'GET getbackupprogress': ({ t, query }) => {
      const dump = dumpParam(query) ?? false;
      return backupTask && backupTask.dump === dump ? progressWire(backupTask, t) : null;
    },
    'GET getbackuphistory': ({ query }) => {
      const dump = dumpParam(query) ?? false;
      return history
        .filter((h) => h.dump === dump)
        .map((h) => ({ id: h.id, fileName: h.fileName, storageType: h.storageType, createdOn: iso(h.createdOn), expiresOn: iso(h.expiresOn) }));
    },
    'DELETE deletebackup': ({ param }) => {
      if (!param || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(param)) throw argumentError(`The value '${param ?? ''}' is not valid for id.`);
      const index = history.findIndex((h) => h.id.toLowerCase() === param.toLowerCase());
      if (index < 0) throw notFound('The backup was not found');
      history.splice(index, 1);
      return true;
    },
    'DELETE deletebackuphistory': ({ query }) => {
      const dump = dumpParam(query) ?? false;
      for (let i = history.length - 1; i >= 0; i--) if (history[i]!.dump === dump) history.splice(i, 1);
      return true;
    },
    'POST startrestore': ({ t, body }) => {
      const backupId = body['backupId'];
      if (typeof backupId !== 'string' || backupId === '') throw argumentError('Value cannot be null. (Parameter \'backupId\')');
      const params = storageParams(body);
      const dump = bool(body, 'dump');
      bool(body, 'notify');
      const type = storageType(body);
      if (!history.some((h) => h.id.toLowerCase() === backupId.toLowerCase()) && !params['filePath']) throw notFound('The backup file was not found');
      if (backupTask && !backupTask.settled) throw argumentError('A backup is in progress: the portal cannot be restored now');
      return progressWire(startTask('restore', t, { dump, storageType: type }), t);
    },
    'GET getbackupschedule': ({ query }) => {
      const dump = dumpParam(query) ?? false;
      if (!schedule || schedule.dump !== dump) return null;
      return {
        storageType: schedule.storageType,
        storageParams: schedule.storageParams,
        cronParams: schedule.cronParams,
        backupsStored: schedule.backupsStored,
        lastBackupTime: iso(schedule.lastBackupTime),
        dump: schedule.dump,
      };
    },
    'POST createbackupschedule': ({ t, body }) => {
      const backupsStored = body['backupsStored'] ?? null;
      if (backupsStored !== null && (typeof backupsStored !== 'number' || !Number.isInteger(backupsStored) || backupsStored < 1 || backupsStored > 30)) {
        throw argumentError('backupsStored must be between 1 and 30');
      }
      const cron = body['cronParams'];
      if (typeof cron !== 'object' || cron === null) throw argumentError('Value cannot be null. (Parameter \'cronParams\')');
      const { period: rawPeriod, hour, day } = cron as Record<string, unknown>;
      const period = enumIndex(rawPeriod ?? 0, PERIODS, 'BackupPeriod');
      if (typeof hour !== 'number' || !Number.isInteger(hour) || hour < 0 || hour > 23) throw argumentError('hour must be between 0 and 23');
      const dayMax = period === 1 ? 7 : 31;
      if (period !== 0 && (typeof day !== 'number' || !Number.isInteger(day) || day < (period === 1 ? 0 : 1) || day > dayMax)) {
        throw argumentError('day is out of range for the period');
      }
      schedule = {
        storageType: storageType(body),
        storageParams: storageParams(body),
        cronParams: { period, hour, day: period === 0 ? null : (day as number) },
        backupsStored: backupsStored as number | null,
        dump: bool(body, 'dump'),
        lastBackupTime: schedule?.lastBackupTime ?? t,
      };
      return true;
    },
    'DELETE deletebackupschedule': ({ query }) => {
      const dump = dumpParam(query) ?? false;
      if (schedule?.dump === dump) schedule = null;
      return true;
    },
    'GET getbackupscount': ({ query }) => {
      const from = date(query, 'from') ?? -Infinity;
      const to = date(query, 'to') ?? Infinity;
      return history.filter((h) => h.createdOn >= from && h.createdOn <= to).length;
    },
    'GET getservicestate': () => ({ enabled: scenario.serviceEnabled ?? true }),
  };

  const anonymous: Record<string, Handler> = {
    'GET /api/2.0/backup/getrestoreprogress': ({ t, query }) => {
      const dump = dumpParam(query);
      return restoreTask && (dump === undefined || restoreTask.dump === dump) ? progressWire(restoreTask, t) : null;
    },
    'POST /api/2.0/authentication': ({ t, body }) => {
      const user = scenario.users.find((u) => u.userName === body['userName'] && u.password === body['password']);
      if (!user) throw new PortalError(401, 'User authentication failed', 'System.Security.Authentication.AuthenticationException', -2146233087);
      const token = randomBytes(24).toString('base64url');
      tokens.add(token);
      return { token, expires: iso(t + 30 * DAY), sms: false, tfa: false };
    },
  };

  function authorised(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    const cookie = /(?:^|;\s*)asc_auth_key=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    if (/^bearer /i.test(header)) return scenario.apiKeys.includes(header.slice(7).trim());
    if (/^basic /i.test(header)) {
      const [user, ...rest] = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8').split(':');
      return scenario.users.some((u) => u.userName === user && u.password === rest.join(':'));
    }
    // Anything else goes to the cookie handler: the cookie, or the raw header value as a token.
    const token = cookie ?? header;
    return token !== '' && tokens.has(token);
  }

  // --- HTTP --------------------------------------------------------------------------------------

  function envelope(status: number, response: unknown, path: string, method: string): Reply {
    const body: Record<string, unknown> = {};
    if (response !== null && response !== undefined) body['response'] = response;
    body['count'] = response === null || response === undefined ? 0 : Array.isArray(response) ? response.length : 1;
    body['links'] = [{ href: `${url}${path}`, action: method }];
    body['status'] = 0;
    body['statusCode'] = status;
    return json(status, body);
  }

  function errorReply(error: PortalError): Reply {
    return json(error.status, {
      error: { message: error.message, type: error.type, stack: stackFor(error.type), hresult: error.hresult },
      status: 1,
      statusCode: error.status,
    });
  }

  const json = (status: number, body: unknown): Reply => jsonReply(status, body, 'application/json; charset=utf-8');

  async function respond(req: IncomingMessage, url: URL): Promise<Reply> {
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname;
    const query = url.searchParams;
    settle();
    const t = now();
    if (restoring(t) && !OPEN_WHILE_RESTORING.some((suffix) => path.endsWith(suffix))) return empty(403);
    const text = method === 'POST' ? await readBody(req, () => new Error('request body too large')) : '';
    let body: Record<string, unknown> = {};
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return errorReply(argumentError('The request body is not valid JSON.'));
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return errorReply(argumentError('The request body must be a JSON object.'));
    }
    try {
      const open = anonymous[`${method} ${path}`];
      if (open) return envelope(200, open({ t, query, body, param: undefined }), path, method);
      if (!path.startsWith(BACKUP)) return empty(404);
      const [name, param, extra] = path.slice(BACKUP.length).split('/');
      const handler = authenticated[`${method} ${name}`];
      const takesParam = name === 'deletebackup';
      if (!handler || extra !== undefined || (param !== undefined && !takesParam)) {
        return Object.keys(authenticated).some((k) => k.endsWith(` ${name}`)) && extra === undefined ? empty(405) : empty(404);
      }
      if (!authorised(req)) return empty(401);
      return envelope(200, handler({ t, query, body, param: param === undefined ? undefined : decodeURIComponent(param) }), path, method);
    } catch (error) {
      if (error instanceof PortalError) return errorReply(error);
      return errorReply(new PortalError(500, 'Internal server error', 'System.Exception', -2146233088));
    }
  }

  const http = await startSimulatedHttp({
    host: opts.host,
    port: opts.port,
    clock,
    respond,
    malformedJson: '{"response":{"isCompleted":fal',
    statusReply(fault) {
      // 401 and 403 come from the authentication layer, which writes no body.
      if (fault.body === undefined && (fault.status === 401 || fault.status === 403)) return empty(fault.status);
      return json(fault.status, fault.body ?? {
        error: { message: 'Internal server error', type: 'System.Exception', stack: stackFor('System.Exception'), hresult: -2146233088 },
        status: 1,
        statusCode: fault.status,
      });
    },
    record: (req) => ({ authorization: req.headers.authorization }),
  });
  url = http.url;
  settle();

  const view = (task: SimTask | null): DocSpaceTaskView | null => (task ? { kind: task.kind, wire: progressWire(task, now()) } : null);

  return {
    ...http,
    failNextTask(kind, o = {}) {
      pendingFailures.set(kind, { atPercent: o.atPercent ?? 40, error: o.error ?? QUOTA_ERROR });
    },
    setStorageQuotaExceeded(on) {
      quotaExceeded = on;
    },
    tamperProgress(rewrite) {
      tamper = rewrite;
    },
    startTransfer(durationMs) {
      settle();
      startTask('transfer', now(), durationMs === undefined ? {} : { durationMs });
    },
    tenantId() {
      settle();
      return tenantId;
    },
    tenantStatus() {
      settle();
      return restoring(now()) ? (restoreTask?.kind === 'transfer' ? 'Transfering' : 'Restoring') : 'Active';
    },
    backupTask() {
      settle();
      return view(backupTask);
    },
    restoreTask() {
      settle();
      return view(restoreTask);
    },
  };
}
