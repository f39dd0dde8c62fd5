// txnflow dashboard. Every value from the API is put into the page with
// textContent or as an attribute through setAttribute: nothing is parsed
// as HTML, so data cannot inject markup or script (and the CSP allows no
// inline script anyway).
'use strict';

const $main = document.getElementById('main');
let TZ = 'UTC';

// ---------------------------------------------------------------- helpers

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids.flat(Infinity)) {
    if (k === null || k === undefined || k === false) continue;
    el.appendChild(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return el;
}

function svg(tag, attrs, ...kids) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else el.setAttribute(k, String(v));
  }
  for (const k of kids.flat(Infinity)) if (k !== null && k !== undefined)
    el.appendChild(k instanceof Node ? k : document.createTextNode(String(k)));
  return el;
}

function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

class ApiError extends Error {}

// Requests in flight: while there are any, body has data-busy (tests wait
// for it to go before they look or navigate, so no answer is cut off).
let inFlight = 0;
async function tracked(work) {
  if (inFlight++ === 0) document.body.setAttribute('data-busy', '');
  try { return await work(); } finally { if (--inFlight === 0) document.body.removeAttribute('data-busy'); }
}

function api(path) {
  return tracked(async () => {
    const r = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    let body = null;
    try { body = await r.json(); } catch (e) { /* not JSON */ }
    if (!r.ok) throw new ApiError((body && (body.error + (body.detail ? ': ' + body.detail : ''))) || ('HTTP ' + r.status));
    return body;
  });
}

// The log of an attempt, as text (or null and the error message).
function apiText(path) {
  return tracked(async () => {
    const r = await fetch(path, { credentials: 'same-origin' });
    const text = await r.text();
    if (r.ok) return { text, error: null };
    let m = text;
    try { m = JSON.parse(text).error; } catch (e) { /* text */ }
    return { text: null, error: m };
  });
}

// A detail panel filled by a request: only the answer to the latest click
// is shown, whatever order the answers come back in.
function latestOnly() {
  let seq = 0;
  return async (work, show) => {
    const mine = ++seq;
    try {
      const v = await work();
      if (mine === seq) show(v);
    } catch (e) {
      if (mine === seq) banner('Cannot load: ' + (e instanceof ApiError ? e.message : String(e)));
    }
  };
}

function banner(msg) {
  const b = document.getElementById('banner');
  if (!msg) { b.hidden = true; return; }
  b.textContent = msg;
  b.hidden = false;
}

