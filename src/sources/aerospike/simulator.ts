/**
 * A faithful fake of the Aerospike Backup Service REST API v1 (docs/upstreams/aerospike-backup-service.md),
 * node:http only, on 127.0.0.1 and an ephemeral port.
 *
 * State advances lazily: every request (and `advance`) first fires, in time order, every event due
 * on the simulator clock (delayed triggers, scheduled runs, run and restore completions), so the
 * manual clock is exact and the realtime clock needs no timers.
 *
 * Choices where ABS is silent (documented in the doc): error texts for unknown routine / job and
 * for bad restore bodies; an incremental is also skipped while another incremental runs; old-style
 * builds answer 400 `routine name not found: X` on the GET routine endpoints only; a restore of an
 * unknown backup path fails shortly after it starts; cancelling a finished restore is a no-op 202.
 */
import type { IncomingMessage } from 'node:http';
import { emptyReply as empty, type HttpFault, jsonReply, readBody, type Reply, type SimulatedHttpOptions, type SimulatedUpstream, startSimulatedHttp, virtualClock } from '../simulated-http.js';
import type { AbsRoutineSeed, AbsScenario } from './scenarios.js';

export type * from './scenarios.js';

export type AbsStatusGeneration = 'v1-capitalised' | 'v3-lowercase';

export interface AbsBuildStyle {
  /** Restore status spellings: ≤3.5 `Running/Done/Failed/Canceled`, 3.6+ `running/success/failure/canceled`. */
  statusGeneration?: AbsStatusGeneration;
  /** The one pre-3.6 build that spells it `Cancelled` (v1 generation only). */
  cancelledSpelling?: boolean;
  /** `new`: unknown routine is 404; `old`: 400 `routine name not found: X` on the GET routine endpoints. */
  errorStyle?: 'new' | 'old';
  /** `/version` as JSON (newer builds) or plain text (older ones). */
  versionFormat?: 'json' | 'text';
  /** Whether `/metrics` exists (default true). */
  metrics?: boolean;
  /** Zero counters left out of restore job status (`omitempty` builds). */
  omitZeroCounters?: boolean;
  /** The 3.6 build whose `running` status filter selects successful jobs. */
  runningFilterBug?: boolean;
}

export interface AbsSimulatorOptions extends AbsBuildStyle, SimulatedHttpOptions {
  scenario: AbsScenario;
  /** Headers a fronting proxy requires (ABS itself has no auth): 401 when one is missing or wrong. */
  requiredHeaders?: Record<string, string>;
}

/** A status fault's body is ABS's plain text (a trailing newline is added unless it is ''). */
export type AbsFault = HttpFault<string>;

