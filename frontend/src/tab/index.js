// The Architecture tab: TensorBoard loads this ES module in its plugin iframe and calls
// render(). This module wires the toolbar, the run and version choice and the drawing
// together; state (state.js), layout worker (elk.js), prefetching (prefetch.js), version
// diff (diff.js), export (exporting.js), landing fit (fit.js) live in their own modules.
import { buildTree, layoutView, renderDiagram, reveal, search, stateFor, toggle } from '../diagram/index.js';
import { getJSON } from '../common/api.js';
import { clear, html, toDom } from '../common/dom.js';
import { ARCHITECTURE_PLUGIN, listenForReload, onFocus, onSharedStep as onSharedStepChange,
  readFocus, readSharedStep, readUrlChoice, writeSharedStep, writeUrlChoice } from '../common/host.js';
import { landingRun } from '../common/runs.js';
import { showDetails } from './details.js';
import { diffRecords } from './diff.js';
import { makeElk, warmUpElk } from './elk.js';
import { exportPng as exportPngOf, exportSvg as exportSvgOf, paperSvg as paperSvgOf } from './exporting.js';
import { healthStatsFrom } from './health.js';
import { LayoutCache } from './layoutcache.js';
import { PanZoom } from './panzoom.js';
import { PREFETCH_KEY, prefetchLayouts } from './prefetch.js';
import { app, setStatus, ui } from './state.js';
import { availableViews, DIAGRAM_VIEW, getView } from './views.js';
import '../views/index.js';

// Health statistics offered for colouring ("family/stat", label), from /registry.
let HEALTH_STATS = [];

const getJson = (url) => getJSON(url);

function buildUi(root) {
  const runSel = html('select', { class: 'run', title: 'run', onchange: () => chooseRun(runSel.value) });
  const viewSel = html('select', { class: 'view', title: 'view', onchange: () => setView(viewSel.value) });
  const verSel = html('select', { class: 'version', title: 'architecture version',
    onchange: () => loadRun(app.run, Number(verSel.value)) });
  const diffSel = html('select', { class: 'diff', title: 'compare with another version',
    onchange: () => setDiff(diffSel.value) });
  const depth = html('input', { type: 'range', min: '1', max: '1', value: '1', class: 'depth',
    title: 'depth: how many levels of blocks are open', oninput: () => setDepth(Number(depth.value)) });
  const depthLabel = html('span', { class: 'depth-label' }, '');
  const color = html('select', { class: 'color', title: 'colour by',
    onchange: () => setColorMode(color.value) },
  html('option', { value: 'type' }, 'colour: layer type'),
  html('option', { value: 'params' }, 'colour: parameters'),
  html('option', { value: 'device' }, 'colour: device'),
  html('option', { value: 'health' }, 'colour: health'));
  const healthStat = html('select', { class: 'health-stat', title: 'health statistic',
    onchange: () => loadHealth() },
  ...HEALTH_STATS.map(([value, label]) => html('option', { value }, label)));
  const healthStep = html('input', { type: 'range', min: '0', max: '0', value: '0', class: 'health-step',
    title: 'logged step (shared with the Anomaly Timeline tab)', oninput: () => onHealthSlider() });
  const healthLabel = html('span', { class: 'health-label' }, '');
  const healthBar = html('span', { class: 'health-bar', hidden: true }, healthStat,
    html('label', {}, 'step ', healthStep, healthLabel));
  const find = html('input', { type: 'search', class: 'search', placeholder: 'search modules',
    onkeydown: (e) => { if (e.key === 'Enter') nextHit(); }, oninput: () => runSearch(find.value) });
  const hitLabel = html('span', { class: 'hits' }, '');
  const fit = html('button', { class: 'fit', title: 'the whole diagram; again: back to a readable width',
    onclick: () => ui.pz.toggleFit() }, 'Fit');
  const svgBtn = html('button', { class: 'export-svg', onclick: () => exportSvg() }, 'Export SVG');
  const pngBtn = html('button', { class: 'export-png', onclick: () => exportPng() }, 'Export PNG');
  const toolbar = html('div', { class: 'toolbar' }, html('label', {}, 'View ', viewSel), runSel, verSel, diffSel,
    html('label', {}, 'depth ', depth, depthLabel), color, healthBar, find, hitLabel, fit, svgBtn, pngBtn);
  const canvas = html('div', { class: 'canvas' });
  const minimap = html('div', { class: 'minimap' });
  const details = html('div', { class: 'details' });
  const status = html('div', { class: 'status' }, 'loading…');
  root.appendChild(toolbar);
  const stage = html('div', { class: 'stage' }, canvas, minimap);
  const viewHost = html('div', { class: 'view-host', hidden: true });
  root.appendChild(html('div', { class: 'main' }, stage, viewHost, details));
  root.appendChild(status);
  const pz = new PanZoom(canvas, minimap);
  canvas.addEventListener('click', onCanvasClick);
  return { healthBar, healthStat, healthStep, healthLabel, viewSel, stage, viewHost, runSel, verSel, diffSel, depth, depthLabel, color, find, hitLabel, canvas, minimap, details, status, pz };
}

