// backupgraph live progress page: vanilla JS, no build step. Talks to /graphql only:
// queries over POST, the operationsChanged subscription over SSE (fetch + stream reader).
'use strict';

const ENDPOINT = '/graphql';
const KEY_STORE = 'backupgraph.apiKey';
const FINISHED_MAX = 20;

const OPERATION_FIELDS = `
  id __typename kind status vendorStatus message startedAt finishedAt updatedAt
  source { name kind }
  progress { percent done total unit ratePerSecond estimatedEndAt estimated }
  ... on NodeRestore {
    project service { name } node { name role availabilityZone }
    phases { phase vendorPhase completed current min max unit progress { percent } }
  }
  ... on AerospikeBackupRun {
    routineName mode recordsPerSecond kilobytesPerSecond
    job { doneRecords totalRecords percentageDone }
  }
  ... on AerospikeRestoreJob {
    jobId readRecords insertedRecords existedRecords skippedRecords ignoredRecords
    fresherRecords expiredRecords errorsInDoubt totalBytes recordsPerSecond kilobytesPerSecond error forgotten
  }
  ... on ScaleTradeBackupRun {
    runId phase trigger currentParticipant participantsDone participantsTotal remoteDone remoteTotal errorSummary
    participants { name phase percent vendorStatus critical error }
  }
  ... on ScaleTradeRestoreRun {
    restoreId sourceRunId restoreParticipantsDone: participantsDone restoreParticipantsTotal: participantsTotal errorSummary
    participants { name phase percent vendorStatus critical error }
  }
  ... on DocSpaceTask { taskId tenantId newTenantId taskType vendorTaskType completed warning error dump }
`;

const SUBSCRIPTION = `subscription Live { operationsChanged(filter: { active: true }) { change operation { ${OPERATION_FIELDS} } } }`;
const FINISHED_QUERY = `query Finished($filter: OperationFilter) { operations(filter: $filter, first: ${FINISHED_MAX}) { edges { node { ${OPERATION_FIELDS} } } sourceErrors { source message } } }`;
const SOURCES_QUERY = `query Sources { sources { name kind health { status lastError } } }`;

const VENDORS = {
  AIVEN: 'Aiven',
  AEROSPIKE_BACKUP_SERVICE: 'Aerospike Backup Service',
  SCALETRADE: 'ScaleTrade',
  DOCSPACE: 'DocSpace',
};

// ---------------------------------------------------------------------------------------------
// State

const state = {
  active: new Map(), // id → operation
  finished: [], // operations, newest first
  sources: [],
  filters: readFilters(),
  key: sessionStorage.getItem(KEY_STORE) || '',
  views: new Map(), // id → view (active and finished lists have their own prefix)
};

const $ = (id) => document.getElementById(id);

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

// ---------------------------------------------------------------------------------------------
// Formatting

