import { GatewayError } from '../../errors.js';
import { HttpClient, urlPath, type HttpClientOptions, type HttpRequest } from '../http.js';
import { redact } from '../redact.js';

/**
 * ONLYOFFICE DocSpace backup API (docs/upstreams/docspace.md): one method per endpoint under
 * `/api/2.0/backup/`. Methods unwrap the `{response, count, links, status, statusCode}` envelope and
 * return the raw `response` (null when the portal omits it: no task, no schedule); map.ts decodes it.
 */

/** `Authorization: Bearer <token>` (API keys `sk-…`, JWTs) or `Authorization: <token>` (a token from `POST /api/2.0/authentication`). */
export type DocSpaceTokenScheme = 'bearer' | 'raw';

export interface DocSpaceClientOptions extends Omit<HttpClientOptions, 'upstream' | 'describeError' | 'classifyStatus' | 'headers'> {
  /** Already resolved from the environment. */
  token: string;
  tokenScheme?: DocSpaceTokenScheme;
}

/** Storage parameters as the gateway takes them (a map) or as the wire carries them (key/value list). */
export type DocSpaceStorageParams = Record<string, string> | ReadonlyArray<{ key: string; value: unknown }>;

/** The wire takes `storageType` as an integer or as its enum name ("Documents", "Local", …). */
export type DocSpaceStorageTypeInput = number | string;

export interface StartBackupInput {
  storageType?: DocSpaceStorageTypeInput;
  storageParams?: DocSpaceStorageParams;
  dump?: boolean;
}

export interface StartRestoreInput {
  backupId: string;
  storageType?: DocSpaceStorageTypeInput;
  storageParams?: DocSpaceStorageParams;
  notify?: boolean;
  dump?: boolean;
}

export interface BackupScheduleInput {
  storageType?: DocSpaceStorageTypeInput;
  storageParams?: DocSpaceStorageParams;
  /** 1–30. */
  backupsStored?: number;
  /** period: 0 EveryDay | 1 EveryWeek | 2 EveryMonth (or the name); hour 0–23; day of week / month. */
  cronParams: { period: number | string; hour: number; day?: number | null };
  dump?: boolean;
}

export interface DumpOption {
  /** Sent as `Dump=` only when given. */
  dump?: boolean | undefined;
}

/** The success and error envelopes as the wire carries them. */
export interface DocSpaceEnvelope {
  response?: unknown;
  count?: number;
  total?: number;
  links?: Array<{ href?: string; action?: string }>;
  /** 0 success, 1 error (not an HTTP status, whatever the spec text says). */
  status?: number;
  statusCode?: number;
  error?: { message?: unknown; type?: unknown; stack?: unknown; hresult?: unknown } | null;
}

const UPSTREAM = 'DocSpace API';

/**
 * Pulls only `error.message` out of a DocSpace error envelope: `stack`, `type` and `hresult` hold
 * server internals and must never reach a client or a log line.
 */
