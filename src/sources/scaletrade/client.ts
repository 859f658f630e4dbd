import { badInput, GatewayError } from '../../errors.js';
import { ScaleTradeConnection, type RequestOptions, type ScaleTradeConnectionOptions } from './connection.js';

/**
 * ScaleTrade backup commands, one method per command, over one ScaleTradeConnection. Replies are
 * returned as wire JSON (decoding and mapping live in map.ts). See docs/upstreams/scaletrade.md.
 *
 * The blocking commands (StartFullBackup, StartRestoreRun) hold their reply until the run ends, so
 * callers that want progress meanwhile use a second connection for GetBackupProgress / Subscribe.
 */

/** The channel that carries backup progress pushes. */
export const BACKUP_PROGRESS_CHANNEL = 'backup.progress';

/** GetBackupProgress reply and `backup.progress` event data (loose: unknown keys pass through). */
export interface ScaleTradeProgressWire {
  active?: boolean;
  run_id?: string;
  type?: string;
  trigger?: string;
  status?: string;
  phase?: string;
  message?: string;
  current_participant?: string;
  overall_percent?: number;
  participants_total?: number;
  participants_done?: number;
  remote_total?: number;
  remote_done?: number;
  started_at?: number;
  updated_at?: number;
  finished_at?: number;
  participants?: Array<{
    name: string;
    status?: string;
    phase?: string;
    percent?: number;
    message?: string;
    artifacts?: number;
    size_bytes?: number;
    started_at?: number;
    finished_at?: number;
  }>;
  [key: string]: unknown;
}

export interface ScaleTradeArtifactWire {
  logical_name: string;
  path?: string;
  size_bytes?: number;
  sha256?: string;
  integrity_ok?: boolean;
  integrity_error?: string;
  validation_ok?: boolean;
  validation_error?: string;
}

/** StartFullBackup reply, GetBackupRun reply, GetBackupRuns row. */
export interface ScaleTradeRunWire {
  run_id: string;
  type?: string;
  trigger?: string;
  status: string;
  path?: string;
  started_at?: number;
  finished_at?: number;
  error_summary?: string;
  requested_participants?: string[];
  participants?: Array<{
    name: string;
    critical?: boolean;
    ok?: boolean;
    status?: string;
    started_at?: number;
    finished_at?: number;
    error?: string;
    artifacts?: ScaleTradeArtifactWire[];
  }>;
  [key: string]: unknown;
}

/** StartRestoreRun reply, GetRestoreRun reply, GetRestoreRuns row. */
export interface ScaleTradeRestoreRunWire {
  restore_id: string;
  source_run_id?: string;
  dry_run?: boolean;
  force?: boolean;
  pre_restore_path?: string;
  status: string;
  started_at?: number;
  finished_at?: number;
  error_summary?: string;
  participants?: Array<{
    name: string;
    critical?: boolean;
    ok?: boolean;
    status?: string;
    started_at?: number;
    finished_at?: number;
    error?: string;
    safety_snapshot_path?: string;
    artifacts?: ScaleTradeArtifactWire[];
    safety_artifacts?: ScaleTradeArtifactWire[];
  }>;
  [key: string]: unknown;
}

export interface StartFullBackupInput {
  /** Omitted: a full backup; given: a scoped one. */
  participants?: readonly string[];
}

export interface StartRestoreRunInput {
  run_id: string;
  dry_run?: boolean;
  participants?: readonly string[];
  force?: boolean;
}

export type StartBackupCommand = 'StartFullBackup' | 'StartBackupServer';

export class ScaleTradeClient {
  constructor(readonly connection: ScaleTradeConnection) {}

  static async connect(options: ScaleTradeConnectionOptions): Promise<ScaleTradeClient> {
    return new ScaleTradeClient(await ScaleTradeConnection.open(options));
  }

  /** The field is spelled `chanels`: the server ignores the correct spelling. */
  subscribe(channels: readonly string[], options?: RequestOptions): Promise<Record<string, unknown>> {
    return this.call('Subscribe', { chanels: [...channels] }, options);
  }