const BYTE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
function isBytes(unit) {
  return unit === 'bytes' || unit === 'bytes_compressed' || unit === 'bytes_uncompressed' || unit === 'wal_lsn';
}
function fmtNumber(n, digits) {
  if (!Number.isFinite(n)) return '';
  const abs = Math.abs(n);
  const d = digits ?? (abs >= 100 ? 0 : abs >= 10 ? 1 : 2);
  return n.toLocaleString(undefined, { maximumFractionDigits: d });
}
function fmtBytes(n) {
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1000 && i < BYTE_UNITS.length - 1) {
    v /= 1000;
    i += 1;
  }
  return `${fmtNumber(v)} ${BYTE_UNITS[i]}`;
}
function fmtCount(n) {
  if (Math.abs(n) >= 1e9) return `${fmtNumber(n / 1e9)}G`;
  if (Math.abs(n) >= 1e6) return `${fmtNumber(n / 1e6)}M`;
  if (Math.abs(n) >= 1e4) return `${fmtNumber(n / 1e3)}k`;
  return fmtNumber(n);
}
function unitLabel(unit) {
  if (!unit) return '';
  if (unit === 'percent' || unit === 'prepare_percent') return '%';
  return unit.replace(/_/g, ' ');
}
/** An amount in the progress' unit, in human units: "3.2 GB", "12k records", "40 %". */
function fmtAmount(n, unit) {
  if (n === null || n === undefined) return '';
  if (isBytes(unit)) return fmtBytes(n);
  const label = unitLabel(unit);
  return label === '%' ? `${fmtNumber(n)} %` : `${fmtCount(n)}${label ? ` ${label}` : ''}`;
}
function fmtRate(rate, unit) {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '';
  if (isBytes(unit)) return `${fmtBytes(rate)}/s`;
  if (rate <= 0) return '';
  const label = unitLabel(unit);
  if (label === '%') return `${fmtNumber(rate)} %/s`;
  // Slow counts (participants, binlogs) read better per minute.
  if (rate < 1) return `${fmtNumber(rate * 60)}${label ? ` ${label}` : ''}/min`;
  return `${fmtCount(rate)}${label ? ` ${label}` : ''}/s`;
}
function fmtDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 && m < 10 ? `${m} min ${s % 60} s` : `${m} min`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return m % 60 ? `${hrs} h ${m % 60} min` : `${hrs} h`;
  return `${Math.round(hrs / 24)} d`;
}
function fmtClock(date) {
  const now = new Date();
  const time = date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  if (date.toDateString() === now.toDateString()) return time;
  return `${date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${time}`;
}
/** "ends 14:32, in 6 min" */
function fmtEta(iso) {
  if (!iso) return '';
  const end = new Date(iso);
  const left = end.getTime() - Date.now();
  if (!Number.isFinite(left)) return '';
  if (left <= 1000) return `ends ${fmtClock(end)}, any moment`;
  return `ends ${fmtClock(end)}, in ${fmtDuration(left)}`;
}
function rateLine(p) {
  if (!p) return '';
  const parts = [];
  const rate = fmtRate(p.ratePerSecond, p.unit);
  if (rate) parts.push(rate);
  const eta = fmtEta(p.estimatedEndAt);
  if (eta) parts.push(eta);
  const line = parts.join(' · ');
  return line && p.estimated ? `${line} (estimated)` : line;
}
function doneLine(p) {
  if (!p || p.done === null || p.done === undefined) return '';
  if (p.unit === 'percent' || p.unit === 'prepare_percent') return '';
  const total = p.total !== null && p.total !== undefined ? ` of ${fmtAmount(p.total, p.unit)}` : '';
  return `${fmtAmount(p.done, p.unit)}${total}`;
}

// ---------------------------------------------------------------------------------------------
// Vendor-specific views

/** What the operation concerns, one line. */
function subject(op) {
  switch (op.__typename) {
    case 'NodeRestore': {
      const service = op.service?.name ?? serviceFromId(op.id);
      return [op.project, service, op.node?.name].filter(Boolean).join(' / ');
    }
    case 'AerospikeBackupRun':
      return `routine ${op.routineName} · ${String(op.mode).toLowerCase()}`;
    case 'AerospikeRestoreJob':
      return `restore job ${op.jobId}`;
    case 'ScaleTradeBackupRun':
      return `run ${op.runId}${op.trigger ? ` · ${op.trigger}` : ''}`;
    case 'ScaleTradeRestoreRun':
      return `restore ${op.restoreId}${op.sourceRunId ? ` of run ${op.sourceRunId}` : ''}`;
    default:
      if ('taskType' in op || 'tenantId' in op) return `portal tenant ${op.tenantId ?? '?'}${op.taskId ? ` · task ${op.taskId}` : ''}`;
      return op.id;
  }
}

/** NodeRestore ids carry [source, project, service, node, startedAt]. */
function serviceFromId(id) {
  try {
    const text = atob(id.replace(/-/g, '+').replace(/_/g, '/'));
    const parts = JSON.parse(text.slice(text.indexOf(':') + 1));
    return Array.isArray(parts) ? parts[2] : undefined;
  } catch {
    return undefined;
  }
}