// Records the backend could not read (/runs "problems": {run: [message]}), one visible line
// per run above the status line; an unreadable record is never silently missing.
function showProblems(problems) {
  if (!ui.problems) {
    ui.problems = html('div', { class: 'problems', role: 'status' });
    ui.status.before(ui.problems);
  }
  clear(ui.problems);
  for (const [run, messages] of Object.entries(problems || {})) {
    ui.problems.appendChild(html('div', { class: 'problem' },
      `${run}: could not read everything: ${messages.join(' · ')}`));
  }
  ui.problems.hidden = !ui.problems.firstChild;
}

async function loadRuns() {
  const body = await getJson('runs');
  app.runs = body.runs;
  showProblems(body.problems);
  clear(ui.runSel);
  for (const r of app.runs) ui.runSel.appendChild(html('option', { value: r.run }, r.run));
  if (!app.runs.length) {
    setStatus('No architecture recorded yet: add ArchVizCallback() to your Trainer.');
    return;
  }
  const focus = readFocus();
  const names = app.runs.map((r) => r.run);
  const run = focus && names.includes(focus.run) ? focus.run
    : app.run && names.includes(app.run) ? app.run
      : landingRun(names, readUrlChoice(ARCHITECTURE_PLUGIN, 'run'), await timelineRuns());
  await loadRun(run, null, { landing: true });
}

// The Anomaly Timeline's run list (its plugin's /runs), so that this tab lands on the same
// worst run; [] when that plugin is not there.
async function timelineRuns() {
  try {
    return (await getJSON('../archviz_health/runs')).runs || [];
  } catch (err) {
    return [];
  }
}

// The user picked a run: show it and keep the choice in the URL.
async function chooseRun(run) {
  writeUrlChoice(ARCHITECTURE_PLUGIN, 'run', run);
  await loadRun(run, null, { landing: true });
}

// Land readably: if the drawing's width does not fit at a scale where its labels read
// (fit.js), show one level less, down to depth 1.
async function landReadably() {
  for (let i = 0; i < 8; i++) {
    if (!app.view || ui.pz.fit() || app.state.depth <= 1) return;
    app.state = { ...app.state, depth: app.state.depth - 1, expanded: [], collapsed: [] };
    await redraw();
  }
}

async function loadRun(run, version, opts = {}) {
  const t0 = performance.now();
  const q = `architecture?run=${encodeURIComponent(run)}` + (version === null ? '' : `&version=${version}`);
  const body = await getJson(q);
  const tFetched = performance.now();
  app.run = run;
  app.version = body.version.index;
  app.record = body.record;
  app.tree = buildTree(body.record);
  const tTree = performance.now();
  app.state = stateFor(app.tree, null);
  app.timings.load = { fetchMs: Math.round(tFetched - t0), treeMs: Math.round(tTree - tFetched),
    stateMs: Math.round(performance.now() - tTree) };
  app.selected = null;
  app.highlight = new Set();
  app.diff = null;
  const keepStep = app.health ? app.health.step : null;
  app.health = null;
  ui.runSel.value = run;
  ui.diffSel.value = '';
  fillVersionSelects();
  ui.depth.max = String(Math.max(1, app.tree.maxDepth));
  fillViewSelect();
  await redraw({ fit: true });
  if (opts.landing) await landReadably();
  if (app.colorMode === 'health') await loadHealth(keepStep);
  mountView();
  app.timings.firstPaintMs = Math.round(performance.now() - t0);
  // From the tab's start, the run list's request included (the first drawing only).
  if (app.timings.fromStartMs === undefined && app.timings.start !== undefined) {
    app.timings.fromStartMs = Math.round(performance.now() - app.timings.start);
  }
  applyFocus(readFocus());
  showDetails(ui.details, app.tree, app.selected, app.record);
  updateStatus();
}

