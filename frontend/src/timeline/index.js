// The Anomaly Timeline tab: which run is broken, which layer, since when, and what to try.
// Entry point: TensorBoard imports this module in the tab's iframe and calls render().

import {getJSON, setMeasurePrefix} from '../common/api.js';
import {keyOf, renderAnomalyList, renderSummary} from './anomalies.js';
import {landingRun} from '../common/runs.js';
import {drawCurves, drawStepAxis, makeAxis} from './curves.js';
import {defaultStat, kindLabel, orderedStats, setVocabulary, statLabel} from './format.js';
import {Heatmap} from './heatmap.js';
import {listenForReload, onSharedStep, openInArchitecture, readSharedStep as sharedStep,
  readUrlChoice, TIMELINE_PLUGIN, writeSharedStep as setSharedStep, writeUrlChoice}
  from '../common/host.js';
import {renderLayer} from './layer.js';
import {Overview, OVERVIEW_MIN_RUNS} from './overview.js';
import {html as h, SVG_NS as SVG} from '../common/dom.js';

const POLL_MS = 15000;
const LABEL_W = 190;

function option(value, text, selected) {
  const o = h('option', {value});
  o.textContent = text;
  o.selected = Boolean(selected);
  return o;
}

class TimelineApp {
  constructor(root) {
    this.root = root;
    this.state = {run: null, compare: '', kind: 'grads', stat: null, layer: null,
                  step: null, anomalyKey: null};
    this.runs = [];
    this.seq = 0;
    this._build();
  }