function kv(rows) {
  const dl = h('dl', { class: 'kv' });
  for (const [k, v] of rows) {
    if (v === null || v === undefined || v === '') continue;
    dl.append(h('dt', { text: k }), h('dd', { text: String(v) }));
  }
  return dl;
}

function participantsTable(participants) {
  if (!participants?.length) return null;
  const body = h('tbody');
  for (const p of participants) {
    const bar = h('progress', { max: 100, 'aria-label': `${p.name} progress` });
    if (p.percent !== null && p.percent !== undefined) bar.value = p.percent;
    body.append(
      h('tr', { 'data-status': p.vendorStatus },
        h('th', { scope: 'row', text: `${p.name}${p.critical === false ? ' (optional)' : ''}` }),
        h('td', { text: p.phase ?? '' }),
        h('td', { text: p.vendorStatus }),
        h('td', null, bar, p.percent !== null && p.percent !== undefined ? ` ${fmtNumber(p.percent)} %` : ''),
        h('td', { class: 'error', text: p.error ?? '' }),
      ),
    );
  }
  return h('table', { class: 'sub' },
    h('caption', { text: 'Participants' }),
    h('thead', null, h('tr', null, ...['participant', 'phase', 'status', 'progress', 'error'].map((t) => h('th', { scope: 'col', text: t })))),
    body,
  );
}

function details(op) {
  const box = h('div', { class: 'detail' });
  const common = [
    ['vendor status', op.vendorStatus],
    ['started', op.startedAt && new Date(op.startedAt).toLocaleString()],
    ['updated', op.updatedAt && new Date(op.updatedAt).toLocaleString()],
    ['finished', op.finishedAt && new Date(op.finishedAt).toLocaleString()],
    ['done', doneLine(op.progress)],
  ];
  switch (op.__typename) {
    case 'NodeRestore': {
      box.append(kv([...common, ['node role', op.node?.role], ['zone', op.node?.availabilityZone]]));
      if (op.phases?.length) {
        const body = h('tbody');
        for (const ph of op.phases) {
          const bar = h('progress', { max: 100, 'aria-label': `${ph.phase} progress` });
          if (ph.progress?.percent !== null && ph.progress?.percent !== undefined) bar.value = ph.progress.percent;
          const amount = ph.current !== null && ph.current !== undefined ? `${fmtAmount(ph.current - (ph.min ?? 0), ph.unit)}${ph.max !== null && ph.max !== undefined ? ` of ${fmtAmount(ph.max - (ph.min ?? 0), ph.unit)}` : ''}` : '';
          body.append(h('tr', { class: ph.completed ? 'done' : '' },
            h('th', { scope: 'row', text: ph.vendorPhase || ph.phase }),
            h('td', null, bar),
            h('td', { text: ph.completed ? 'completed' : amount }),
          ));
        }
        box.append(h('table', { class: 'sub' }, h('caption', { text: 'Phases' }), body));
      }
      break;
    }
    case 'AerospikeBackupRun':
      box.append(kv([...common,
        ['records', op.job ? `${fmtCount(op.job.doneRecords ?? 0)} of ${fmtCount(op.job.totalRecords ?? 0)}` : ''],
        ['records/s', op.recordsPerSecond != null ? fmtCount(op.recordsPerSecond) : ''],
        ['throughput', op.kilobytesPerSecond != null ? `${fmtBytes(op.kilobytesPerSecond * 1000)}/s` : ''],
      ]));
      break;
    case 'AerospikeRestoreJob':
      box.append(kv([...common,
        ['read', fmtCount(op.readRecords)], ['inserted', fmtCount(op.insertedRecords)],
        ['existed', fmtCount(op.existedRecords)], ['skipped', fmtCount(op.skippedRecords)],
        ['ignored', fmtCount(op.ignoredRecords)], ['fresher', fmtCount(op.fresherRecords)],
        ['expired', fmtCount(op.expiredRecords)], ['errors in doubt', fmtCount(op.errorsInDoubt)],
        ['bytes', fmtBytes(op.totalBytes)],
        ['records/s', op.recordsPerSecond != null ? fmtCount(op.recordsPerSecond) : ''],
        ['error', op.error], ['forgotten by ABS', op.forgotten ? 'yes' : ''],
      ]));
      break;
    case 'ScaleTradeBackupRun':
      box.append(kv([...common,
        ['phase', op.phase], ['current participant', op.currentParticipant],
        ['participants', op.participantsTotal != null ? `${op.participantsDone ?? 0} of ${op.participantsTotal}` : ''],
        ['remote publishing', op.remoteTotal ? `${op.remoteDone ?? 0} of ${op.remoteTotal}` : ''],
        ['errors', op.errorSummary],
      ]));
      box.append(participantsTable(op.participants) ?? '');
      break;
    case 'ScaleTradeRestoreRun':
      box.append(kv([...common, ['participants', `${op.restoreParticipantsDone} of ${op.restoreParticipantsTotal}`], ['errors', op.errorSummary]]));
      box.append(participantsTable(op.participants) ?? '');
      break;
    default:
      box.append(kv([...common,
        ['task type', op.vendorTaskType ?? op.taskType], ['task', op.taskId], ['tenant', op.tenantId],
        ['new tenant', op.newTenantId], ['dump', op.dump ? 'yes' : ''], ['warning', op.warning], ['error', op.error],
      ]));
  }
  const query = `query Operation {\n  operation(id: ${JSON.stringify(op.id)}) {${OPERATION_FIELDS.replace(/\n {2}/g, '\n    ')}  }\n}\n`;
  box.append(h('p', null, h('a', { class: 'gql', href: `${ENDPOINT}?query=${encodeURIComponent(query)}`, text: 'Open this operation in GraphiQL' })));
  return box;
}