// Live: TensorBoard's reload (and a slow poll) re-reads the run list. A run whose
// architecture appeared since shows up; the user's run, version and view are kept.
const POLL_MS = 30000;
let refreshing = false;
async function refreshRuns() {
  if (refreshing) return;
  refreshing = true;
  try {
    const body = await getJson('runs');
    showProblems(body.problems);
    const before = JSON.stringify(app.runs);
    if (JSON.stringify(body.runs) === before) return;
    app.runs = body.runs;
    if (!app.record) {
      await loadRuns();
      return;
    }
    clear(ui.runSel);
    for (const r of app.runs) ui.runSel.appendChild(html('option', { value: r.run }, r.run));
    ui.runSel.value = app.run;
    fillVersionSelects();
  } catch (err) {
    /* the next reload tries again */
  } finally {
    refreshing = false;
  }
}

function fillVersionSelects() {
  const info = app.runs.find((r) => r.run === app.run);
  const diffValue = ui.diffSel.value;
  clear(ui.verSel);
  clear(ui.diffSel);
  ui.diffSel.appendChild(html('option', { value: '' }, 'compare: off'));
  for (const v of (info ? info.versions : [])) {
    ui.verSel.appendChild(html('option', { value: String(v.index) }, `v${v.index} @ step ${v.step}`));
    if (v.index !== app.version) {
      ui.diffSel.appendChild(html('option', { value: String(v.index) }, `compare with v${v.index}`));
    }
  }
  for (const r of app.runs) {
    if (r.run === app.run || !r.versions.length) continue;
    const last = r.versions[r.versions.length - 1];
    ui.diffSel.appendChild(html('option', { value: `${last.index}@${r.run}` },
      `compare with ${r.run} (v${last.index})`));
  }
  ui.verSel.value = String(app.version);
  ui.diffSel.value = [...ui.diffSel.options].some((o) => o.value === diffValue) ? diffValue : '';
}

function updateStatus() {
  const r = app.record;
  const totals = (r && r.totals) || {};
  const view = app.view;
  setStatus(`${r.model_class} · ${totals.modules ?? '?'} modules · ${totals.parameters ?? '?'} parameters · ` +
    `showing ${view ? view.folded.nodes.length : 0} blocks, ${view ? view.folded.edges.length : 0} edges · ` +
    `first paint ${app.timings.firstPaintMs ?? '?'} ms` +
    (app.timings.lastLayoutMs !== undefined ? ` · last layout ${app.timings.lastLayoutMs} ms` : '') +
    (r.status !== 'ok' ? ` · capture ${r.status}: ${r.error || ''}` : ''));
}

function drawOptions() {
  const health = app.colorMode === 'health';
  return { colorMode: health ? 'value' : app.colorMode, selected: app.selected, highlight: app.highlight,
    diff: app.diff || undefined, legend: true,
    values: health && app.health ? app.health.values : undefined,
    valueLabel: health && app.health ? `${healthStatLabel()} @ step ${app.health.step}` : undefined };
}

// ---- health colour mode: a statistic per block at a logged step ----
function healthStatLabel() {
  const hit = HEALTH_STATS.find(([v]) => v === ui.healthStat.value);
  return hit ? hit[1] : ui.healthStat.value;
}