  unsubscribe(channels: readonly string[], options?: RequestOptions): Promise<Record<string, unknown>> {
    return this.call('Unsubscribe', { chanels: [...channels] }, options);
  }

  async getBackupProgress(options?: RequestOptions): Promise<ScaleTradeProgressWire> {
    return (await this.call('GetBackupProgress', {}, options)) as ScaleTradeProgressWire;
  }

  /** Answers when the run has ended (completed or partial); a failed run is an error reply. */
  async startFullBackup(input: StartFullBackupInput = {}, options: RequestOptions & { command?: StartBackupCommand } = {}): Promise<ScaleTradeRunWire> {
    const data = input.participants === undefined ? {} : { participants: names(input.participants, 'participants') };
    return (await this.call(options.command ?? 'StartFullBackup', data, options)) as ScaleTradeRunWire;
  }

  /** Newest first. */
  async getBackupRuns(options?: RequestOptions): Promise<ScaleTradeRunWire[]> {
    return rows(await this.call('GetBackupRuns', {}, options), 'GetBackupRuns', this.connection.source) as ScaleTradeRunWire[];
  }

  async getBackupRun(runId: string, options?: RequestOptions): Promise<ScaleTradeRunWire> {
    return (await this.call('GetBackupRun', { run_id: id(runId, 'runId') }, options)) as ScaleTradeRunWire;
  }

  /** Answers when the restore has ended, like StartFullBackup. */
  async startRestoreRun(input: StartRestoreRunInput, options?: RequestOptions): Promise<ScaleTradeRestoreRunWire> {
    const data: Record<string, unknown> = { run_id: id(input.run_id, 'runId') };
    if (input.dry_run !== undefined) data['dry_run'] = input.dry_run;
    if (input.participants !== undefined) data['participants'] = names(input.participants, 'participants');
    if (input.force !== undefined) data['force'] = input.force;
    return (await this.call('StartRestoreRun', data, options)) as ScaleTradeRestoreRunWire;
  }

  async getRestoreRun(restoreId: string, options?: RequestOptions): Promise<ScaleTradeRestoreRunWire> {
    return (await this.call('GetRestoreRun', { restore_id: id(restoreId, 'restoreId') }, options)) as ScaleTradeRestoreRunWire;
  }

  /** Newest first; a restore in flight comes first with status `running`. */
  async getRestoreRuns(options?: RequestOptions): Promise<ScaleTradeRestoreRunWire[]> {
    return rows(await this.call('GetRestoreRuns', {}, options), 'GetRestoreRuns', this.connection.source) as ScaleTradeRestoreRunWire[];
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  private async call(command: string, data: Record<string, unknown>, options?: RequestOptions): Promise<Record<string, unknown>> {
    return unwrapReply(await this.connection.request(command, data, options));
  }
}

/**
 * Backup commands answer a flat object with `extID` merged in; other commands wrap their payload
 * as `{extID, status: 200, data}`. Both become the bare payload. (A numeric `status` marks the
 * envelope: in run and progress objects `status` is a string.)
 */
export function unwrapReply(reply: Record<string, unknown>): Record<string, unknown> {
  const { extID: _extID, ...rest } = reply;
  const data = rest['data'];
  if (typeof rest['status'] === 'number' && data !== null && typeof data === 'object' && !Array.isArray(data)) return data as Record<string, unknown>;
  return rest;
}

/** List replies: `{rows: [...]}` as documented; `runs`, or an array in `data`, accepted too. */
function rows(payload: Record<string, unknown>, command: string, source: string): unknown[] {
  for (const key of ['rows', 'runs', 'data']) {
    const value = payload[key];
    if (Array.isArray(value)) return value;
  }
  throw new GatewayError('UPSTREAM_BAD_RESPONSE', `ScaleTrade server answered ${command} without a list of rows`, { source });
}

function id(value: string, argument: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw badInput(`${argument} must be a non-empty string`, { argument });
  return value;
}

function names(values: readonly string[], argument: string): string[] {
  if (!Array.isArray(values) || values.some((v) => typeof v !== 'string' || v === '')) {
    throw badInput(`${argument} must be a list of participant names`, { argument });
  }
  return [...values];
}