export interface AbsSimulator extends SimulatedUpstream<AbsFault> {
  /** ABS restarts: restore jobs, running backups, pending triggers and counters are lost; backups (storage) stay. */
  restart(style?: AbsBuildStyle): void;
  /** Job ids ABS knows now. */
  restoreJobIds(): string[];
  /** Running restore jobs report this status text instead of their own (null: back to normal); for the contract test. */
  overrideRunningStatus(status: string | null): void;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';
const MIN_DELAY_MS = 50;

type Mode = 'full' | 'incremental';
type JobState = 'running' | 'done' | 'failed' | 'canceled';

interface Run {
  routine: string;
  mode: Mode;
  start: number;
  end: number;
  total: number;
  rate: number;
  bytesPerRecord: number;
  fails: boolean;
  over: boolean;
}

interface RoutineRt {
  name: string;
  seed: AbsRoutineSeed;
  namespaces: string[];
  running: Partial<Record<Mode, Run>>;
  last: Partial<Record<Mode, number>>;
  next: Partial<Record<Mode, number>>;
  backups: Record<Mode, Array<Record<string, unknown>>>;
}

interface RestoreJob {
  id: string;
  start: number;
  end: number;
  total: number;
  rate: number;
  bytesPerRecord: number;
  indexCount: number;
  udfCount: number;
  state: JobState;
  /** Fraction at which the job fails, with its error text. */
  failure: { at: number; error: string } | null;
  stoppedAt: number | null;
}

class AbsHttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const json = (status: number, body: unknown): Reply => jsonReply(status, body);
const typed = (status: number, body: string, contentType: string): Reply => ({ status, headers: { 'content-type': contentType }, body });
/** Go's http.Error: text, a newline and nosniff. */
const plain = (status: number, message: string): Reply => ({ status, body: `${message}\n`, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' } });

const STATUS_SPELLING: Record<AbsStatusGeneration, Record<JobState, string>> = {
  'v1-capitalised': { running: 'Running', done: 'Done', failed: 'Failed', canceled: 'Canceled' },
  'v3-lowercase': { running: 'running', done: 'success', failed: 'failure', canceled: 'canceled' },
};

export async function startAerospikeSimulator(opts: AbsSimulatorOptions): Promise<AbsSimulator> {
  const scenario = opts.scenario;
  const clock = virtualClock(opts);
  const { now, startAt } = clock;
  let style: Required<AbsBuildStyle> = {
    statusGeneration: 'v3-lowercase',
    cancelledSpelling: false,
    errorStyle: 'new',
    versionFormat: 'json',
    metrics: true,
    omitZeroCounters: false,
    runningFilterBug: false,
  };
  const setStyle = (s: AbsBuildStyle): void => {
    style = { ...style, ...Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) };
  };
  setStyle(opts);

  // ------------------------------------------------------------------ event queue on the virtual clock
  let events: Array<{ at: number; seq: number; fire: (at: number) => void; epoch: number }> = [];
  let seq = 0;
  /** Bumped by restart(): events of an earlier process life never fire. */
  let epoch = 0;
  function schedule(at: number, fire: (at: number) => void): void {
    events.push({ at, seq: seq++, fire, epoch });
    events.sort((a, b) => a.at - b.at || a.seq - b.seq);
  }
  function tick(): void {
    const t = now();
    while (events.length > 0 && (events[0]?.at ?? Infinity) <= t) {
      const e = events.shift();
      if (e && e.epoch === epoch) e.fire(e.at);
    }
  }

  // ------------------------------------------------------------------ backups
  const routines = new Map<string, RoutineRt>();
  const counters = new Map<string, number>();
  const count = (routine: string, mode: Mode, outcome: string): void => {
    const key = `${routine}|${mode}|${outcome}`;
    counters.set(key, (counters.get(key) ?? 0) + 1);
  };

  const recordsPerNs = (r: RoutineRt, mode: Mode): number => {
    const full = r.seed.records ?? 10_000;
    return mode === 'full' ? full : (r.seed.incrementalRecords ?? Math.max(1, Math.floor(full / 10)));
  };
  const storageOf = (r: RoutineRt): Record<string, unknown> => scenario.storage[String(r.seed.config['storage'])] ?? {};
  const failsIn = (r: RoutineRt, mode: Mode): boolean => r.seed.failBackups === 'both' || r.seed.failBackups === mode;

  function writeBackups(r: RoutineRt, mode: Mode, start: number, end: number): void {
    const previous = Math.max(r.last.full ?? 0, r.last.incremental ?? 0);
    for (const ns of r.namespaces) {
      const records = recordsPerNs(r, mode);
      const bytes = records * (r.seed.bytesPerRecord ?? 300);
      const item: Record<string, unknown> = {
        created: iso(start),
        timestamp: start,
        finished: iso(end),
        duration: Math.round((end - start) / 1000),
        from: mode === 'full' || previous === 0 ? ZERO_TIME : iso(previous),
        namespace: ns,
        'record-count': records,
        'byte-count': bytes,
        'file-count': 1,
        'secondary-index-count': r.seed.secondaryIndexes ?? 2,
        'udf-count': r.seed.udfs ?? 1,
        key: `${r.name}/${mode === 'full' ? 'backup' : 'incremental'}/${start}/${ns}`,
        storage: storageOf(r),
        compression: 'ZSTD',
        encryption: 'NONE',
      };
      if (style.statusGeneration === 'v3-lowercase') item['finished-timestamp'] = end;
      r.backups[mode].push(item);
    }
    const keep = (r.seed.keepBackups ?? Infinity) * r.namespaces.length;
    if (r.backups[mode].length > keep) r.backups[mode].splice(0, r.backups[mode].length - keep);
    r.last[mode] = end;
  }

  /** A due run (trigger or schedule) at `at`: skipped exactly where ABS skips it. */
  function runDue(r: RoutineRt, mode: Mode, at: number): void {
    const skip = mode === 'full' ? r.running.full !== undefined : r.backups.full.length === 0 || r.running.full !== undefined || r.running.incremental !== undefined;
    if (skip) {
      count(r.name, mode, 'skip');
      return;
    }
    const rate = r.seed.recordsPerSecond ?? 1_000;
    const total = recordsPerNs(r, mode) * r.namespaces.length;
    const fails = failsIn(r, mode);
    const run: Run = { routine: r.name, mode, start: at, end: at + Math.ceil(((fails ? total / 2 : total) / rate) * 1000), total, rate, bytesPerRecord: r.seed.bytesPerRecord ?? 300, fails, over: false };
    r.running[mode] = run;
    schedule(run.end, (end) => {
      if (run.over) return;
      run.over = true;
      delete r.running[mode];
      if (run.fails) count(r.name, mode, 'failure');
      else {
        writeBackups(r, mode, run.start, end);
        count(r.name, mode, 'success');
      }
    });
  }

  function runningJob(start: number, total: number, rate: number, bytesPerRecord: number, t: number, stoppedAt: number | null): Record<string, unknown> {
    const until = Math.min(t, stoppedAt ?? Infinity);
    const done = Math.min(total, Math.floor((rate * Math.max(0, until - start)) / 1000));
    const job: Record<string, unknown> = {
      'total-records': total,
      'done-records': done,
      'start-time': iso(start),
      'percentage-done': total > 0 ? Math.floor((done * 100) / total) : 0,
    };
    // ABS cannot estimate before the first records are done.
    if (done > 0 && stoppedAt === null) job['estimated-end-time'] = iso(start + Math.ceil((total / rate) * 1000));
    if (stoppedAt !== null) job['finish-time'] = iso(stoppedAt);
    job['metrics'] = { 'records-per-second': stoppedAt === null ? rate : 0, 'kilobytes-per-second': stoppedAt === null ? Math.round((rate * bytesPerRecord) / 1024) : 0, pipeline: 0 };
    if (style.statusGeneration === 'v3-lowercase') job['duration'] = Math.floor((until - start) / 1000);
    return job;
  }

  function routineState(r: RoutineRt, t: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const mode of ['full', 'incremental'] as const) {
      const run = r.running[mode];
      if (run) out[mode] = runningJob(run.start, run.total, run.rate, run.bytesPerRecord, t, null);
    }
    if (r.last.full !== undefined) out['last-full'] = iso(r.last.full);
    if (r.last.incremental !== undefined) out['last-incremental'] = iso(r.last.incremental);
    if (r.next.full !== undefined) out['next-full'] = iso(r.next.full);
    if (r.next.incremental !== undefined) out['next-incremental'] = iso(r.next.incremental);
    return out;
  }

  // ------------------------------------------------------------------ restores
  let restoreJobs = new Map<string, RestoreJob>();
  let runningStatusOverride: string | null = null;
  let jobSeq = 0;
  const restoreRate = scenario.restoreRecordsPerSecond ?? 1_000;

  function findBackup(key: string): { routine: RoutineRt; item: Record<string, unknown> } | undefined {
    for (const r of routines.values()) {
      for (const item of [...r.backups.full, ...r.backups.incremental]) if (item['key'] === key) return { routine: r, item };
    }
    return undefined;
  }

  function startRestore(at: number, items: Array<Record<string, unknown>>, routine: RoutineRt | undefined, missingPath?: string): string {
    jobSeq += 1;
    const id = String(123_456_789 + jobSeq * 1_000_003);
    const total = items.reduce((s, i) => s + Number(i['record-count'] ?? 0), 0);
    const sum = (k: string): number => items.reduce((s, i) => s + Number(i[k] ?? 0), 0);
    const failure = missingPath
      ? { at: 0, error: `failed to restore: backup path ${missingPath} not found` }
      : routine?.seed.restoreFailure
        ? { at: 0.4, error: routine.seed.restoreFailure }
        : null;
    const runFor = failure ? Math.max(MIN_DELAY_MS, Math.ceil(((total * failure.at) / restoreRate) * 1000)) : Math.ceil((total / restoreRate) * 1000);
    const job: RestoreJob = { id, start: at, end: at + runFor, total, rate: restoreRate, bytesPerRecord: routine?.seed.bytesPerRecord ?? 300, indexCount: sum('secondary-index-count'), udfCount: sum('udf-count'), state: 'running', failure, stoppedAt: null };
    restoreJobs.set(id, job);
    schedule(job.end, (end) => {
      if (job.state !== 'running') return;
      job.state = job.failure ? 'failed' : 'done';
      job.stoppedAt = end;
    });
    const max = scenario.maxRestoreJobs;
    if (max !== undefined && restoreJobs.size > max) {
      for (const [oldId, old] of restoreJobs) {
        if (restoreJobs.size <= max) break;
        if (old.state !== 'running') restoreJobs.delete(oldId);
      }
    }
    return id;
  }

  function jobStatus(job: RestoreJob, t: number): Record<string, unknown> {
    const current = runningJob(job.start, job.total, job.rate, job.bytesPerRecord, t, job.stoppedAt);
    const done = Number(current['done-records']);
    const part = (f: number): number => Math.floor(done * f);
    const counters: Record<string, number> = {
      'read-records': done,
      'total-bytes': done * job.bytesPerRecord,
      'expired-records': part(0.01),
      'skipped-records': part(0.03),
      'ignored-records': part(0.01),
      'inserted-records': part(0.8),
      'existed-records': part(0.1),
      'fresher-records': part(0.05),
      'index-count': done > 0 ? job.indexCount : 0,
      'udf-count': done > 0 ? job.udfCount : 0,
      'errors-in-doubt': 0,
    };
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(counters)) if (!(style.omitZeroCounters && v === 0)) out[k] = v;
    out['current-job'] = current;
    out['status'] = job.state === 'running' && runningStatusOverride !== null ? runningStatusOverride : statusText(job.state);
    if (job.state === 'failed' && job.failure) out['error'] = job.failure.error;
    return out;
  }