// Thousands separators on a decimal string, without going through floats.
function fmtDec(s) {
  if (s === null || s === undefined) return '—';
  s = String(s);
  const neg = s.startsWith('-');
  if (neg) s = s.slice(1);
  const [i, f] = s.split('.');
  const g = i.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return (neg ? '-' : '') + g + (f !== undefined ? '.' + f : '');
}
function fmtInt(n) { return n === null || n === undefined ? '—' : fmtDec(String(n)); }
function fmtSecs(s) {
  if (s === null || s === undefined) return '—';
  if (s < 60) return s.toFixed(1) + 's';
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m ${Math.round(s % 60)}s` : `${Math.floor(m / 60)}h ${m % 60}m`;
}
function fmtBytes(n) {
  if (n === null || n === undefined) return '—';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0, x = n;
  while (x >= 1024 && i < u.length - 1) { x /= 1024; i++; }
  return (i ? x.toFixed(1) : x) + ' ' + u[i];
}
function fmtTime(us) {
  if (us === null || us === undefined) return '—';
  try {
    return new Intl.DateTimeFormat('sv-SE', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date(us / 1000));
  } catch (e) { return new Date(us / 1000).toISOString(); }
}
function stateBadge(state, extra) {
  return h('span', { class: 'state s-' + (state || 'none').replace(/[^a-z_]/g, ''), ...(extra || {}) }, state || 'none');
}
function notice(text) { return h('div', { class: 'notice' }, text); }
function card(title, ...kids) { return h('section', { class: 'card' }, title ? h('h2', {}, title) : null, ...kids); }
const PALETTE = ['#1a73e8', '#e8710a', '#1e8e3e', '#d93025', '#9334e6', '#12b5cb', '#f9ab00', '#5f6368', '#c5221f', '#188038'];

// Axis numbers: 1.2M, 35k, 12.
function compact(v) {
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(1) + 'B';
  if (a >= 1e6) return (v / 1e6).toFixed(1) + 'M';
  if (a >= 1e4) return (v / 1e3).toFixed(0) + 'k';
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

// A uPlot line (or bar) chart in EL over LABELS (dates or categories, one
// per x position); SERIES [{label, values}].
function chart(el, labels, series, opts) {
  opts = opts || {};
  if (!window.uPlot || !labels.length) { el.appendChild(notice('No data to chart.')); return null; }
  const width = Math.max(320, Math.min(el.clientWidth || 600, 1300));
  const bars = opts.bars ? uPlot.paths.bars({ size: [0.7, 60] }) : undefined;
  const xs = labels.map((_, i) => i);
  const u = new uPlot({
    width, height: opts.height || 240,
    scales: { x: { time: false, range: (u, lo, hi) => [lo - (opts.bars ? 0.6 : 0.1), hi + (opts.bars ? 0.6 : 0.1)] } },
    axes: [
      { incrs: [1, 2, 5, 7, 10, 14, 30, 60, 90, 180, 365], space: 70,
        values: (u, vals) => vals.map((v) => (Number.isInteger(v) && labels[v] !== undefined ? String(labels[v]) : '')) },
      { size: 60, incrs: opts.intY ? [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 1e4, 2e4, 5e4, 1e5, 1e6] : undefined,
        values: (u, vals) => vals.map(compact) },
    ],
    // The legend says something without the cursor too: a series with a
    // total (business charts) shows it, exact, until a day is pointed at.
    series: [{ label: opts.xlabel || 'date', value: (u, v, si, idx) => (idx === null || idx === undefined
      ? (series.some((s) => s.total !== undefined) ? 'total' : '--') : labels[v] === undefined ? '--' : String(labels[v])) },
      ...series.map((s, i) => ({
        label: s.label, stroke: s.color || PALETTE[i % PALETTE.length], width: 2,
        fill: opts.bars ? (s.color || PALETTE[i % PALETTE.length]) + '99' : undefined, paths: bars, points: { show: !opts.bars || undefined },
        value: (u, v, si, idx) => {
          if (idx === null || idx === undefined) return s.total !== undefined ? fmtDec(s.total) : '--';
          if (s.raw && s.raw[idx] !== null && s.raw[idx] !== undefined) return fmtDec(s.raw[idx]);
          return v === null || v === undefined ? '--' : String(v);
        },
      }))],
  }, [xs, ...series.map((s) => s.values)], el);
  return u;
}

function table(cols, rows, rowAttrs) {
  return h('table', {},
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { class: c.num ? 'num' : null }, c.label)))),
    h('tbody', {}, rows.map((r, i) => h('tr', rowAttrs ? rowAttrs(r, i) : {},
      cols.map((c) => { const v = c.get(r); return h('td', { class: c.num ? 'num' : null, ...(c.attrs ? c.attrs(r) : {}) }, v); })))));
}

function qs() { return new URLSearchParams(location.search); }

// ---------------------------------------------------------------- runs

async function pageRuns(stale) {
  const q = qs();
  const params = new URLSearchParams();
  for (const k of ['state', 'from', 'to']) if (q.get(k)) params.set(k, q.get(k));
  const data = await api('/api/runs?' + params.toString());
  if (stale()) return;
  clear($main);
  $main.appendChild(h('h1', {}, 'Runs'));

  const state = h('select', { id: 'f-state', name: 'state' },
    ['', 'success', 'failed', 'running', 'queued', 'sla_missed'].map((s) =>
      h('option', { value: s, selected: (q.get('state') || '') === s }, s || 'all states')));
  const from = h('input', { id: 'f-from', type: 'date', value: q.get('from') || '' });
  const to = h('input', { id: 'f-to', type: 'date', value: q.get('to') || '' });
  const apply = h('button', { id: 'f-apply', type: 'button', on: { click: () => {
    const p = new URLSearchParams();
    if (state.value) p.set('state', state.value);
    if (from.value) p.set('from', from.value);
    if (to.value) p.set('to', to.value);
    history.pushState(null, '', '/runs' + (p.toString() ? '?' + p : ''));
    route();
  } } }, 'Apply');
  $main.appendChild(card(null, h('div', { class: 'filters' },
    h('label', {}, 'State', state), h('label', {}, 'From', from), h('label', {}, 'To', to), apply)));

  if (!data.metadata) { $main.appendChild(notice('No metadata database yet: run txnflow run --date YYYY-MM-DD.')); return; }
  if (!data.runs.length) { $main.appendChild(notice('No runs match.')); return; }
  const tasks = data.tasks;
  const nMiss = data.runs.filter((r) => r.sla_missed).length;
  const nFail = data.runs.filter((r) => r.state === 'failed').length;
  const limited = data.runs.length >= data.limit && !q.get('from') && !q.get('to');
  $main.appendChild(h('div', { class: 'kpis' },
    h('div', { class: 'kpi' }, h('b', { id: 'kpi-runs' }, data.runs.length), h('span', {}, limited ? 'latest dates shown (set From/To for older)' : 'dates shown')),
    h('div', { class: 'kpi' + (nFail ? ' bad' : '') }, h('b', { id: 'kpi-failed' }, nFail), h('span', {}, 'failed')),
    h('div', { class: 'kpi' + (nMiss ? ' bad' : '') }, h('b', { id: 'kpi-sla' }, nMiss), h('span', {}, 'SLA misses'))));

  const detail = h('div', { id: 'attempts' });
  const attemptsOnce = latestOnly(), logOnce = latestOnly();
  function showAttempts(run, task) {
    return attemptsOnce(() => api(`/api/attempts?run=${encodeURIComponent(run.run_id)}&task=${encodeURIComponent(task)}`), (d) => {
      clear(detail);
      detail.appendChild(card(`${run.logical_date} · ${task} · attempts`,
        table([
          { label: '#', get: (a) => a.attempt, num: true },
          { label: 'state', get: (a) => stateBadge(a.state) },
          { label: 'started', get: (a) => fmtTime(a.started_at_us) },
          { label: 'duration', get: (a) => fmtSecs(a.duration_s), num: true },
          { label: 'exit', get: (a) => a.exit_status ?? '—', num: true },
          { label: 'error', get: (a) => a.error || '' },
          { label: 'log', get: (a) => a.has_log ? h('button', { class: 'btn small', 'data-attempt': a.attempt_id, on: { click: () => showLog(a) } }, 'view log') : '—' },
        ], d.attempts),
        h('div', { id: 'log-view' })));
    });
  }
  function showLog(a) {
    return logOnce(() => apiText('/api/log?attempt=' + encodeURIComponent(a.attempt_id)), (r) => {
      const box = clear(document.getElementById('log-view'));
      box.appendChild(r.error !== null ? notice('Log unavailable: ' + r.error) : h('pre', { class: 'log', id: 'log-text' }, r.text));
    });
  }

  const cols = [
    { label: 'date', get: (r) => r.logical_date },
    { label: 'run', get: (r) => stateBadge(r.state) },
    ...tasks.map((t) => ({ label: t, get: (r) => {
      const x = r.tasks[t];
      if (!x) return h('span', { class: 'muted' }, '—');
      const label = x.state + (x.n_attempts > 1 ? ' ×' + x.n_attempts : '') + ' · ' + fmtSecs(x.duration_s);
      return h('button', { class: 'state s-' + String(x.state).replace(/[^a-z_]/g, ''), 'data-date': r.logical_date, 'data-task': t,
        title: 'attempts and logs', on: { click: () => showAttempts(r, t) } }, label);
    } })),
    { label: 'duration', get: (r) => fmtSecs(r.duration_s), num: true },
    { label: 'SLA', get: (r) => r.sla_missed ? h('span', { class: 'state sla', 'data-sla-miss': r.logical_date }, 'SLA missed') : h('span', { class: 'muted' }, 'ok') },
    // why a run did not succeed: the failed task's first error line (its
    // attempts, one click away, hold each attempt's and the log)
    { label: 'error', get: (r) => r.state !== 'success' && r.error ? h('span', { class: 'err', 'data-run-error': r.logical_date }, r.error) : '' },
  ];
  const chartBox = h('div', { class: 'chart', id: 'duration-chart' });
  $main.appendChild(card('Duration trend (seconds)', chartBox));
  $main.appendChild(card('Dates × tasks', table(cols, data.runs, (r) => ({ class: r.sla_missed ? 'sla-miss' : null, 'data-run-date': r.logical_date }))));
  $main.appendChild(detail);
  const asc = [...data.runs].reverse();
  chart(chartBox, asc.map((r) => r.logical_date), [
    { label: 'run', values: asc.map((r) => r.duration_s) },
    ...tasks.map((t) => ({ label: t, values: asc.map((r) => (r.tasks[t] ? r.tasks[t].duration_s : null)) })),
  ]);
}

// ---------------------------------------------------------------- quality

async function pageQuality(stale) {
  const [qd, rec] = await Promise.all([api('/api/quality'), api('/api/reconciliation')]);
  if (stale()) return;
  clear($main);
  $main.appendChild(h('h1', {}, 'Data quality'));
  if (!qd.metadata) { $main.appendChild(notice('No metadata database yet.')); return; }
  const L = qd.latest;
  $main.appendChild(h('div', { class: 'kpis' },
    h('div', { class: 'kpi' }, h('b', { id: 'tests-passing' }, L.pass), h('span', {}, 'tests passing (latest run)')),
    h('div', { class: 'kpi' + (L.fail + L.error ? ' bad' : '') }, h('b', { id: 'tests-failing' }, L.fail + L.error), h('span', {}, 'tests failing')),
    h('div', { class: 'kpi' }, h('b', { id: 'tests-warn' }, L.warn), h('span', {}, 'warnings'))));

  // Results over time: by_date rows are [logical_date, pass, fail + error, warn].
  const dates = qd.by_date.map((r) => r[0]);
  const chartBox = h('div', { class: 'chart', id: 'quality-chart' });
  $main.appendChild(card(`Test results over time (${qd.from} … ${qd.to === '9999-12-31' ? 'now' : qd.to})`, chartBox));

  const sampleBox = h('div', { id: 'sample' });
  const sampleOnce = latestOnly();
  const showSample = (r, t) => sampleOnce(() => api('/api/sample?result=' + encodeURIComponent(r.result_id)), (s) => {
    clear(sampleBox);
    let body;
    if (Array.isArray(s.sample) && s.sample.length && typeof s.sample[0] === 'object' && s.sample[0] !== null) {
      const keys = Object.keys(s.sample[0]);
      body = table(keys.map((k) => ({ label: k, get: (row) => (row[k] === null ? 'NULL' : typeof row[k] === 'object' ? JSON.stringify(row[k]) : row[k]) })), s.sample);
    } else if (s.sample !== null && s.sample !== undefined) {
      body = h('pre', { class: 'log' }, typeof s.sample === 'string' ? s.sample : JSON.stringify(s.sample, null, 2));
    } else body = notice('No sample stored for this result.');
    sampleBox.appendChild(card(`Failing rows: ${t.model} · ${t.test} · ${r.logical_date || ''} (${fmtInt(r.failures)} failures)`,
      s.message ? h('p', {}, s.message) : null, body));
    // what the button opened is below a long table: bring it into view
    sampleBox.scrollIntoView({ block: 'start' });
  });
  const tests = [...qd.tests].sort((a, b) => {
    const fa = a.latest.status === 'pass' ? 1 : 0, fb = b.latest.status === 'pass' ? 1 : 0;
    return fa - fb || a.model.localeCompare(b.model) || a.test.localeCompare(b.test);
  });
  $main.appendChild(card('Tests per model', tests.length ? table([
    { label: 'model', get: (t) => t.model || '(singular)' },
    { label: 'test', get: (t) => t.test },
    { label: 'severity', get: (t) => t.latest.severity },
    { label: 'latest', get: (t) => stateBadge(t.latest.status, { 'data-test': t.test }) },
    { label: 'failures', get: (t) => fmtInt(t.latest.failures), num: true },
    { label: 'history', get: (t) => h('span', { class: 'strip' }, t.results.slice(-40).map(([, date, status, failures]) =>
      h('span', { class: 's-' + String(status).replace(/[^a-z]/g, ''), title: `${date || ''} ${status} (${failures ?? 0})` }))) },
    { label: 'sample', get: (t) => t.latest.status !== 'pass' && t.latest.has_sample
      ? h('button', { class: 'btn small', 'data-sample': t.test, on: { click: () => showSample(t.latest, t) } }, 'failing rows') : '' },
  ], tests, (t) => ({ 'data-model': t.model, 'data-status': t.latest.status })) : notice('No test results yet: run txnflow models build.')));
  $main.appendChild(sampleBox);

  const eq = (r) => `${fmtInt(r.lines_read)} = ${fmtInt(r.inserted)} + ${fmtInt(r.updated)} + ${fmtInt(r.duplicates)} + ${fmtInt(r.stale)} + ${fmtInt(r.quarantined)}`;
  $main.appendChild(card('Reconciliation per clean run: lines read = inserted + updated + duplicates + stale + quarantined',
    rec.runs.length ? table([
      { label: 'ingest date', get: (r) => r.ingest_date },
      { label: 'state', get: (r) => stateBadge(r.state) },
      { label: 'lines_read = inserted + updated + duplicates + stale + quarantined', get: (r) => h('span', { class: 'eq' }, eq(r)) },
      { label: 'holds', get: (r) => r.holds === null ? '—' : r.holds ? h('span', { class: 'eq-ok' }, '✓ holds') : h('span', { class: 'eq-fail' }, '✗ does not hold') },
      { label: 'quarantined by reason', get: (r) => Object.entries(r.quarantined_by_reason).map(([k, v]) => `${k}: ${fmtInt(v)}`).join(', ') || '—' },
      { label: 'partitions', get: (r) => r.partitions ? r.partitions.length : fmtInt(r.partitions_rewritten), num: true },
    ], rec.runs, (r) => ({ class: r.holds === false ? 'eq-bad' : null, 'data-ingest-date': r.ingest_date, 'data-holds': String(r.holds) }))
      : notice('No clean runs yet: run txnflow clean --date YYYY-MM-DD.')));
  chart(chartBox, dates, [
    { label: 'passing', values: qd.by_date.map((r) => r[1]) },
    { label: 'failing', values: qd.by_date.map((r) => r[2]) },
    { label: 'warnings', values: qd.by_date.map((r) => r[3]) },
  ], { intY: true });
}

// ---------------------------------------------------------------- lineage

async function pageLineage(stale) {
  const g = await api('/api/lineage');
  if (stale()) return;
  clear($main);
  $main.appendChild(h('h1', {}, 'Lineage'));
  if (g.manifest !== 'ok')
    $main.appendChild(notice(g.manifest === 'missing'
      ? 'No models manifest yet (target/manifest.json): run txnflow models build or txnflow models docs. Showing the lake only.'
      : 'The models manifest cannot be read: ' + g.manifest));
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const layers = [];
  for (const n of g.nodes) (layers[n.layer] = layers[n.layer] || []).push(n);
  const order = { bronze: 0, silver: 1, source: 2, seed: 3, model: 4 };
  layers.forEach((l) => l && l.sort((a, b) => (order[a.kind] ?? 9) - (order[b.kind] ?? 9) || a.name.localeCompare(b.name)));
  const W = 176, H = 32, GX = 44, GY = 14;
  const pos = new Map();
  let maxRows = 0;
  layers.forEach((l, x) => { if (!l) return; l.forEach((n, y) => pos.set(n.id, { x: 20 + x * (W + GX), y: 20 + y * (H + GY) })); maxRows = Math.max(maxRows, l.length); });
  const width = 40 + layers.length * (W + GX), height = 40 + maxRows * (H + GY);
  const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'lineage graph' });
  const edgeEls = [];
  for (const [from, to] of g.edges) {
    const a = pos.get(from), b = pos.get(to);
    if (!a || !b) continue;
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, mx = (x1 + x2) / 2;
    const p = svg('path', { class: 'edge', d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`,
      'data-from': byId.get(from).name, 'data-to': byId.get(to).name });
    edgeEls.push({ from, to, el: p });
    root.appendChild(p);
  }
  const detail = h('div', { id: 'node-detail', class: 'detail' });
  const nodeEls = new Map();
  function select(id) {
    const n = byId.get(id);
    for (const [k, el] of nodeEls) el.classList.toggle('sel', k === id);
    for (const e of edgeEls) e.el.classList.toggle('hl', e.from === id || e.to === id);
    clear(detail);
    const link = (x) => h('button', { class: 'linklike', on: { click: () => select(x) } }, byId.get(x) ? byId.get(x).name : x);
    const b = n.last_build;
    detail.appendChild(card(n.name,
      h('dl', {},
        h('dt', {}, 'kind'), h('dd', {}, n.kind + (n.materialized ? ' · ' + n.materialized : '')),
        h('dt', {}, 'description'), h('dd', {}, n.description || '—'),
        n.path ? [h('dt', {}, 'file'), h('dd', {}, n.path)] : null,
        h('dt', {}, 'upstream'), h('dd', {}, n.upstream.length ? n.upstream.map((u, i) => [i ? ', ' : '', link(u)]) : '—'),
        h('dt', {}, 'downstream'), h('dd', {}, n.downstream.length ? n.downstream.map((u, i) => [i ? ', ' : '', link(u)]) : '—'),
        h('dt', {}, 'rows'), h('dd', { id: 'node-rows' }, fmtInt(n.row_count)),
        h('dt', {}, 'last build'), h('dd', {}, b ? [stateBadge(b.state), ' ', fmtTime(b.started_at_us), b.logical_date ? ' · for ' + b.logical_date : '',
          b.duration_us !== null ? ' · ' + fmtSecs(b.duration_us / 1e6) : '', b.error ? ' · ' + b.error : ''] : '—')),
      h('h2', {}, 'Columns'),
      n.columns.length ? table([{ label: 'name', get: (c) => c.name }, { label: 'type', get: (c) => c.type || '' }, { label: 'description', get: (c) => c.description || '' }], n.columns) : notice('No columns documented.'),
      h('h2', {}, 'Tests'),
      n.tests.length ? table([{ label: 'test', get: (t) => t.name }, { label: 'status', get: (t) => stateBadge(t.status) },
        { label: 'failures', get: (t) => fmtInt(t.failures), num: true }, { label: 'severity', get: (t) => t.severity }, { label: 'date', get: (t) => t.logical_date || '' }], n.tests)
        : notice('No tests on this node.')));
  }
  for (const n of g.nodes) {
    const p = pos.get(n.id);
    const failed = (n.last_build && n.last_build.state !== 'success') || n.tests.some((t) => t.status === 'fail' || t.status === 'error');
    const kind = n.kind === 'model' && /^mart_/.test(n.name) ? 'mart' : n.kind;
    const el = svg('g', { class: `node k-${kind}${failed ? ' failed' : ''}`, transform: `translate(${p.x},${p.y})`, 'data-node': n.name, tabindex: 0,
      on: { click: () => select(n.id), keydown: (e) => { if (e.key === 'Enter') select(n.id); } } },
      svg('rect', { width: W, height: H, rx: 6 }),
      svg('text', { x: 10, y: H / 2 + 4 }, n.name.length > 23 ? n.name.slice(0, 22) + '…' : n.name),
      svg('title', {}, `${n.name} (${n.kind})`));
    nodeEls.set(n.id, el);
    root.appendChild(el);
  }
  $main.appendChild(card('bronze → silver → models → marts (click a node)', h('div', { class: 'graph', id: 'graph' }, root)));
  $main.appendChild(detail);
  const want = qs().get('node');
  const first = g.nodes.find((n) => n.name === want) || g.nodes.find((n) => /^mart_/.test(n.name)) || g.nodes[0];
  if (first) select(first.id);
}