async function setColorMode(mode) {
  // Device lanes change the layout itself, so entering or leaving device mode lays out again.
  const relayout = (mode === 'device') !== (app.colorMode === 'device');
  app.colorMode = mode;
  ui.color.value = mode;
  ui.healthBar.hidden = mode !== 'health';
  if (mode === 'health') {
    const shared = readSharedStep();
    await loadHealth(shared ? shared.step : null);
  } else if (relayout && app.tree) {
    await redraw();
  } else {
    repaint();
  }
}

// Fetch the chosen statistic at ``step`` (null: the slider's step, else the latest) and repaint.
async function loadHealth(step) {
  if (!app.run) return;
  const [kind, stat] = ui.healthStat.value.split('/');
  if (step === undefined || step === null) {
    step = app.health && app.health.steps.length ? app.health.steps[Number(ui.healthStep.value)] : null;
  }
  const seq = ++app.healthSeq;
  const run = app.run;
  let body = null;
  try {
    body = await getJson(`health?run=${encodeURIComponent(run)}&kind=${kind}&stat=${stat}` +
      (step === null || step === undefined ? '' : `&step=${step}`));
  } catch (err) {
    if (seq !== app.healthSeq) return;
    app.health = { steps: [], step: null, values: {} };
    ui.healthLabel.textContent = ' no statistics logged';
    repaint();
    return;
  }
  if (seq !== app.healthSeq || run !== app.run) return;
  const values = {};
  for (const [k, v] of Object.entries(body.values)) values[k] = typeof v === 'string' ? Number(v) : v;
  app.health = { steps: body.steps, step: body.step, values, kind, stat };
  ui.healthStep.max = String(Math.max(0, body.steps.length - 1));
  ui.healthStep.value = String(Math.max(0, body.steps.indexOf(body.step)));
  ui.healthLabel.textContent = body.step === null ? ' no statistics logged' : ` ${body.step}`;
  if (app.colorMode === 'health') repaint();
}

async function onHealthSlider() {
  if (!app.health || !app.health.steps.length) return;
  const step = app.health.steps[Number(ui.healthStep.value)];
  ui.healthLabel.textContent = ` ${step}`;
  writeSharedStep(app.run, step);
  await loadHealth(step);
}

// The Timeline tab (or another Architecture tab) moved the shared step.
function onSharedStep() {
  const shared = readSharedStep();
  if (!shared || app.colorMode !== 'health') return;
  if (app.health && shared.step === app.health.step) return;
  loadHealth(shared.step);
}

// Lay out the current state (in the worker) and replace the drawing; stale results dropped.
async function redraw(opts = {}) {
  const seq = ++app.seq;
  const t0 = performance.now();
  let cached = false;
  const elk = { layout: (graph) => { const r = app.layouts.lookup(graph); cached = r.cached; return r.promise; } };
  const view = await layoutView(elk, app.tree, app.state, drawOptions());
  if (seq !== app.seq) return;
  app.view = view;
  app.timings.lastLayoutMs = Math.round(performance.now() - t0);
  ui.depth.value = String(app.state.depth);
  ui.depthLabel.textContent = ` ${app.state.depth}/${app.tree.maxDepth}`;
  const t1 = performance.now();
  const svg = toDom(view.el);
  ui.pz.setContent(svg, view.el, opts.fit);
  const round = (x) => Math.round(x * 10) / 10;
  app.timings.lastRedraw = { ...Object.fromEntries(Object.entries(view.timings).map(([k, x]) => [k, round(x)])),
    domMs: round(performance.now() - t1), totalMs: round(performance.now() - t0),
    nodes: view.folded.nodes.length, edges: view.folded.edges.length, cached };
  app.timings.redraws = (app.timings.redraws || 0) + 1;
  updateStatus();
  prefetchLayouts(app, () => seq === app.seq, drawOptions());
}

// Re-render colours/selection without a new layout.
function repaint() {
  if (!app.view) return;
  const el = renderDiagram(app.tree, app.view.folded, app.view.geo, drawOptions());
  app.view.el = el;
  ui.pz.setContent(toDom(el), el, false);
}