  function statusText(state: JobState): string {
    if (state === 'canceled' && style.statusGeneration === 'v1-capitalised' && style.cancelledSpelling) return 'Cancelled';
    return STATUS_SPELLING[style.statusGeneration][state];
  }

  /** The `status` filter: `a,b` selects, `!a,b` excludes; v1 matches exactly, v3 case-insensitively with aliases. */
  function statusFilter(raw: string | null): (state: JobState) => boolean {
    if (raw === null || raw === '') return () => true;
    const exclude = raw.startsWith('!');
    const values = (exclude ? raw.slice(1) : raw).split(',').map((v) => v.trim()).filter(Boolean);
    const states = values.map((value): JobState => {
      const state = parseStatus(value);
      if (!state) throw new AbsHttpError(400, `invalid status filter: unknown job status ${value}`);
      return state;
    });
    return (state) => states.includes(state) !== exclude;
  }

  function parseStatus(value: string): JobState | undefined {
    if (style.statusGeneration === 'v1-capitalised') {
      const spellings: Record<string, JobState> = { Running: 'running', Done: 'done', Failed: 'failed', [style.cancelledSpelling ? 'Cancelled' : 'Canceled']: 'canceled' };
      return spellings[value];
    }
    const lower = value.toLowerCase();
    const aliases: Record<string, JobState> = { running: style.runningFilterBug ? 'done' : 'running', success: 'done', done: 'done', failure: 'failed', failed: 'failed', canceled: 'canceled' };
    return aliases[lower];
  }