// ---------------------------------------------------------------- lake

async function pageLake(stale) {
  const d = await api('/api/lake');
  if (stale()) return;
  clear($main);
  $main.appendChild(h('h1', {}, 'Lake'));
  if (!d.metadata) { $main.appendChild(notice('No metadata database yet.')); return; }
  $main.appendChild(h('div', { class: 'kpis' },
    h('div', { class: 'kpi' }, h('b', { id: 'lake-partitions' }, fmtInt(d.partitions.length)), h('span', {}, 'silver partitions')),
    h('div', { class: 'kpi' }, h('b', { id: 'lake-rows' }, fmtInt(d.total_rows)), h('span', {}, 'rows')),
    h('div', { class: 'kpi' }, h('b', {}, fmtBytes(d.total_bytes)), h('span', {}, 'on disk')),
    h('div', { class: 'kpi' }, h('b', { id: 'lake-quarantined' }, fmtInt(d.quarantine_by_reason.reduce((s, r) => s + r.n, 0))), h('span', {}, 'lines in quarantine'))));
  $main.appendChild(card('Silver partitions (silver/transactions)', d.partitions.length ? table([
    { label: 'partition', get: (p) => p.partition },
    { label: 'rows', get: (p) => fmtInt(p.n_rows), num: true },
    { label: 'size', get: (p) => fmtBytes(p.size_bytes), num: true },
    { label: 'last rewrite', get: (p) => fmtTime(p.committed_at_us) },
    { label: 'rewrites', get: (p) => fmtInt(p.rewrites), num: true },
    { label: 'written by', get: (p) => (p.ingest_date ? `clean of ${p.ingest_date}` : `clean #${p.clean_id ?? '?'}`) + (p.run_id ? ` · run #${p.run_id}` : '') },
    { label: 'sha256', get: (p) => (p.sha256 || '').slice(0, 12) },
  ], d.partitions, (p) => ({ 'data-partition': p.partition })) : notice('No partitions yet: run txnflow clean --date YYYY-MM-DD.')));
  // The lake's versions (txnflow lake log): every clean commits one, and
  // txnflow sql --as-of VERSION reads the lake as it was then.
  const versions = (d.versions || []).slice().reverse();
  $main.appendChild(card(`Lake versions (${versions.length})`,
    h('div', { id: 'lake-versions' },
      d.versions_error ? notice('Versions unreadable: ' + d.versions_error) : null,
      versions.length ? table([
        { label: 'version', get: (v) => fmtInt(v.version), num: true },
        { label: 'committed (UTC)', get: (v) => (v.committed_at || '').slice(0, 19).replace('T', ' ') },
        { label: 'operation', get: (v) => v.operation || '' },
        { label: 'run', get: (v) => v.run_id || '' },
        { label: 'batches', get: (v) => fmtInt((v.batches || []).length), num: true },
        { label: 'partitions changed', get: (v) => (v.partitions_changed || []).length === 1 ? v.partitions_changed[0] : fmtInt((v.partitions_changed || []).length) + ' days' },
        { label: 'rows', get: (v) => fmtInt(v.rows), num: true },
      ], versions, (v) => ({ 'data-version': v.version }))
        : notice('No versions with a snapshot yet: run txnflow clean --date YYYY-MM-DD.'))));
  // Bronze files that hold card numbers (a card feed's), with their age
  // and the day the vacuum removes each: PCI DSS 3.2.1 asks to delete
  // them when no longer needed (docs/card-data.md, decision 2201).
  const cards = d.bronze_card_files || [];
  const ret = d.bronze_retention;
  const retText = !ret
    ? 'No retention is configured: these files are kept until deleted (PCI DSS 3.2.1: keep card numbers no longer than needed; set retention: in txnflow.yml).'
    : ret.days === null
      ? `Bronze files holding card numbers are kept forever (retention.${ret.from || 'bronze_card_files'}).`
      : `Bronze files holding card numbers are removed ${fmtInt(ret.days)} days after their ingest date (retention.${ret.from}${ret.from === 'bronze_card_files' ? '' : ', the shortest configured'}), by txnflow lake vacuum${ret.vacuum === 'daily' ? ', which the scheduler runs daily' : ' (the scheduler does not run it: vacuum: off)'}.`;
  if (cards.length)
    $main.appendChild(card(
      `Bronze files holding card numbers (${cards.length})`,
      h('div', { id: 'lake-card-files' },
        h('p', { class: 'muted', id: 'lake-card-retention' }, retText),
        table([
          { label: 'file', get: (f) => f.path },
          { label: 'ingest date', get: (f) => f.ingest_date },
          { label: 'age (days)', get: (f) => (f.age_days === null ? '?' : fmtInt(f.age_days)), num: true },
          { label: 'size', get: (f) => fmtBytes(f.size_bytes), num: true },
          { label: 'removed on', get: (f) => f.removes_on || 'kept' },
        ], cards, (f) => ({ 'data-card-file': f.path, 'data-removes-on': f.removes_on || '' })))));
  const samples = h('div', { id: 'q-samples' });
  const samplesOnce = latestOnly();
  const showSamples = (date, reason) => samplesOnce(() => api('/api/quarantine?date=' + encodeURIComponent(date) + (reason ? '&reason=' + encodeURIComponent(reason) : '')), (s) => {
    clear(samples);
    samples.appendChild(card(`Quarantine samples: ingest date ${date}${reason ? ' · ' + reason : ''}`,
      s.files.length ? s.files.map((f) => [h('p', { class: 'muted' }, `${f.name} (${fmtBytes(f.size_bytes)})`), h('pre', { class: 'log' }, f.lines.join('\n'))])
        : notice('No quarantine files for this date.')));
    samples.scrollIntoView({ block: 'start' });
  });
  $main.appendChild(h('div', { class: 'grid2' },
    card('Quarantine by reason code', d.quarantine_by_reason.length ? table([
      { label: 'reason', get: (r) => r.reason }, { label: 'lines', get: (r) => fmtInt(r.n), num: true }], d.quarantine_by_reason, (r) => ({ 'data-reason': r.reason }))
      : notice('Nothing quarantined.')),
    card('Quarantine by ingestion date', d.quarantine_by_date.length ? table([
      { label: 'ingest date', get: (r) => r.ingest_date }, { label: 'reason', get: (r) => r.reason }, { label: 'lines', get: (r) => fmtInt(r.n), num: true },
      { label: 'samples', get: (r) => h('button', { class: 'btn small', on: { click: () => showSamples(r.ingest_date, r.reason) } }, 'show') }], d.quarantine_by_date)
      : notice('Nothing quarantined.'))));
  $main.appendChild(samples);
}