function setDepth(depth) {
  app.state = { ...app.state, depth, expanded: [], collapsed: [] };
  redraw();
}

function nodeIdFromEvent(e) {
  let t = e.target;
  while (t && t !== ui.canvas) {
    if (t.getAttribute && t.getAttribute('data-id') !== null) return t.getAttribute('data-id');
    t = t.parentNode;
  }
  return null;
}

async function onCanvasClick(e) {
  if (ui.pz.dragged) return;
  const id = nodeIdFromEvent(e);
  if (id === null) return;
  app.selected = id;
  showDetails(ui.details, app.tree, id, app.record);
  const v = app.view.folded.nodes.find((n) => n.id === id);
  const openable = v && (v.kind === 'repeat' || (v.kind === 'module' && app.tree.nodes.get(id).children.length));
  if (openable) {
    app.state = toggle(app.tree, app.state, id);
    await redraw();
  } else {
    repaint();
  }
}

function runSearch(q) {
  app.hits = search(app.tree, q);
  app.hitIndex = -1;
  app.highlight = new Set();
  ui.hitLabel.textContent = q ? `${app.hits.length} found` : '';
  if (app.hits.length) nextHit(); else repaint();
}

async function nextHit() {
  if (!app.hits.length) return;
  app.hitIndex = (app.hitIndex + 1) % app.hits.length;
  await focusLayer(app.hits[app.hitIndex]);
  ui.hitLabel.textContent = `${app.hitIndex + 1}/${app.hits.length}`;
}

// Open the ancestors of a module, select and highlight it, centre the view on it.
async function focusLayer(name) {
  const n = app.tree.nodes.get(name);
  if (!n) return false;
  if (n.inside !== undefined) name = n.inside; // drawn as part of a leaf block
  app.state = reveal(app.tree, app.state, name);
  app.selected = name;
  app.highlight = new Set([name]);
  await redraw();
  showDetails(ui.details, app.tree, name, app.record);
  const box = app.view.geo.nodes.get(name);
  if (box) ui.pz.centerOn(box);
  return true;
}

// Draw a given view state ({depth, expanded, collapsed, unfolded}) with nothing selected;
// show ``center`` (a module) and what feeds it as large as fits, else fit. For scripts (docs).
async function show(state, center = null) {
  app.state = { depth: app.state.depth, expanded: [], collapsed: [], unfolded: [], ...state };
  app.selected = null;
  app.highlight = new Set();
  await redraw({ fit: true });
  showDetails(ui.details, app.tree, null, app.record);
  const box = center !== null && app.view.geo.nodes.get(center);
  if (box) {
    // The block with what feeds it (150 px above), as large as fits, at most full scale.
    const ctx = { x: box.x, y: box.y - 150, width: box.width, height: box.height + 150 };
    ui.pz.t.k = Math.min(1, (ui.canvas.clientHeight - 24) / ctx.height);
    ui.pz.centerOn(ctx);
  }
}

let appliedFocus = null;
async function applyFocus(f) {
  if (!f || !app.tree) return;
  const key = JSON.stringify(f);
  if (key === appliedFocus) return;
  if (f.run && f.run !== app.run && app.runs.some((r) => r.run === f.run)) {
    // Not marked applied yet: loadRun applies it once the run is drawn. (Marking it first
    // made a tab opened earlier switch the run and select nothing: issue 16.)
    await loadRun(f.run, null);
    return;
  }
  appliedFocus = key;
  await focusLayer(f.layer);
}

// Compare with another version of this run ("N") or another run's version ("N@run").
async function setDiff(value) {
  if (value === '') { app.diff = null; repaint(); updateStatus(); return; }
  const at = value.indexOf('@');
  const otherRun = at < 0 ? app.run : value.slice(at + 1);
  const otherVersion = at < 0 ? value : value.slice(0, at);
  const other = (await getJson(`architecture?run=${encodeURIComponent(otherRun)}&version=${otherVersion}`)).record;
  const what = otherRun === app.run ? `v${otherVersion}` : `${otherRun} v${otherVersion}`;
  const { added, changed, removed } = diffRecords(app.record, other, app.tree,
    (id) => app.view.folded.rep.get(id));
  app.diff = { added, changed };
  repaint();
  setStatus(`compared with ${what}: ${added.size} added, ${changed.size} changed, ` +
    `${removed.length} removed${removed.length ? ' (' + removed.slice(0, 8).join(', ') + ')' : ''}`);
}