  // ------------------------------------------------------------------ setup: config, history, schedules
  const historyStart = startAt - (scenario.warmupMs ?? 0);
  for (const [name, seed] of Object.entries(scenario.routines)) {
    const namespaces = Array.isArray(seed.config['namespaces']) && seed.config['namespaces'].length > 0 ? (seed.config['namespaces'] as string[]) : ['test'];
    const r: RoutineRt = { name, seed, namespaces, running: {}, last: {}, next: {}, backups: { full: [], incremental: [] } };
    routines.set(name, r);
    for (let i = seed.initialFulls ?? 0; i > 0; i--) {
      const start = historyStart - i * 3_600_000;
      writeBackups(r, 'full', start, start + Math.ceil((recordsPerNs(r, 'full') * namespaces.length * 1000) / (seed.recordsPerSecond ?? 1_000)));
    }
  }

  /** Scheduled runs and restores from `first` on (the simulated history's start, or a restart). */
  function startSchedules(first: number): void {
    for (const r of routines.values()) {
      for (const mode of ['full', 'incremental'] as const) {
        const every = mode === 'full' ? r.seed.fullEveryMs : r.seed.incrementalEveryMs;
        if (!every) continue;
        const fire = (at: number): void => {
          runDue(r, mode, at);
          r.next[mode] = at + every;
          schedule(at + every, fire);
        };
        r.next[mode] = first + (r.seed.offsetMs ?? 0);
        schedule(r.next[mode], fire);
      }
    }
    for (const plan of scenario.restores ?? []) {
      const fire = (at: number): void => {
        const r = routines.get(plan.routine);
        const newest = r?.backups.full.at(-1);
        if (r && newest) startRestore(at, [newest], r);
        schedule(at + plan.everyMs, fire);
      };
      schedule(first + (plan.offsetMs ?? 0), fire);
    }
  }
  startSchedules(historyStart);
  tick();

