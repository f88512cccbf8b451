// The runs overview: the Timeline's landing view for a sweep (many runs in one logdir). One
// row per run (verdict, first problem, counts by kind, last losses, hyperparameters), sorted,
// filtered, grouped and paged; above it, "which settings break training" (the /runs `splits`
// sentence and one small chart per hyperparameter). DOM + textContent only.

import {html as h, SVG_NS} from '../common/dom.js';
import {byTrouble} from '../common/runs.js';

export const OVERVIEW_MIN_RUNS = 10;  // a sweep, not a handful of runs (the demo has 8)
export const PAGE = 200;             // rows rendered at a time ("show more" adds a page)

const RANK = {error: 0, warning: 1, info: 2, healthy: 3};

/** A run's verdict: its worst severity ("error", "warning", "info") or "healthy". */
export function verdictOf(r) {
  const c = r.counts || {};
  return c.error ? 'error' : c.warning ? 'warning' : c.info ? 'info' : 'healthy';
}

/** The hyperparameter names of all runs, sorted. */
export function hparamNames(runs) {
  const names = new Set();
  for (const r of runs) for (const k of Object.keys(r.hparams || {})) names.add(k);
  return [...names].sort();
}

/** Every anomaly kind any run has, sorted. */
export function kindNames(runs) {
  const kinds = new Set();
  for (const r of runs) for (const k of Object.keys(r.by_kind || {})) kinds.add(k);
  return [...kinds].sort();
}

/** The value a column sorts by: numbers compare as numbers, the rest as text; missing last. */
export function cellValue(r, key) {
  if (key === 'run') return r.run;
  if (key === 'verdict') return RANK[verdictOf(r)];
  if (key === 'first') return r.first ? r.first.kind : null;
  if (key === 'step') return r.first ? r.first.first_step : null;
  if (key === 'train') return r.loss ? r.loss.train : null;
  if (key === 'val') return r.loss ? r.loss.val : null;
  if (key.startsWith('kind:')) return (r.by_kind || {})[key.slice(5)] || 0;
  if (key.startsWith('hp:')) {
    const v = (r.hparams || {})[key.slice(3)];
    return v === undefined ? null : v;
  }
  return null;
}

function compareValues(a, b) {
  const na = a === null || a === undefined, nb = b === null || b === undefined;
  if (na || nb) return na - nb;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return String(a).localeCompare(String(b), 'en', {numeric: true});
}

/** Rows sorted by `key` (null: broken runs first, byTrouble); missing values always last;
 * ties by run name. Returns a new array. */
export function sortRows(runs, key = null, dir = 1) {
  const out = [...runs];
  if (!key) return out.sort(byTrouble);
  return out.sort((a, b) => {
    const va = cellValue(a, key), vb = cellValue(b, key);
    const missing = (va === null || va === undefined) - (vb === null || vb === undefined);
    if (missing) return missing;
    return dir * compareValues(va, vb) || a.run.localeCompare(b.run);
  });
}

/** Runs that pass the filter: `verdict` ('' any, 'broken' error or warning, else exact),
 * `kind` ('' any, else runs with that anomaly kind), `text` (case-insensitive, in the run's
 * name, a hyperparameter "name=value" or its first problem). */
export function filterRows(runs, {verdict = '', kind = '', text = ''} = {}) {
  const needle = text.trim().toLowerCase();
  return runs.filter((r) => {
    const v = verdictOf(r);
    if (verdict === 'broken' ? !(v === 'error' || v === 'warning') : verdict && v !== verdict) {
      return false;
    }
    if (kind && !(r.by_kind || {})[kind]) return false;
    if (!needle) return true;
    const hay = [r.run, ...Object.entries(r.hparams || {}).map(([k, x]) => `${k}=${x}`),
                 r.first ? `${r.first.kind} ${r.first.layer || ''}` : ''].join(' ').toLowerCase();
    return hay.includes(needle);
  });
}

/** Runs grouped by hyperparameter `name`, keeping each group's order: [{value, label, runs}],
 * numbers ascending, then text, then the runs without it (value undefined). */
export function groupRows(runs, name) {
  const groups = new Map();
  for (const r of runs) {
    const v = (r.hparams || {})[name];
    const key = v === undefined ? '\u0000missing' : `${typeof v}:${v}`;
    if (!groups.has(key)) groups.set(key, {value: v, label: v === undefined ? `without ${name}`
      : `${name} = ${fmtHp(v)}`, runs: []});
    groups.get(key).runs.push(r);
  }
  return [...groups.values()].sort((a, b) => {
    const ma = a.value === undefined, mb = b.value === undefined;
    return (ma - mb) || compareValues(a.value, b.value);
  });
}