export function describeDocSpaceError(_status: number, body: string): string | undefined {
  if (body.trim() === '') return undefined;
  try {
    const parsed = JSON.parse(body) as DocSpaceEnvelope;
    const message = parsed?.error?.message;
    return typeof message === 'string' && message.trim() !== '' ? firstLine(message) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A 403 with an empty body is what the portal's tenant status filter answers to every request but
 * the restore progress while a restore or transfer runs: "restoring", not "forbidden" (a real
 * refusal always carries an error envelope).
 */
export function classifyDocSpaceStatus(status: number, body: string): ReturnType<NonNullable<HttpClientOptions['classifyStatus']>> {
  if (status !== 403 || body.trim() !== '') return undefined;
  return {
    code: 'UPSTREAM_UNAVAILABLE',
    message: 'DocSpace portal is being restored: only the restore progress answers until it is back',
    details: { restoring: true },
    // The restore lasts minutes: retrying within one call only multiplies requests.
    transient: false,
  };
}

/** Exception messages may run over several lines (inner exceptions); the first is the useful one. */
function firstLine(text: string): string {
  return text.split(/\r?\n/, 1)[0]!.trim();
}

/** True for the GatewayError that means "the portal is restoring", whichever layer raised it. */
export function isPortalRestoring(error: unknown): boolean {
  return error instanceof GatewayError && error.details?.['restoring'] === true;
}

function wireStorageParams(params: DocSpaceStorageParams | undefined): Array<{ key: string; value: unknown }> | undefined {
  if (params === undefined) return undefined;
  if (Array.isArray(params)) return params.map(({ key, value }) => ({ key, value }));
  return Object.entries(params).map(([key, value]) => ({ key, value }));
}

const BASE = '/api/2.0/backup';

export class DocSpaceClient {
  readonly http: HttpClient;
  private readonly secrets: string[];

  constructor(options: DocSpaceClientOptions) {
    const { token, tokenScheme = 'bearer', ...rest } = options;
    this.secrets = [token];
    this.http = new HttpClient({
      ...rest,
      upstream: UPSTREAM,
      headers: { authorization: tokenScheme === 'raw' ? token : `Bearer ${token}` },
      describeError: describeDocSpaceError,
      classifyStatus: classifyDocSpaceStatus,
    });
  }

  startBackup(input: StartBackupInput = {}): Promise<unknown> {
    const body = { storageType: input.storageType, storageParams: wireStorageParams(input.storageParams) ?? [], dump: input.dump ?? false };
    return this.call({ method: 'POST', path: `${BASE}/startbackup`, body });
  }

  async cancelBackup(): Promise<boolean> {
    return this.bool(await this.call({ method: 'POST', path: `${BASE}/cancelbackup` }), 'cancelbackup');
  }

  getBackupProgress(options: DumpOption = {}, signal?: AbortSignal): Promise<unknown> {
    return this.call({ method: 'GET', path: `${BASE}/getbackupprogress`, query: { Dump: options.dump }, signal });
  }

  async getBackupHistory(options: DumpOption = {}, signal?: AbortSignal): Promise<unknown[]> {
    const response = await this.call({ method: 'GET', path: `${BASE}/getbackuphistory`, query: { Dump: options.dump }, signal });
    if (response === null) return [];
    if (!Array.isArray(response)) throw this.badResponse('getbackuphistory did not answer a list');
    return response;
  }

  async deleteBackup(backupId: string): Promise<boolean> {
    return this.bool(await this.call({ method: 'DELETE', path: BASE + urlPath`/deletebackup/${backupId}` }), 'deletebackup');
  }

  async deleteBackupHistory(options: DumpOption = {}): Promise<boolean> {
    const response = await this.call({ method: 'DELETE', path: `${BASE}/deletebackuphistory`, query: { Dump: options.dump } });
    return this.bool(response, 'deletebackuphistory');
  }

  startRestore(input: StartRestoreInput): Promise<unknown> {
    const body = {
      backupId: input.backupId,
      storageType: input.storageType,
      storageParams: wireStorageParams(input.storageParams) ?? [],
      notify: input.notify ?? false,
      dump: input.dump ?? false,
    };
    return this.call({ method: 'POST', path: `${BASE}/startrestore`, body });
  }

  /**
   * Sent without credentials: the endpoint is anonymous because nothing else of the portal answers
   * during a restore, and the tenant's users may not even exist yet.
   */
  getRestoreProgress(options: DumpOption = {}, signal?: AbortSignal): Promise<unknown> {
    return this.call({ method: 'GET', path: `${BASE}/getrestoreprogress`, query: { Dump: options.dump }, anonymous: true, signal });
  }

  getBackupSchedule(options: DumpOption = {}, signal?: AbortSignal): Promise<unknown> {
    return this.call({ method: 'GET', path: `${BASE}/getbackupschedule`, query: { Dump: options.dump }, signal });
  }

  async createBackupSchedule(input: BackupScheduleInput): Promise<boolean> {
    const body = {
      storageType: input.storageType,
      storageParams: wireStorageParams(input.storageParams) ?? [],
      backupsStored: input.backupsStored,
      cronParams: input.cronParams,
      dump: input.dump ?? false,
    };
    // Creating the schedule replaces it: repeating the same request is harmless.
    return this.bool(await this.call({ method: 'POST', path: `${BASE}/createbackupschedule`, body, idempotent: true }), 'createbackupschedule');
  }

  async deleteBackupSchedule(options: DumpOption = {}): Promise<boolean> {
    const response = await this.call({ method: 'DELETE', path: `${BASE}/deletebackupschedule`, query: { Dump: options.dump }, idempotent: true });
    return this.bool(response, 'deletebackupschedule');
  }

  async getBackupsCount(options: { from?: string; to?: string; paid?: boolean } = {}, signal?: AbortSignal): Promise<number> {
    const response = await this.call({ method: 'GET', path: `${BASE}/getbackupscount`, query: { from: options.from, to: options.to, paid: options.paid }, signal });
    if (typeof response !== 'number' || !Number.isInteger(response)) throw this.badResponse('getbackupscount did not answer an integer');
    return response;
  }

  /** `{enabled}`, raw (map.ts decodes it). */
  getServiceState(signal?: AbortSignal): Promise<unknown> {
    return this.call({ method: 'GET', path: `${BASE}/getservicestate`, signal });
  }

  /**
   * `POST /api/2.0/authentication`: exchanges a user name and password for a portal token, to be
   * used with `tokenScheme: 'raw'`. Sent without the configured credentials.
   */
  async authenticate(userName: string, password: string): Promise<string> {
    const response = await this.call({ method: 'POST', path: '/api/2.0/authentication', body: { userName, password }, anonymous: true });
    const token = (response as { token?: unknown } | null)?.token;
    if (typeof token !== 'string' || token === '') throw this.badResponse('authentication answered no token');
    return token;
  }

  close(): Promise<void> {
    return this.http.close();
  }

  /** One request, the envelope unwrapped. */
  private async call(req: HttpRequest): Promise<unknown> {
    return this.unwrap(await this.http.json<unknown>(req));
  }

  private unwrap(body: unknown): unknown {
    if (body === undefined) throw this.badResponse('answered an empty body');
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw this.badResponse('answered something other than an envelope');
    const envelope = body as DocSpaceEnvelope;
    // A 2xx carrying an error envelope: the message is kept, everything else dropped.
    if (envelope.status === 1 || (envelope.error !== undefined && envelope.error !== null)) {
      const message = typeof envelope.error?.message === 'string' && envelope.error.message.trim() ? firstLine(envelope.error.message) : 'unspecified error';
      throw new GatewayError('UPSTREAM_REJECTED', `${UPSTREAM} reported an error: ${redact(message, this.secrets).slice(0, 300)}`, {
        source: this.http.source,
        status: typeof envelope.statusCode === 'number' ? envelope.statusCode : undefined,
      });
    }
    return envelope.response ?? null;
  }

  private bool(response: unknown, endpoint: string): boolean {
    if (typeof response !== 'boolean') throw this.badResponse(`${endpoint} did not answer a boolean`);
    return response;
  }

  private badResponse(what: string): GatewayError {
    return new GatewayError('UPSTREAM_BAD_RESPONSE', `${UPSTREAM} ${what}`, { source: this.http.source });
  }
}