  // ------------------------------------------------------------------ request handling
  function routineOr404(name: string, oldStyle: boolean): RoutineRt {
    const r = routines.get(name);
    if (r) return r;
    if (oldStyle && style.errorStyle === 'old') throw new AbsHttpError(400, `routine name not found: ${name}`);
    throw new AbsHttpError(404, `routine ${name} not found`);
  }

  function intParam(q: URLSearchParams, name: string): number | undefined {
    const raw = q.get(name);
    if (raw === null || raw === '') return undefined;
    if (!/^\d+$/.test(raw)) throw new AbsHttpError(400, `invalid query param ${name}: should be a positive integer`);
    return Number(raw);
  }

  function inRange(ms: number, q: URLSearchParams): boolean {
    const from = intParam(q, 'from');
    const to = intParam(q, 'to');
    return (from === undefined || ms >= from) && (to === undefined || ms <= to);
  }

  function backupList(r: RoutineRt, mode: Mode, q: URLSearchParams): Array<Record<string, unknown>> {
    return r.backups[mode].filter((b) => inRange(Number(b['timestamp']), q)).sort((a, b) => Number(a['timestamp']) - Number(b['timestamp']));
  }

  function job(idText: string): RestoreJob {
    if (!/^\d+$/.test(idText)) throw new AbsHttpError(400, `invalid job id: ${idText}`);
    const found = restoreJobs.get(idText);
    if (!found) throw new AbsHttpError(404, `restore job ${idText} not found`);
    return found;
  }