// ---------------------------------------------------------------- business

// Exact sums of decimal strings ("12.30" + "-1.5"), as the amounts come
// from DuckDB: BigInt on the digits, never floating point.
function decSum(list) {
  let scale = 0;
  const parts = list.filter((s) => s !== null && s !== undefined).map((s) => {
    s = String(s);
    const neg = s.startsWith('-');
    const [i, f = ''] = (neg ? s.slice(1) : s).split('.');
    scale = Math.max(scale, f.length);
    return { neg, i: i || '0', f };
  });
  let total = 0n;
  for (const p of parts) {
    const v = BigInt(p.i + p.f.padEnd(scale, '0'));
    total += p.neg ? -v : v;
  }
  const neg = total < 0n;
  let digits = (neg ? -total : total).toString().padStart(scale + 1, '0');
  const out = scale ? digits.slice(0, -scale) + '.' + digits.slice(-scale) : digits;
  return (neg ? '-' : '') + out;
}

// rows: [date, key, value] -> the dates and a series per key, each with
// its values (numbers, to draw), raw (the exact text, for the legend) and
// total over the window. With TOP, the TOP keys of the largest totals keep
// a series each and the rest are summed into one "other" (grey): a chart of
// 17 categories is 17 lines in 10 colours, one of 6 and "other" is read at
// a glance.
const TOP_SERIES = 6;
function pivot(rows, top) {
  const dates = [...new Set(rows.map((r) => r[0]))].sort();
  const idx = new Map(dates.map((d, i) => [d, i]));
  const byKey = new Map();
  for (const [d, k, v] of rows) {
    if (!byKey.has(k)) byKey.set(k, dates.map(() => []));
    if (v !== null) byKey.get(k)[idx.get(d)].push(v);
  }
  let keys = [...byKey.keys()].sort();
  const totals = new Map(keys.map((k) => [k, decSum(byKey.get(k).flat())]));
  const big = (k) => { const t = totals.get(k); return Number(t); };
  let rest = [];
  if (top && keys.length > top + 1) {
    const ranked = [...keys].sort((a, b) => big(b) - big(a) || String(a).localeCompare(String(b)));
    keys = ranked.slice(0, top);
    rest = ranked.slice(top);
  }
  const make = (label, cells) => {
    const raw = cells.map((c) => (c.length ? decSum(c) : null));
    return { label, raw, values: raw.map((x) => (x === null ? null : Number(x))), total: decSum(cells.flat()) };
  };
  const series = keys.map((k) => make(k, byKey.get(k)));
  if (rest.length) {
    const other = make(`other (${rest.length})`, dates.map((_, i) => rest.flatMap((k) => byKey.get(k)[i])));
    other.color = '#9aa0a6';
    series.push(other);
  }
  return { dates, series };
}