// ---- views (registry in views.js) ----
function viewContext() {
  return {
    run: app.run,
    version: app.version,
    get step() { const s = readSharedStep(); return s ? s.step : null; },
    fetchJSON: (rel) => getJson(rel),
    onSelectModule: (name) => {
      app.selected = name;
      showDetails(ui.details, app.tree, name, app.record);
    },
  };
}

function fillViewSelect() {
  const views = app.record ? availableViews(app.record, viewContext()) : [];
  clear(ui.viewSel);
  ui.viewSel.appendChild(html('option', { value: DIAGRAM_VIEW }, 'Block diagram'));
  for (const v of views) ui.viewSel.appendChild(html('option', { value: v.id }, v.label));
  if (!views.some((v) => v.id === app.viewId)) app.viewId = DIAGRAM_VIEW;
  ui.viewSel.value = app.viewId;
}

function unmountView() {
  if (app.viewHandle) {
    try { app.viewHandle.dispose(); } catch (err) { /* a view's cleanup must not break the tab */ }
  }
  app.viewHandle = null;
  clear(ui.viewHost);
}

// Show the chosen view for the current record (the diagram stays laid out underneath).
function mountView() {
  unmountView();
  const diagram = app.viewId === DIAGRAM_VIEW;
  ui.stage.hidden = !diagram;
  ui.viewHost.hidden = diagram;
  if (diagram || !app.record) return;
  const view = getView(app.viewId);
  try {
    app.viewHandle = view.render(ui.viewHost, app.record, viewContext()) || null;
  } catch (err) {
    ui.viewHost.appendChild(html('p', { class: 'view-error' }, `${view.label}: ${err.message}`));
  }
}

function setView(id) {
  app.viewId = id === DIAGRAM_VIEW || getView(id) ? id : DIAGRAM_VIEW;
  mountView();
  if (app.viewId === DIAGRAM_VIEW && app.view) ui.pz.fit();
}

// Export: the current view in paper style (exporting.js).
const paperSvg = () => paperSvgOf(app, drawOptions());
const exportSvg = () => exportSvgOf(app, drawOptions());
const exportPng = (scale = 2) => exportPngOf(app, drawOptions(), scale);

export async function render() {
  app.timings.start = performance.now();
  const link = html('link', { rel: 'stylesheet', href: new URL('./style.css', import.meta.url).href });
  document.head.appendChild(link);
  document.body.className = 'archviz';
  const root = html('div', { class: 'archviz-root' });
  document.body.appendChild(root);
  Object.assign(ui, buildUi(root));
  app.elk = makeElk();
  app.layouts = new LayoutCache(app.elk);
  try {
    app.prefetch = window.localStorage.getItem(PREFETCH_KEY) !== 'off';
  } catch (err) { /* storage disabled: keep the default */ }
  warmUpElk(app.elk, (ms) => { app.timings.elkWarmMs = ms; });
  onFocus((f) => applyFocus(f));
  onSharedStepChange(() => onSharedStep());
  // Handle for tests and for other tools in the page: read-only views and the exports.
  window.__archviz = { app, exportSvg: paperSvg, exportPng, focusLayer, show, setView, setColorMode,
    ready: false };
  try {
    HEALTH_STATS = healthStatsFrom(await getJson('registry'));
    ui.healthStat.replaceChildren(...HEALTH_STATS.map(([value, label]) =>
      html('option', { value }, label)));
  } catch (err) { /* colouring by health stays without choices */ }
  try {
    await loadRuns();
  } catch (err) {
    setStatus(`Could not load architectures: ${err.message}`);
  }
  listenForReload(() => refreshRuns());
  setInterval(() => refreshRuns(), POLL_MS);
  window.__archviz.refreshRuns = refreshRuns;
  window.__archviz.ready = true;
}