  function parseBody(text: string): Record<string, unknown> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new AbsHttpError(400, 'invalid request body: not valid JSON');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new AbsHttpError(400, 'invalid request body: expected an object');
    return parsed as Record<string, unknown>;
  }

  /** Destination and source: inline or by name, one of each pair (timestamp restores default both from the routine). */
  function checkTargets(body: Record<string, unknown>, optional: boolean): void {
    const dest = body['destination'];
    const destName = body['destination-name'];
    if (dest !== undefined && destName !== undefined) throw new AbsHttpError(400, 'only one of destination and destination-name may be set');
    if (dest === undefined && destName === undefined && !optional) throw new AbsHttpError(400, 'destination or destination-name is required');
    if (typeof destName === 'string' && !scenario.clusters[destName]) throw new AbsHttpError(400, `destination cluster ${destName} not found`);
    if (dest !== undefined && (typeof dest !== 'object' || dest === null || !Array.isArray((dest as Record<string, unknown>)['seed-nodes']))) {
      throw new AbsHttpError(400, 'destination: seed-nodes is required');
    }
    const src = body['source'];
    const srcName = body['source-name'];
    if (src !== undefined && srcName !== undefined) throw new AbsHttpError(400, 'only one of source and source-name may be set');
    if (src === undefined && srcName === undefined && !optional) throw new AbsHttpError(400, 'source or source-name is required');
    if (typeof srcName === 'string' && !scenario.storage[srcName]) throw new AbsHttpError(400, `storage ${srcName} not found`);
  }

  function restoreByPath(body: Record<string, unknown>, t: number): Reply {
    const path = body['backup-data-path'];
    if (typeof path !== 'string' || path === '') throw new AbsHttpError(400, 'backup-data-path is required');
    checkTargets(body, false);
    const found = findBackup(path);
    const id = found ? startRestore(t, [found.item], found.routine) : startRestore(t, [], undefined, path);
    return typed(202, id, 'application/json');
  }

  function restoreByTime(body: Record<string, unknown>, t: number): Reply {
    const name = body['routine'];
    const time = body['time'];
    if (typeof name !== 'string' || name === '') throw new AbsHttpError(400, 'routine is required');
    if (typeof time !== 'number' || !Number.isSafeInteger(time) || time <= 0) throw new AbsHttpError(400, 'time is required');
    const r = routines.get(name);
    // RestoreByTime errors are all 400.
    if (!r) throw new AbsHttpError(400, `routine ${name} not found`);
    checkTargets(body, true);
    const fullStart = r.backups.full.filter((b) => Number(b['timestamp']) <= time).at(-1)?.['timestamp'];
    if (fullStart === undefined) throw new AbsHttpError(400, `no full backup found for routine ${name} before ${iso(time)}`);
    const chain = [
      ...r.backups.full.filter((b) => b['timestamp'] === fullStart),
      ...r.backups.incremental.filter((b) => Number(b['timestamp']) > Number(fullStart) && Number(b['timestamp']) <= time),
    ];
    return typed(202, startRestore(t, chain, r), 'application/json');
  }

  function metricsText(): string {
    const lines = [
      '# HELP aerospike_backup_service_backup_events_total Backup service job events by routine, type (full/incremental), and outcome (success, failure, canceled, retry, skip)',
      '# TYPE aerospike_backup_service_backup_events_total counter',
    ];
    for (const [key, value] of [...counters].sort()) {
      const [routine, type, outcome] = key.split('|');
      lines.push(`aerospike_backup_service_backup_events_total{outcome="${outcome}",routine="${routine}",type="${type}"} ${value}`);
    }
    lines.push('# HELP aerospike_backup_service_backup_progress_pct Progress of backup processes in percentage', '# TYPE aerospike_backup_service_backup_progress_pct gauge');
    const t = now();
    for (const r of routines.values()) {
      for (const run of Object.values(r.running)) {
        const pct = runningJob(run.start, run.total, run.rate, run.bytesPerRecord, t, null)['percentage-done'];
        lines.push(`aerospike_backup_service_backup_progress_pct{routine="${r.name}",type="${run.mode}"} ${String(pct)}`);
      }
    }
    const runningRestores = [...restoreJobs.values()].filter((j) => j.state === 'running').length;
    lines.push('# HELP aerospike_backup_service_restore_in_progress Number of restore processes running', '# TYPE aerospike_backup_service_restore_in_progress gauge', `aerospike_backup_service_restore_in_progress ${runningRestores}`);
    return `${lines.join('\n')}\n`;
  }

  function route(method: string, path: string, q: URLSearchParams, bodyText: string): Reply {
    tick();
    const t = now();
    const seg = (m: RegExpExecArray): string => decodeURIComponent(m[2] ?? m[1] ?? '');
    let m: RegExpExecArray | null;
    const is = (re: RegExp): boolean => (m = re.exec(path)) !== null;
    const only = (allowed: string): void => {
      if (method !== allowed) throw new AbsHttpError(405, 'Method Not Allowed');
    };

    if (path === '/health' || path === '/ready') return only('GET'), plain(200, 'Ok');
    if (path === '/version') {
      only('GET');
      const v = scenario.version;
      return style.versionFormat === 'json' ? json(200, { version: v.version, 'build-time': v.buildTime, commit: v.commit }) : typed(200, v.version, 'text/plain; charset=utf-8');
    }
    if (path === '/metrics' && style.metrics) return only('GET'), typed(200, metricsText(), 'text/plain; version=0.0.4; charset=utf-8');
    if (path === '/v1/config/clusters') return only('GET'), json(200, scenario.clusters);
    if (path === '/v1/config/routines') return only('GET'), json(200, Object.fromEntries([...routines].map(([n, r]) => [n, r.seed.config])));
    if (path === '/v1/config/storage') return only('GET'), json(200, scenario.storage);

    if (is(/^\/v1\/backups\/(full|incremental|schedule)\/([^/]+)$/) && method === 'POST') {
      const mode: Mode = m![1] === 'incremental' ? 'incremental' : 'full';
      const r = routineOr404(seg(m!), false);
      const delay = intParam(q, 'delay') ?? 0;
      schedule(t + Math.max(delay, MIN_DELAY_MS), (at) => runDue(r, mode, at));
      return empty(202);
    }
    if (is(/^\/v1\/backups\/(full|incremental)$/)) {
      only('GET');
      const mode = m![1] as Mode;
      return json(200, Object.fromEntries([...routines].map(([n, r]) => [n, backupList(r, mode, q)])));
    }
    if (is(/^\/v1\/backups\/(full|incremental)\/([^/]+)$/)) {
      only('GET');
      return json(200, backupList(routineOr404(seg(m!), true), m![1] as Mode, q));
    }
    if (is(/^\/v1\/backups\/cancel\/([^/]+)$/)) {
      only('POST');
      const r = routineOr404(seg(m!), false);
      for (const run of Object.values(r.running)) {
        run.over = true;
        delete r.running[run.mode];
        count(r.name, run.mode, 'canceled');
      }
      return empty(202);
    }
    if (is(/^\/v1\/backups\/currentBackup\/([^/]+)$/)) {
      only('GET');
      return json(200, routineState(routineOr404(seg(m!), true), t));
    }
    if (is(/^\/v1\/restore\/(full|incremental)$/)) return only('POST'), restoreByPath(parseBody(bodyText), t);
    if (path === '/v1/restore/timestamp') return only('POST'), restoreByTime(parseBody(bodyText), t);
    if (is(/^\/v1\/restore\/status\/([^/]+)$/)) return only('GET'), json(200, jobStatus(job(seg(m!)), t));
    if (path === '/v1/restore/jobs') {
      only('GET');
      const keep = statusFilter(q.get('status'));
      const jobs = [...restoreJobs.values()].filter((j) => inRange(j.start, q) && keep(j.state));
      return json(200, Object.fromEntries(jobs.map((j) => [j.id, jobStatus(j, t)])));
    }
    if (is(/^\/v1\/restore\/cancel\/([^/]+)$/)) {
      only('POST');
      const found = job(seg(m!));
      if (found.state === 'running') {
        found.state = 'canceled';
        found.stoppedAt = t;
      }
      return empty(202);
    }
    // Go's ServeMux answer for an unknown path.
    return plain(404, '404 page not found');
  }

  // ------------------------------------------------------------------ server
  function authorised(req: IncomingMessage): boolean {
    return Object.entries(opts.requiredHeaders ?? {}).every(([name, value]) => req.headers[name.toLowerCase()] === value);
  }

  async function respond(req: IncomingMessage, url: URL): Promise<Reply> {
    try {
      if (!authorised(req)) throw new AbsHttpError(401, 'Unauthorized');
      const bodyText = await readBody(req, () => new AbsHttpError(413, 'request body too large'));
      return route((req.method ?? 'GET').toUpperCase(), url.pathname, url.searchParams, bodyText);
    } catch (error) {
      return error instanceof AbsHttpError ? plain(error.status, error.message) : plain(500, 'internal server error');
    }
  }

  const http = await startSimulatedHttp<string>({
    host: opts.host,
    port: opts.port,
    clock,
    respond,
    malformedJson: '{"full": {"total-records": 10',
    // http.Error's text without its nosniff header, as the fault always answered.
    statusReply: (fault) => typed(fault.status, fault.body === '' ? '' : `${fault.body ?? (fault.status >= 500 ? 'internal server error' : 'bad request')}\n`, 'text/plain; charset=utf-8'),
  });

  return {
    ...http,
    advance(ms) {
      http.advance(ms);
      tick();
    },
    restart(next = {}) {
      tick();
      epoch += 1;
      events = [];
      restoreJobs = new Map();
      counters.clear();
      for (const r of routines.values()) {
        r.running = {};
        r.next = {};
      }
      setStyle(next);
      startSchedules(now());
    },
    restoreJobIds: () => [...restoreJobs.keys()],
    overrideRunningStatus(status) {
      runningStatusOverride = status;
    },
  };
}