// ---------------------------------------------------------------------------------------------
// Operation rows (keyed: a row is created once and updated in place, so focus and open details stay)

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'PARTIAL', 'TIMED_OUT']);

function createView(op, finished) {
  const bar = h('progress', { class: 'bar', max: 100 });
  const pct = h('span', { class: 'pct' });
  const status = h('span', { class: 'status' });
  const title = h('span', { class: 'subject' });
  const vendor = h('span', { class: 'vendor' });
  const kind = h('span', { class: 'kind' });
  const rate = h('span', { class: 'rate' });
  const message = h('span', { class: 'message' });
  const vstatus = h('span', { class: 'vstatus' });
  const summary = h('summary', null,
    h('span', { class: 'line1' }, status, kind, title),
    h('span', { class: 'line2' }, vendor, vstatus),
    h('span', { class: 'line3' }, bar, pct),
    h('span', { class: 'line4' }, rate, message),
  );
  const box = h('div', { class: 'detail-slot' });
  const det = h('details', null, summary, box);
  const li = h('li', { class: 'op', 'data-id': op.id }, det);
  const view = { li, det, bar, pct, status, title, vendor, kind, rate, message, vstatus, box, op: null, finished };
  det.addEventListener('toggle', () => {
    if (det.open) view.box.replaceChildren(details(view.op));
  });
  return view;
}