/** The first `shown` rows of a (possibly grouped) list: [{group|null, runs}] cut so that at
 * most `shown` runs in all are rendered; `more` how many are left out. */
export function pageOf(groups, shown) {
  const out = [];
  let left = shown, total = 0;
  for (const g of groups) {
    total += g.runs.length;
    if (left <= 0) continue;
    out.push({...g, runs: g.runs.slice(0, left)});
    left -= Math.min(left, g.runs.length);
  }
  const rendered = out.reduce((n, g) => n + g.runs.length, 0);
  return {groups: out, more: total - rendered};
}

export function fmtHp(v) {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(+v.toPrecision(6));
  return String(v);
}

function fmtLoss(v) {
  return v === null || v === undefined ? '—' : Math.abs(v) >= 1e4 || (v && Math.abs(v) < 1e-3)
    ? v.toExponential(2) : v.toPrecision(4);
}

/** The split sentence to show for `kind` ('' any warning or error): one per hyperparameter
 * with a clear split, else []. */
export function splitsFor(splits, kind) {
  return (splits || []).filter((s) => (s.kind || '') === (kind || ''));
}

/** Chart geometry for one hyperparameter: numeric → points along a (log when the positive
 * values span more than two decades) axis; else counts per value. */
export function hparamChart(runs, name, isBroken) {
  const vals = runs.filter((r) => (r.hparams || {})[name] !== undefined);
  const numeric = vals.length && vals.every((r) => typeof r.hparams[name] === 'number');
  if (numeric) {
    const xs = vals.map((r) => r.hparams[name]);
    const lo = Math.min(...xs), hi = Math.max(...xs);
    const log = lo > 0 && hi / lo >= 100;
    const t = (x) => (log ? Math.log10(x) : x);
    const t0 = t(lo), t1 = t(hi);
    return {numeric: true, log, lo, hi,
            points: vals.map((r) => ({run: r.run, x: t1 > t0 ? (t(r.hparams[name]) - t0) / (t1 - t0)
              : 0.5, broken: isBroken(r)}))};
  }
  const counts = new Map();
  for (const r of vals) {
    const k = fmtHp(r.hparams[name]);
    const c = counts.get(k) || {value: k, broken: 0, healthy: 0};
    if (isBroken(r)) c.broken += 1; else c.healthy += 1;
    counts.set(k, c);
  }
  return {numeric: false, counts: [...counts.values()].sort((a, b) =>
    a.value.localeCompare(b.value, 'en', {numeric: true}))};
}

function el(tag, cls, text) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined) n.textContent = text;
  return n;
}

function svg(tag, attrs) {
  const n = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  return n;
}

function option(value, text, selected) {
  const o = h('option', {value});
  o.textContent = text;
  o.selected = Boolean(selected);
  return o;
}

export class Overview {
  constructor(container, onOpen) {
    this.root = container;
    this.onOpen = onOpen;
    this.state = {sort: null, dir: 1, verdict: '', kind: '', text: '', group: '',
                  shown: PAGE, split: ''};
    this.runs = [];
    this.splits = [];
    this.splitBox = el('div', 'ov-splits');
    this.splitBox.id = 'overview-splits';
    this.charts = el('div', 'ov-charts');
    this.controls = el('div', 'ov-controls');
    this.count = el('span', 'ov-count');
    this.table = el('table', 'ov-table');
    this.table.id = 'overview-table';
    this.moreBtn = el('button', 'ov-more', 'show more');
    this.moreBtn.addEventListener('click', () => {
      this.state.shown += PAGE;
      this.renderTable();
    });
    this.verdictSel = h('select', {'aria-label': 'verdict filter'});
    this.verdictSel.append(option('', 'any verdict'), option('broken', 'broken (error or warning)'),
                           option('error', 'error'), option('warning', 'warning'),
                           option('healthy', 'healthy'));
    this.kindSel = h('select', {'aria-label': 'kind filter', id: 'overview-kind'});
    this.textIn = h('input', {type: 'search', placeholder: 'filter runs, lr=0.1, layer…',
                              'aria-label': 'text filter'});
    this.groupSel = h('select', {'aria-label': 'group by', id: 'overview-group'});
    this.splitSel = h('select', {'aria-label': 'which settings break training for',
                                 id: 'overview-split-kind'});
    const lbl = (text, x) => { const l = h('label'); l.append(text, x); return l; };
    this.controls.append(lbl('Show ', this.verdictSel), lbl(' with ', this.kindSel),
                         this.textIn, lbl(' group by ', this.groupSel), this.count);
    const head = el('div', 'ov-head');
    head.append(el('h2', null, 'Which settings break training'),
                lbl(' for ', this.splitSel));
    const scroll = el('div', 'ov-scroll');
    scroll.append(this.table);
    this.root.replaceChildren(head, this.splitBox, this.charts, this.controls, scroll,
                              this.moreBtn);
    this.verdictSel.addEventListener('change', () => this.set({verdict: this.verdictSel.value}));
    this.kindSel.addEventListener('change', () => this.set({kind: this.kindSel.value}));
    this.textIn.addEventListener('input', () => this.set({text: this.textIn.value}));
    this.groupSel.addEventListener('change', () => this.set({group: this.groupSel.value}));
    this.splitSel.addEventListener('change', () => {
      this.state.split = this.splitSel.value;
      this.renderSplits();
    });
  }