// The charts are the project's: b.charts lists them in page order as
// txnflow.yml declares them (dashboard.business, docs/serve.md), b[id] is
// each one's data. A renderer gives the chart's cards and draws its charts
// once they are on the page; segments and histograms take half a row.
const withUnit = (c, text) => (c.unit ? `${text} (${c.unit})` : text);
const capitalized = (s) => s.charAt(0).toUpperCase() + s.slice(1);
const dataAttr = (label) => 'data-' + label.toLowerCase().replace(/[^a-z0-9]+/g, '-');

const BUSINESS = {
  timeseries: (c, s) => {
    const cols = c.series.length ? c.series : [null];
    const els = cols.map((col) => h('div', { class: 'chart', id: `${c.id}-${col || 'total'}-chart` }));
    return {
      cards: [h('div', { class: 'grid2' }, cols.map((col, i) => card(withUnit(c, col ? `${c.title} by ${col}` : c.title), els[i]))),
        card(withUnit(c, `${capitalized(c.y_label)} per day`), table([
          { label: c.x_label, get: (r) => r[0] },
          { label: c.y_label, get: (r) => fmtDec(r[1]), num: true, attrs: (r) => ({ [dataAttr(c.y_label)]: r[0] }) }], s.daily_total))],
      draw: () => cols.forEach((col, i) => {
        const p = col ? pivot(s['by_' + col], TOP_SERIES) : pivot(s.daily_total.map((r) => [r[0], c.y_label, r[1]]));
        chart(els[i], p.dates, p.series, { xlabel: c.x_label });
      }),
    };
  },
  segments: (c, s) => {
    const el = h('div', { class: 'chart', id: `${c.id}-chart` });
    const cols = [{ label: c.x_label, get: (r) => r[0] },
      { label: c.count_label, get: (r) => fmtDec(r[1]), num: true, attrs: (r) => ({ [dataAttr(c.x_label)]: r[0] }) }];
    if (c.y) cols.push({ label: withUnit(c, c.y_label), get: (r) => fmtDec(r[2]), num: true });
    return {
      half: true,
      cards: [card(c.title, el, table(cols, s.segments))],
      draw: () => s.segments.length && chart(el, s.segments.map((r) => r[0]), [{ label: c.count_label, values: s.segments.map((r) => Number(r[1])) }],
        { bars: true, intY: true, xlabel: c.x_label, height: 200 }),
    };
  },
  histogram: (c, s) => {
    const el = h('div', { class: 'chart', id: `${c.id}-chart` });
    const st = s.stats;
    return {
      half: true,
      cards: [card(c.title, el, st ? h('p', { class: 'muted' },
        `${fmtDec(st[0])} ${c.count_label} · mean ${fmtDec(st[1])} · median ${fmtDec(st[2])} · max ${fmtDec(st[3])}${c.unit ? ' ' + c.unit : ''}`) : null)],
      draw: () => s.histogram.length && chart(el, s.histogram.map((r) => fmtInt(Math.round(Number(r[0])))),
        [{ label: c.count_label, values: s.histogram.map((r) => Number(r[1])) }], { bars: true, intY: true, xlabel: c.y_label + ' from', height: 200 }),
    };
  },
  table: (c, s) => ({
    cards: [card(c.title, h('p', { class: 'muted', id: `${c.id}-total` }, `${fmtInt(s.total)} ${c.count_label} in total; latest ${s.rows.length} shown`),
      table(s.columns.map((name, i) => ({ label: name, get: (r) => (r[i] === null ? '' : r[i]) })), s.rows))],
  }),
};

