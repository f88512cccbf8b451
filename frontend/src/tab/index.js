// The Architecture tab: TensorBoard loads this ES module in its plugin iframe and calls
// render(). This module wires the toolbar, the run and version choice and the drawing
// together; state (state.js), layout worker (elk.js), prefetching (prefetch.js), version
// diff (diff.js), export (exporting.js), landing fit (fit.js) live in their own modules.
import { buildTree, layoutView, renderDiagram, reveal, search, stateFor, toggle } from '../diagram/index.js';
import { getJSON } from '../common/api.js';
import { html, toDom } from '../common/dom.js';
import { ARCHITECTURE_PLUGIN, listenForReload, onFocus, onSharedStep as onSharedStepChange,
  readFocus, readUrlChoice, writeUrlChoice } from '../common/host.js';
import { landingRun } from '../common/runs.js';
import { showDetails } from './details.js';
import { diffRecords } from './diff.js';
import { makeElk, warmUpElk } from './elk.js';
import { exportPng as exportPngOf, exportSvg as exportSvgOf, paperSvg as paperSvgOf } from './exporting.js';
import { healthStatLabel, loadHealth, offerHealthStats, onHealthSlider, onSharedStep, setColorMode,
  setDrawing } from './health.js';
import { LayoutCache } from './layoutcache.js';
import { PREFETCH_KEY, prefetchLayouts } from './prefetch.js';
import { app, setStatus, ui } from './state.js';
import { fillRunSelect, fillVersionSelects, showProblems, updateStatus } from './runlist.js';
import { buildUi } from './toolbar.js';
import { fillViewSelect, mountView, setView } from './viewhost.js';
import '../views/index.js';

const getJson = (url) => getJSON(url);

async function loadRuns() {
  const body = await getJson('runs');
  app.runs = body.runs;
  showProblems(body.problems);
  fillRunSelect();
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
  } catch {
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
    fillRunSelect();
    ui.runSel.value = app.run;
    fillVersionSelects();
  } catch {
    /* the next reload tries again */
  } finally {
    refreshing = false;
  }
}

function drawOptions() {
  const health = app.colorMode === 'health';
  return { colorMode: health ? 'value' : app.colorMode, selected: app.selected, highlight: app.highlight,
    diff: app.diff || undefined, legend: true,
    values: health && app.health ? app.health.values : undefined,
    valueLabel: health && app.health ? `${healthStatLabel()} @ step ${app.health.step}` : undefined };
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
    // made a tab opened earlier switch the run and select nothing.)
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
  Object.assign(ui, buildUi(root, { chooseRun, setView, setDiff, setDepth, setColorMode, loadHealth,
    onHealthSlider, nextHit, runSearch, exportSvg, exportPng, canvasClick: onCanvasClick,
    chooseVersion: (v) => loadRun(app.run, v) }));
  setDrawing({ redraw, repaint });
  app.elk = makeElk();
  app.layouts = new LayoutCache(app.elk);
  try {
    app.prefetch = window.localStorage.getItem(PREFETCH_KEY) !== 'off';
  } catch { /* storage disabled: keep the default */ }
  warmUpElk(app.elk, (ms) => { app.timings.elkWarmMs = ms; });
  onFocus((f) => applyFocus(f));
  onSharedStepChange(() => onSharedStep());
  // Handle for tests and for other tools in the page: read-only views and the exports.
  window.__archviz = { app, exportSvg: paperSvg, exportPng, focusLayer, show, setView, setColorMode,
    ready: false };
  try {
    offerHealthStats(await getJson('registry'));
  } catch { /* colouring by health stays without choices */ }
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