function updateView(view, op) {
  view.op = op;
  const p = op.progress ?? {};
  view.li.dataset.status = op.status;
  view.li.dataset.vendor = op.source?.kind ?? '';
  view.li.dataset.source = op.source?.name ?? '';
  view.status.textContent = op.status;
  view.status.className = `status s-${op.status}`;
  view.kind.textContent = op.kind;
  view.title.textContent = subject(op);
  view.vendor.textContent = `${VENDORS[op.source?.kind] ?? op.source?.kind ?? ''} · ${op.source?.name ?? ''}`;
  view.vstatus.textContent = op.vendorStatus ? `vendor: ${op.vendorStatus}` : '';
  const percent = p.percent ?? (op.status === 'SUCCEEDED' ? 100 : null);
  const label = `${subject(op)} progress`;
  view.bar.setAttribute('aria-label', label);
  if (percent === null || percent === undefined) {
    view.bar.removeAttribute('value'); // indeterminate
    view.pct.textContent = '…';
  } else {
    view.bar.value = percent;
    view.pct.textContent = `${fmtNumber(percent, 1)} %`;
  }
  if (view.finished) {
    const took = op.startedAt && op.finishedAt ? fmtDuration(Date.parse(op.finishedAt) - Date.parse(op.startedAt)) : '';
    view.rate.textContent = [op.finishedAt ? `ended ${fmtClock(new Date(op.finishedAt))}` : '', took ? `took ${took}` : ''].filter(Boolean).join(' · ');
  } else {
    view.rate.textContent = [doneLine(p), rateLine(p)].filter(Boolean).join(' · ');
  }
  view.message.textContent = op.message ?? '';
  if (view.det.open) view.box.replaceChildren(details(op));
}

function matches(op) {
  const f = state.filters;
  if (f.source && op.source?.name !== f.source) return false;
  if (f.kind && op.kind !== f.kind) return false;
  if (f.status && op.status !== f.status) return false;
  return true;
}

function renderList(listEl, emptyEl, ops, finished) {
  const prefix = finished ? 'f:' : 'a:';
  const seen = new Set();
  const wanted = [];
  for (const op of ops) {
    if (!matches(op)) continue;
    const key = prefix + op.id;
    seen.add(key);
    let view = state.views.get(key);
    if (!view) {
      view = createView(op, finished);
      state.views.set(key, view);
    }
    updateView(view, op);
    wanted.push(view.li);
  }
  for (const [key, view] of state.views) {
    if (key.startsWith(prefix) && !seen.has(key)) {
      view.li.remove();
      state.views.delete(key);
    }
  }
  // Reorder only when needed: moving a focused element would blur it.
  const current = [...listEl.children];
  if (current.length !== wanted.length || current.some((el, i) => el !== wanted[i])) {
    const focused = document.activeElement;
    listEl.replaceChildren(...wanted);
    if (focused && focused !== document.activeElement && document.contains(focused)) focused.focus();
  }
  emptyEl.hidden = wanted.length > 0;
  return wanted.length;
}

let renderQueued = false;
function render() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    const active = [...state.active.values()].sort((a, b) => (Date.parse(b.startedAt ?? '') || 0) - (Date.parse(a.startedAt ?? '') || 0) || a.id.localeCompare(b.id));
    const n = renderList($('active'), $('active-empty'), active, false);
    $('active-count').textContent = `(${n})`;
    renderList($('finished'), $('finished-empty'), state.finished, true);
  });
}
// Keeps "in 6 min" current even when nothing changes.
setInterval(render, 15_000);

function renderSources() {
  const list = $('sources');
  list.replaceChildren(...state.sources.map((s) =>
    h('li', { class: `src h-${s.health.status}`, 'data-source': s.name, 'data-health': s.health.status, title: s.health.lastError ?? '' },
      h('span', { class: 'dot', 'aria-hidden': 'true' }),
      h('span', { class: 'name', text: s.name }),
      h('span', { class: 'hs', text: s.health.status }),
      s.health.lastError ? h('span', { class: 'lasterr', text: s.health.lastError }) : null,
    )));
  const select = $('f-source');
  const value = state.filters.source;
  select.replaceChildren(h('option', { value: '', text: 'all' }), ...state.sources.map((s) => h('option', { value: s.name, text: s.name })));
  if (value && !state.sources.some((s) => s.name === value)) select.append(h('option', { value, text: value }));
  select.value = value;
}

// ---------------------------------------------------------------------------------------------
// Filters in the URL

function readFilters() {
  const q = new URLSearchParams(location.search);
  return { source: q.get('source') ?? '', kind: q.get('kind') ?? '', status: q.get('status') ?? '' };
}
function writeFilters() {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(state.filters)) {
    if (v) q.set(k, v);
    else q.delete(k);
  }
  const search = q.toString();
  history.replaceState(null, '', `${location.pathname}${search ? `?${search}` : ''}${location.hash}`);
}
function syncFilterControls() {
  $('f-source').value = state.filters.source;
  $('f-kind').value = state.filters.kind;
  $('f-status').value = state.filters.status;
}