async function pageBusiness(stale) {
  const b = await api('/api/business');
  if (stale()) return;
  clear($main);
  $main.appendChild(h('h1', {}, 'Business'));
  if (!b.charts.length) {
    $main.appendChild(notice('Nothing to chart: declare the charts of this page under dashboard.business in txnflow.yml (docs/serve.md).'));
    return;
  }
  let halves = [];
  const place = (parts) => {
    if (parts.half) { halves.push(parts); return; }
    flush();
    parts.cards.forEach((el) => $main.appendChild(el));
    if (parts.draw) parts.draw();
  };
  const flush = () => {
    if (!halves.length) return;
    $main.appendChild(h('div', { class: 'grid2' }, halves.flatMap((x) => x.cards)));
    halves.forEach((x) => x.draw && x.draw());
    halves = [];
  };
  for (const c of b.charts) {
    const s = b[c.id];
    const what = c.model || c.title;
    if (s.status === 'ok') place(BUSINESS[c.kind](c, s));
    else place({ half: c.kind === 'segments' || c.kind === 'histogram', cards: [card(c.title, h('div', { id: `${c.id}-missing` }, notice(s.status === 'not_built'
      ? `Not built yet: ${s.message}. Run txnflow models build to build ${what}.` : `Cannot read ${what}: ${s.message}`)))] });
  }
  flush();
}