  set(change) {
    Object.assign(this.state, change, {shown: PAGE});
    this.renderTable();
  }

  setData(runs, splits) {
    this.runs = runs;
    this.splits = splits || [];
    this.hps = hparamNames(runs);
    this.kinds = kindNames(runs);
    if (this.state.split === '' && !splitsFor(this.splits, '').length && this.splits.length) {
      this.state.split = this.splits[0].kind || '';  // the first kind that splits cleanly
    }
    this.kindSel.replaceChildren(option('', 'any kind', !this.state.kind),
                                 ...this.kinds.map((k) => option(k, k, k === this.state.kind)));
    this.groupSel.replaceChildren(option('', '(none)', !this.state.group),
                                  ...this.hps.map((k) => option(k, k, k === this.state.group)));
    this.splitSel.replaceChildren(option('', 'any warning or error', !this.state.split),
                                  ...this.kinds.map((k) => option(k, k, k === this.state.split)));
    this.renderSplits();
    this.renderTable();
  }

  renderSplits() {
    const kind = this.state.split;
    const found = splitsFor(this.splits, kind);
    this.splitBox.replaceChildren(...found.map((s) => {
      const p = el('p', 'ov-split', s.split[0].toUpperCase() + s.split.slice(1) + '.');
      p.dataset.hparam = s.hparam;
      return p;
    }));
    if (!this.hps.length) {  // no clear split: nothing is said; no hyperparameters: why
      this.splitBox.append(el('p', 'ov-nosplit', 'These runs logged no hyperparameters ' +
                              '(Lightning: save_hyperparameters / log_hyperparams).'));
    }
    const isBroken = kind ? (r) => Boolean((r.by_kind || {})[kind])
      : (r) => ['error', 'warning'].includes(verdictOf(r));
    this.charts.replaceChildren(...this.hps.map((name) => this.chart(name, isBroken)));
  }

  chart(name, isBroken) {
    const g = hparamChart(this.runs, name, isBroken);
    const box = el('div', 'ov-chart');
    box.dataset.hparam = name;
    box.append(el('div', 'ov-chart-title', name + (g.log ? ' (log scale)' : '')));
    const W = 260, H = 54;
    const s = svg('svg', {width: W, height: H, viewBox: `0 0 ${W} ${H}`});
    if (g.numeric) {
      s.append(svg('line', {x1: 8, x2: W - 8, y1: 34, y2: 34, stroke: '#adb5bd'}));
      const rows = new Map();
      for (const p of g.points) {
        const x = Math.round(8 + p.x * (W - 16));
        const k = `${x}:${p.broken}`;
        const n = rows.get(k) || 0;
        rows.set(k, n + 1);
        if (n >= 4) continue;  // a stack of 4 says "many"; 10,000 runs stay a few hundred dots
        const c = svg('circle', {cx: x, cy: (p.broken ? 24 : 44) - Math.min(n, 3) * 3, r: 4,
                                 fill: p.broken ? '#e03131' : '#40c057', 'fill-opacity': 0.7});
        const t = svg('title', {});
        t.textContent = `${p.run}: ${p.broken ? 'broken' : 'healthy'}`;
        c.append(t);
        s.append(c);
      }
      for (const [v, anchor, x] of [[g.lo, 'start', 8], [g.hi, 'end', W - 8]]) {
        const t = svg('text', {x, y: 52, 'font-size': 10, 'text-anchor': anchor, fill: '#495057'});
        t.textContent = fmtHp(v);
        s.append(t);
      }
    } else {
      const n = g.counts.length || 1, bw = (W - 16) / n;
      const max = Math.max(1, ...g.counts.map((c) => c.broken + c.healthy));
      g.counts.forEach((c, i) => {
        const x = 8 + i * bw, hb = (c.broken / max) * 34, hh = (c.healthy / max) * 34;
        s.append(svg('rect', {x: x + 2, y: 40 - hb - hh, width: bw - 4, height: hh, fill: '#40c057'}),
                 svg('rect', {x: x + 2, y: 40 - hb, width: bw - 4, height: hb, fill: '#e03131'}));
        const t = svg('text', {x: x + bw / 2, y: 52, 'font-size': 10, 'text-anchor': 'middle',
                               fill: '#495057'});
        t.textContent = `${c.value} (${c.broken}/${c.broken + c.healthy})`;
        s.append(t);
      });
    }
    box.append(s);
    return box;
  }