// ---------------------------------------------------------------------------------------------
// Transport

class AuthError extends Error {}

function headers(accept) {
  const h = { 'content-type': 'application/json', accept };
  if (state.key) h.authorization = `Bearer ${state.key}`;
  return h;
}

async function gql(query, variables) {
  const response = await fetch(ENDPOINT, {
    method: 'POST',
    headers: headers('application/graphql-response+json, application/json'),
    body: JSON.stringify({ query, variables }),
  });
  if (response.status === 401) throw new AuthError(await errorText(response));
  const body = await response.json().catch(() => ({}));
  if (!response.ok && !body.data) throw new Error(body.errors?.[0]?.message ?? `HTTP ${response.status}`);
  return body;
}

async function errorText(response) {
  try {
    return (await response.json()).errors?.[0]?.message ?? `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

function setConn(stateName, text) {
  const el = $('conn');
  el.dataset.state = stateName;
  $('conn-text').textContent = text;
}

function notice(text) {
  const el = $('notice');
  el.textContent = text ?? '';
  el.hidden = !text;
}

let generation = 0; // a new key or a reconnect starts a new generation; old loops stop
let attempt = 0;

async function loadSources() {
  const body = await gql(SOURCES_QUERY);
  if (body.data?.sources) {
    state.sources = body.data.sources;
    renderSources();
  }
}

async function loadFinished() {
  const f = state.filters;
  const filter = { active: false };
  if (f.source) filter.sources = [f.source];
  if (f.kind) filter.kinds = [f.kind];
  if (f.status) filter.statuses = [f.status];
  const body = await gql(FINISHED_QUERY, { filter });
  const edges = body.data?.operations?.edges;
  if (edges) {
    const fetched = edges.map((e) => e.node).filter((n) => n && TERMINAL.has(n.status));
    // Keep what the stream delivered meanwhile; the fetched page wins on conflicts.
    const ids = new Set(fetched.map((o) => o.id));
    state.finished = [...fetched, ...state.finished.filter((o) => !ids.has(o.id) && matches(o))]
      .sort((a, b) => (Date.parse(b.finishedAt ?? '') || 0) - (Date.parse(a.finishedAt ?? '') || 0))
      .slice(0, FINISHED_MAX);
    render();
  }
  if (body.errors?.length) notice(body.errors[0].message);
}

let refreshTimer = 0;
/** Health and the finished page, after a FINISHED event or an error event (debounced; no polling). */
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    loadSources().catch(onFailure);
  }, 500);
}

function onEvent(payload) {
  if (payload.errors?.length && !payload.data) {
    notice(payload.errors.map((e) => e.message).join(' · '));
    refreshSoon();
    return;
  }
  const ev = payload.data?.operationsChanged;
  if (!ev) return;
  const op = ev.operation;
  if (ev.change === 'FINISHED' || TERMINAL.has(op.status)) {
    state.active.delete(op.id);
    state.finished = [op, ...state.finished.filter((o) => o.id !== op.id)].slice(0, FINISHED_MAX);
    refreshSoon();
  } else {
    state.active.set(op.id, op);
  }
  render();
}

async function subscribe(gen) {
  const controller = new AbortController();
  const stop = () => controller.abort();
  stopCurrent = stop;
  let response;
  try {
    response = await fetch(ENDPOINT, {
      method: 'POST',
      headers: headers('text/event-stream'),
      body: JSON.stringify({ query: SUBSCRIPTION }),
      signal: controller.signal,
      cache: 'no-store',
    });
  } catch (error) {
    throw new Error(`cannot reach the gateway (${error.message})`);
  }
  if (response.status === 401) throw new AuthError(await errorText(response));
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
  // Connected: what is in flight comes again as STARTED.
  state.active.clear();
  render();
  setConn('live', 'live');
  notice('');
  Promise.all([loadSources(), loadFinished()]).catch(onFailure);
  let healthy = false;

  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done || gen !== generation) break;
    buffer += value;
    let cut;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, '');
      let event = 'message';
      const data = [];
      for (const line of frame.split(/\r?\n/)) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = val;
        else if (field === 'data') data.push(val);
      }
      if (event === 'complete') return;
      if (event === 'next' && data.length) {
        let payload;
        try {
          payload = JSON.parse(data.join('\n'));
        } catch {
          continue;
        }
        if (payload.data && !healthy) {
          healthy = true;
          attempt = 0; // the backoff starts over only once the stream delivers
        }
        onEvent(payload);
      }
    }
  }
}
let stopCurrent = () => {};

function onFailure(error) {
  if (error instanceof AuthError) askForKey(error.message);
  else console.warn(error);
}

async function run(gen) {
  while (gen === generation) {
    setConn(attempt === 0 ? 'connecting' : 'reconnecting', attempt === 0 ? 'connecting…' : `reconnecting (attempt ${attempt})…`);
    let reason = 'the stream ended';
    try {
      await subscribe(gen);
    } catch (error) {
      if (gen !== generation) return;
      if (error instanceof AuthError) {
        setConn('auth', 'needs an API key');
        askForKey(error.message);
        return;
      }
      reason = error.message;
    }
    if (gen !== generation) return;
    attempt += 1;
    const delay = Math.min(10_000, 500 * 2 ** Math.min(attempt - 1, 5)) * (0.8 + Math.random() * 0.4);
    setConn('offline', `disconnected: ${reason} · retrying in ${Math.ceil(delay / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function start() {
  generation += 1;
  stopCurrent();
  attempt = 0;
  void run(generation);
}

// ---------------------------------------------------------------------------------------------
// The API key form (shown once a request is refused with 401)

function askForKey(message) {
  const hadKey = Boolean(state.key);
  $('auth').hidden = false;
  $('main').inert = true;
  $('auth-error').textContent = hadKey ? `The key was refused: ${message}` : '';
  setConn('auth', 'needs an API key');
  const input = $('auth-key');
  input.value = '';
  input.focus();
}

$('auth-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = $('auth-key').value.trim();
  if (!key) return;
  state.key = key;
  sessionStorage.setItem(KEY_STORE, key);
  $('auth').hidden = true;
  $('main').inert = false;
  $('auth-error').textContent = '';
  start();
});

// ---------------------------------------------------------------------------------------------
// Filters, keyboard

$('filters').addEventListener('change', (event) => {
  const el = event.target;
  if (!(el instanceof HTMLSelectElement)) return;
  state.filters[el.name] = el.value;
  writeFilters();
  render();
  loadFinished().catch(onFailure);
});
window.addEventListener('popstate', () => {
  state.filters = readFilters();
  syncFilterControls();
  render();
  loadFinished().catch(onFailure);
});

document.addEventListener('keydown', (event) => {
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const target = event.target;
  const typing = target instanceof HTMLInputElement || target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement;
  if (event.key === '/' && !typing) {
    event.preventDefault();
    $('f-source').focus();
    return;
  }
  if (typing) return;
  const down = event.key === 'ArrowDown' || event.key === 'j';
  const up = event.key === 'ArrowUp' || event.key === 'k';
  if (!down && !up) return;
  const rows = [...document.querySelectorAll('.ops summary')];
  if (!rows.length) return;
  event.preventDefault();
  const i = rows.indexOf(target);
  const next = i < 0 ? 0 : Math.max(0, Math.min(rows.length - 1, i + (down ? 1 : -1)));
  rows[next].focus();
});

$('graphiql').href = `${ENDPOINT}?query=${encodeURIComponent(`${SUBSCRIPTION.replace('subscription Live {', 'subscription Live {\n ')}\n\n${SOURCES_QUERY}\n`)}`;
syncFilterControls();
start();