// ---------------------------------------------------------------- router

const PAGES = { runs: pageRuns, quality: pageQuality, lineage: pageLineage, lake: pageLake, business: pageBusiness };

// Renders of the page shown: a page started by an earlier navigation
// (the Back button, a filter applied twice) that answers late is dropped.
let routeSeq = 0;

async function route() {
  const mine = ++routeSeq;
  const stale = () => mine !== routeSeq;
  const name = location.pathname.replace(/^\//, '') || 'runs';
  const page = PAGES[name] || pageRuns;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.page === (PAGES[name] ? name : 'runs'));
  document.title = 'txnflow · ' + (document.querySelector(`#nav a[data-page="${PAGES[name] ? name : 'runs'}"]`) || {}).textContent;
  banner(null);
  document.body.removeAttribute('data-ready'); // tests wait for the next render
  try {
    await page(stale);
    if (!stale()) document.body.setAttribute('data-ready', name);
  } catch (e) {
    if (stale()) return;
    clear($main);
    $main.appendChild(h('h1', {}, 'Cannot load this page'));
    $main.appendChild(notice(e instanceof ApiError ? e.message : String(e)));
    banner(e instanceof ApiError ? 'The server answered with an error: ' + e.message : 'Error: ' + e);
    document.body.setAttribute('data-ready', 'error');
  }
}

async function init() {
  try {
    const s = await api('/api/summary');
    TZ = s.timezone || 'UTC';
    document.getElementById('project').textContent = (s.project ? s.project + ' · ' : '') + (s.last_date ? 'last run ' + s.last_date + ' (' + s.last_state + ')' : 'no runs yet');
    document.getElementById('tz').textContent = TZ;
  } catch (e) {
    banner('Metadata unavailable: ' + e.message);
  }
  window.addEventListener('popstate', route);
  route();
}

init();