  columns() {
    return [['verdict', 'verdict'], ['run', 'run'], ['first', 'first problem'],
            ['step', 'step'], ...this.hps.map((k) => [`hp:${k}`, k]),
            ['train', 'train loss'], ['val', 'val loss'],
            ...this.kinds.map((k) => [`kind:${k}`, k])];
  }

  renderTable() {
    const st = this.state;
    const rows = sortRows(filterRows(this.runs, st), st.sort, st.dir);
    const groups = st.group ? groupRows(rows, st.group) : [{value: null, label: null, runs: rows}];
    const page = pageOf(groups, st.shown);
    const cols = this.columns();
    const headRow = el('tr');
    for (const [key, label] of cols) {
      const th = el('th', null, label + (st.sort === key ? (st.dir > 0 ? ' ▲' : ' ▼') : ''));
      th.dataset.key = key;
      th.title = 'sort by ' + label;
      th.addEventListener('click', () => {
        if (st.sort === key) st.dir = -st.dir; else { st.sort = key; st.dir = 1; }
        st.shown = PAGE;
        this.renderTable();
      });
      headRow.append(th);
    }
    const thead = el('thead');
    thead.append(headRow);
    const tbody = el('tbody');
    for (const g of page.groups) {
      if (g.label !== null) {
        const tr = el('tr', 'ov-group');
        const td = el('td', null, `${g.label}: ${g.runs.length === groups.find((x) => x.label ===
          g.label).runs.length ? '' : 'first '}${g.runs.length} run${g.runs.length === 1 ? '' : 's'}`);
        td.colSpan = cols.length;
        tr.append(td);
        tbody.append(tr);
      }
      for (const r of g.runs) tbody.append(this.row(r, cols));
    }
    this.table.replaceChildren(thead, tbody);
    this.count.textContent = `${rows.length.toLocaleString('en-US')} of ` +
      `${this.runs.length.toLocaleString('en-US')} runs`;
    this.moreBtn.hidden = page.more <= 0;
    this.moreBtn.textContent = `show ${Math.min(PAGE, page.more)} more (${page.more} left)`;
  }

  row(r, cols) {
    const v = verdictOf(r);
    const tr = el('tr', `ov-row ${v}`);
    tr.dataset.run = r.run;
    for (const [key] of cols) {
      let text;
      if (key === 'verdict') text = v;
      else if (key === 'run') text = r.run;
      else if (key === 'first') text = r.first ? r.first.kind + (r.first.layer ? ` · ${r.first.layer}` : '') : '';
      else if (key === 'step') text = r.first && r.first.first_step !== null && r.first.first_step !== undefined
        ? r.first.first_step.toLocaleString('en-US') : '';
      else if (key === 'train' || key === 'val') text = fmtLoss(cellValue(r, key));
      else if (key.startsWith('kind:')) text = String(cellValue(r, key) || '');
      else {
        const x = cellValue(r, key);
        text = x === null ? '' : fmtHp(x);
      }
      const td = el('td', key === 'verdict' ? 'verdict' : null, text);
      tr.append(td);
    }
    tr.addEventListener('click', () => this.onOpen(r.run));
    return tr;
  }
}