  _build() {
    const css = h('link', {rel: 'stylesheet', href: new URL('./style.css', import.meta.url).href});
    document.head.append(css);
    this.status = h('span', {class: 'status'});
    this.runSel = h('select', {id: 'run-select', 'aria-label': 'run'});
    this.cmpSel = h('select', {id: 'compare-select', 'aria-label': 'compare with'});
    this.kindSel = h('select', {id: 'kind-select', 'aria-label': 'statistics kind'});
    this.statSel = h('select', {id: 'stat-select', 'aria-label': 'statistic'});
    const title = h('h1');
    title.textContent = 'Anomaly Timeline';
    const lbl = (text, el) => { const l = h('label'); l.append(text, el); return l; };
    this.allBtn = h('button', {id: 'all-runs', type: 'button'});
    this.allBtn.textContent = 'All runs';
    this.allBtn.hidden = true;
    this.allBtn.addEventListener('click', () => this.showOverview(true));
    this.runPick = h('span', {class: 'run-pick'}, lbl('Run ', this.runSel),
                     lbl(' Compare with ', this.cmpSel));
    const bar = h('div', {class: 'bar'}, title, this.allBtn, this.runPick, this.status);
    this.overviewBox = h('div', {class: 'overview', id: 'overview'});
    this.overviewBox.hidden = true;
    this.overview = new Overview(this.overviewBox, (run) => {
      this.showOverview(false);
      writeUrlChoice(TIMELINE_PLUGIN, 'run', run);  // a reload stays on it
      if (run === this.state.run) this.refreshRun(); else this.selectRun(run);
    });
    this.mode = null;  // 'overview' (a sweep: many runs) or 'run'; decided on the first /runs
    this.summary = h('div', {class: 'summary', id: 'summary'});
    this.curvesSvg = document.createElementNS(SVG, 'svg');
    this.curvesSvg.setAttribute('class', 'curves');
    this.curvesSvg.id = 'curves';
    this.axisSvg = document.createElementNS(SVG, 'svg');
    this.axisSvg.setAttribute('class', 'step-axis');
    this.scrub = h('input', {type: 'range', id: 'step-scrubber', min: '0', max: '1', step: '1',
                             'aria-label': 'step'});
    this.scrubLabel = h('span', {class: 'scrub-label'});
    const hmControls = h('div', {class: 'hm-controls'}, lbl('Show ', this.kindSel),
                         lbl(' statistic ', this.statSel));
    this.hmHost = h('div', {class: 'heatmap', id: 'heatmap'});
    this.hmNote = h('div', {class: 'note'});
    this.folds = {};  // kind -> folded group paths the user chose (absent: the server's)
    this.heatmap = new Heatmap(this.hmHost, {
      onSelect: (sel) => this.selectLayer(sel.layer, sel.step),
      onFold: (folded) => {
        this.folds[this.state.kind] = folded;
        this.refreshHeatmap();
      },
    });
    hmControls.append(this.heatmap.legend);
    this.left = h('div', {class: 'timeline'}, this.curvesSvg, hmControls, this.hmHost,
                  this.axisSvg, h('div', {class: 'scrubber'}, this.scrub, this.scrubLabel),
                  this.hmNote);
    this.list = h('div', {class: 'anomaly-list', id: 'anomaly-list'});
    const listBox = h('div', {class: 'side'}, h('h2'), this.list);
    listBox.firstChild.textContent = 'Anomalies (first occurrence first)';
    this.layerBox = h('div', {class: 'layer-view', id: 'layer-view'});
    this.layerBox.hidden = true;
    this.main = h('div', {class: 'main'}, this.left, listBox);
    this.root.append(bar, this.overviewBox, this.summary, this.main, this.layerBox);

    this.runSel.addEventListener('change', () => this.selectRun(this.runSel.value));
    this.cmpSel.addEventListener('change', () => {
      this.state.compare = this.cmpSel.value;
      this.refreshRun();
    });
    this.kindSel.addEventListener('change', () => {
      this.state.kind = this.kindSel.value;
      this.state.stat = null;
      this.refreshHeatmap();
    });
    this.statSel.addEventListener('change', () => {
      this.state.stat = this.statSel.value;
      this.refreshHeatmap();
    });
    this.scrub.addEventListener('input', () => {
      this.setStep(Number(this.scrub.value), true);
    });
    onSharedStep((v) => { if (v) this.setStep(v.step, false); });
    let resizeTimer = null;
    window.addEventListener('resize', () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => this.redraw(), 150);
    });
  }

  width() {
    return Math.max(480, this.left.clientWidth || 800);
  }

  /** Step columns to ask for: one per device pixel of the cell area (at most 2 per CSS px). */
  columns() {
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    return Math.min(4000, Math.max(50, Math.floor((this.width() - LABEL_W - 12) * dpr)));
  }

  async start() {
    const shared = sharedStep();
    if (shared) this.state.step = shared.step;
    setVocabulary(await getJSON('registry'));
    await this.refreshRuns();
    listenForReload(() => this.reload());
    this.timer = setInterval(() => { if (!document.hidden) this.reload(); }, POLL_MS);
  }

  setStatus(text, bad = false) {
    this.status.textContent = text;
    this.status.classList.toggle('bad', bad);
  }

  async reload() {
    // New data while training runs: refetch everything, keeping every selection.
    try {
      await this.refreshRuns();
    } catch (err) {
      this.setStatus(`reload failed: ${err.message}`, true);
    }
  }

  async refreshRuns() {
    const data = await getJSON('runs');
    this.runs = data.runs;
    const names = this.runs.map((r) => r.run);
    // A sweep lands on the overview, unless the URL remembers a run the user opened.
    const remembered = names.includes(readUrlChoice(TIMELINE_PLUGIN, 'run'));
    if (!names.includes(this.state.run)) {
      // The run the URL remembers (the user's last choice), else the worst run.
      this.state.run = landingRun(names, readUrlChoice(TIMELINE_PLUGIN, 'run'), this.runs);
    }
    if (this.state.compare && !names.includes(this.state.compare)) this.state.compare = '';
    this.runSel.replaceChildren(...this.runs.map((r) => option(r.run, r.run,
                                                              r.run === this.state.run)));
    this.cmpSel.replaceChildren(option('', '(none)', !this.state.compare),
                                ...this.runs.filter((r) => r.run !== this.state.run)
                                  .map((r) => option(r.run, r.run, r.run === this.state.compare)));
    const sweep = this.runs.length >= OVERVIEW_MIN_RUNS;
    this.allBtn.hidden = !sweep;
    if (this.mode === null) this.mode = sweep && !remembered ? 'overview' : 'run';
    if (sweep) this.overview.setData(this.runs, data.splits);
    else this.mode = 'run';
    // At sweep scale a line per run is a wall: the overview table replaces the summary.
    if (!sweep) {
      renderSummary(this.summary, this.runs, this.state.run, (run) => this.selectRun(run),
                    data.problems);
    } else {
      this.summary.replaceChildren();
    }
    this.summary.hidden = sweep;
    this.setStatus(`updated ${new Date().toLocaleTimeString()}`);
    this._showMode();
    if (this.mode === 'run') await this.refreshRun();
  }

  /** The runs overview (true) or the selected run's timeline (false). */
  showOverview(on) {
    this.mode = on ? 'overview' : 'run';
    this._showMode();
    if (!on) window.scrollTo(0, 0);
  }

  _showMode() {
    const ov = this.mode === 'overview';
    this.overviewBox.hidden = !ov;
    this.runPick.hidden = ov;
    this.allBtn.disabled = ov;
    this.main.hidden = ov;
    if (ov) this.layerBox.hidden = true;
  }

  selectRun(run) {
    if (run === this.state.run) return;
    this.state.run = run;
    writeUrlChoice(TIMELINE_PLUGIN, 'run', run);
    this.state.layer = null;
    this.state.anomalyKey = null;
    if (this.state.compare === run) this.state.compare = '';
    this.layerBox.hidden = true;
    this.runSel.value = run;
    this.refreshRuns();
  }

  runInfo(run) {
    return this.runs.find((r) => r.run === run);
  }

  /** The run's last logged step (a range reaching it is still going on), or null. */
  runEnd(run) {
    const info = this.runInfo(run);
    return info && info.max_step !== undefined ? info.max_step : null;
  }

  async refreshRun() {
    const run = this.state.run;
    if (!run) {
      this.left.hidden = true;
      return;
    }
    this.left.hidden = false;
    const seq = ++this.seq;
    const cols = this.columns();
    const wanted = [run, this.state.compare].filter(Boolean);
    // Everything at once; each part is drawn as soon as it arrives.
    if (this.shownRun !== run) {  // nothing of the previous run on the new one's axes
      this.folds = {};
      this.heatmapData = null;
      this.anomalies = this.compareAnomalies = this.curves = null;
      this.shownRun = run;
    }
    const heatmap = this.refreshHeatmap();
    const anomalies = Promise.all(wanted.map((r) => getJSON('anomalies', {run: r})))
      .then((anoms) => {
        if (seq !== this.seq) return;  // a newer selection won
        this.anomalies = anoms[0].anomalies.map((a) => ({...a, run}));
        this.compareAnomalies = anoms[1] ? anoms[1].anomalies.map((a) => ({...a, run: wanted[1],
                                                                           compare: true})) : [];
        this._renderList();
        this.redraw();
      });
    const curves = Promise.all(wanted.map((r) => getJSON('curves', {run: r, columns: cols})))
      .then((data) => {
        if (seq !== this.seq) return;
        this.curves = data.map((c, i) => ({run: wanted[i], curves: c.curves, dashed: i > 0}));
        this.redraw();
      });
    await Promise.all([heatmap, anomalies, curves]);
  }

  _kinds() {
    const info = this.runInfo(this.state.run);
    return info ? info.kinds : {};
  }

  async refreshHeatmap() {
    const seq = this.hmSeq = (this.hmSeq || 0) + 1;
    const kinds = this._kinds();
    const available = ['grads', 'weights', 'updates', 'acts'].filter((k) => kinds[k]);
    this.kindSel.replaceChildren(...available.map((k) => option(k, kindLabel(k),
                                                                k === this.state.kind)));
    if (!available.length) {
      this.heatmapData = null;
      this.hmHost.hidden = true;
      this.kindSel.parentElement.parentElement.hidden = true;
      this.hmNote.textContent = 'This run has only ordinary scalars (no per-layer statistics): ' +
        'the curves and the loss checks above are all there is. Add ArchVizCallback to the ' +
        'Trainer to see every layer.';
      this.redraw();
      return;
    }
    this.hmHost.hidden = false;
    this.kindSel.parentElement.parentElement.hidden = false;
    if (!available.includes(this.state.kind)) this.state.kind = available[0];
    this.kindSel.value = this.state.kind;
    const stats = kinds[this.state.kind];
    if (!stats.includes(this.state.stat)) {
      this.state.stat = defaultStat(this.state.kind, stats);
    }
    this.statSel.replaceChildren(...orderedStats(this.state.kind, stats).map((s) => option(s, statLabel(s, this.state.kind),
                                                            s === this.state.stat)));
    const folded = this.folds[this.state.kind];
    const params = {run: this.state.run, kind: this.state.kind, stat: this.state.stat,
                    columns: this.columns(), lines: folded ? 'folded' : 'auto', fold: folded};
    // The maximum plane draws the map; the minimum (tooltip only) follows.
    const data = await getJSON('heatmap', {...params, planes: 'max'});
    if (seq !== this.hmSeq) return;  // a newer selection won
    getJSON('heatmap', {...params, fold: data.folded, lines: 'folded', planes: 'min'})
      .then((mins) => { if (this.heatmapData === data) this.heatmap.setMin(mins); })
      .catch(() => {});
    this.heatmapData = data;
    this.heatmap.setData(data);
    this.folds[this.state.kind] = data.folded;
    const n = data.steps_total.toLocaleString('en-US');
    this.hmNote.textContent = data.sampled
      ? `Showing a sample of ${n} logged steps (an older run, larger than one read, written ` +
        'without the statistics summary); anomaly markers are exact.'
      : data.level > 1
        ? `${data.rows.length} rows × about ${n} logged steps, read from the per-` +
          `${data.level}-step summary; each cell is the largest value in its step range, so ` +
          'one bad step is never hidden.'
        : `${data.rows.length} rows × ${n} logged steps; each cell is the largest value in ` +
          'its step range, so one bad step is never hidden.';
    this.redraw();
    if (this.state.layer) this.openLayer(false);
  }

  stepRange() {
    let s0 = Infinity, s1 = -Infinity;
    const d = this.heatmapData;
    if (d && d.first_step.length) {
      s0 = Math.min(s0, d.first_step[0]);
      s1 = Math.max(s1, d.last_step[d.last_step.length - 1]);
    }
    for (const r of this.curves || []) {
      for (const c of r.curves) {
        if (c.step.length) { s0 = Math.min(s0, c.step[0]); s1 = Math.max(s1, c.step[c.step.length - 1]); }
      }
    }
    if (!Number.isFinite(s0)) { s0 = 0; s1 = 1; }
    return [s0, s1];
  }

  redraw() {
    if (!this.state.run) return;
    const [s0, s1] = this.stepRange();
    this.axis = makeAxis(this.width(), LABEL_W, s0, s1);
    this.scrub.min = String(s0);
    this.scrub.max = String(s1);
    this.scrub.style.marginLeft = `${LABEL_W}px`;
    this.scrub.style.width = `${this.axis.x(s1) - LABEL_W}px`;
    if (this.state.step !== null) this.scrub.value = String(this.state.step);
    this.scrubLabel.textContent = this.state.step === null ? 'drag to pick a step'
      : `step ${Number(this.state.step).toLocaleString('en-US')}`;
    const all = [...(this.anomalies || []), ...(this.compareAnomalies || [])];
    drawCurves(this.curvesSvg, this.axis, this.curves || [], this.anomalies || [],
               this.state.step, this.runEnd(this.state.run));
    drawStepAxis(this.axisSvg, this.axis);
    if (this.heatmapData) {
      this.heatmap.setAxis(this.axis);
      this.heatmap.setAnomalies(all.filter((a) => !a.compare), this.runEnd(this.state.run));
      this.heatmap.setStep(this.state.step);
      this.heatmap.setSelectedLayer(this.state.layer);
      this.heatmap.draw();
    }
  }

  setStep(step, publish) {
    this.state.step = step;
    if (publish) setSharedStep(this.state.run, step);
    this.redraw();
    if (this.layerData) this._drawLayer();
  }

  _renderList() {
    const items = [...this.anomalies, ...this.compareAnomalies];
    // The selected run's pinned record stays on top; the rest by first occurrence.
    items.sort((a, b) => (b.pinned && !b.compare) - (a.pinned && !a.compare) ||
                         (a.first_step ?? 0) - (b.first_step ?? 0));
    renderAnomalyList(this.list, items, this.state.anomalyKey, (a) => {
      this.state.anomalyKey = keyOf(a);
      if (a.compare) {
        this.selectRun(a.run);
        return;
      }
      this._renderList();
      if (a.layer) this.selectLayer(a.layer, a.first_step);
      else this.setStep(a.first_step, true);
    }, Object.fromEntries(this.runs.map((r) => [r.run, r.max_step])));
  }

  selectLayer(layer, step) {
    this.state.layer = layer;
    if (step !== undefined && step !== null) {
      this.state.step = step;
      setSharedStep(this.state.run, step);
    }
    this.redraw();
    this.openLayer(true);
  }

  async openLayer(scroll) {
    const run = this.state.run, layer = this.state.layer;
    try {
      this.layerData = await getJSON('layer', {run, layer, columns: 400});
    } catch (err) {
      this.layerData = null;
      this.layerBox.hidden = false;
      this.layerBox.replaceChildren(h('div', {class: 'empty'}));
      this.layerBox.firstChild.textContent = `No statistics for ${layer}: ${err.message}`;
      return;
    }
    if (run !== this.state.run || layer !== this.state.layer) return;
    this._drawLayer();
    if (scroll) this.layerBox.scrollIntoView({behavior: 'smooth', block: 'nearest'});
  }

  _drawLayer() {
    this.layerBox.hidden = false;
    renderLayer(this.layerBox, this.layerData, this.state.step, this.root.clientWidth || 1000,
                () => openInArchitecture(this.state.run, this.state.layer, this.state.step),
                () => {
                  this.state.layer = null;
                  this.layerData = null;
                  this.layerBox.hidden = true;
                  this.redraw();
                });
  }
}

export async function render() {
  setMeasurePrefix('tl');
  const root = h('div', {class: 'tl-root', id: 'timeline-root'});
  document.body.append(root);
  const app = new TimelineApp(root);
  window.__timeline = app;  // for debugging from the console and the browser tests
  try {
    await app.start();
    root.dataset.ready = 'true';
  } catch (err) {
    const box = h('div', {class: 'error'});
    box.textContent = `Could not load the anomaly timeline: ${err.message}`;
    root.prepend(box);
    root.dataset.ready = 'error';
  }
}
