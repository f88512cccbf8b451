// One layer's series: weights, gradients, updates and activations over steps, as small
// multiples (one chart per statistic, one line per row: weight, bias, module output).

import {nums} from '../common/api.js';
import {svgEl as el, SVG_NS as SVG} from '../common/dom.js';
import {fmtStep, fmtValue, featuredStats, kindLabel, statLabel} from './format.js';

const COLOURS = ['#1c7ed6', '#f76707', '#2b8a3e', '#ae3ec9', '#e03131', '#495057'];
const TICK_PX = 10;  // svg text.tick in style.css

/** Width in pixels a tick label needs (system-ui digits are at most ~0.62 em wide). */
export function labelWidth(text, px = TICK_PX) {
  return Math.ceil(String(text).length * px * 0.62) + 2;
}

/**
 * The y-axis labels of a chart over finite values [lo, hi] (`pos`: smallest positive, used
 * on a log axis): [{text, at: 'top' | 'bottom' | 'middle'}]. A constant axis gets one label,
 * not the same number at both ends.
 */
export function yAxisLabels(lo, hi, pos, log) {
  const bottom = `${fmtValue(log ? pos : lo)}${log ? ' log' : ''}`;
  const top = fmtValue(hi);
  if (fmtValue(log ? pos : lo) === top) return [{text: `${top} (constant)`, at: 'middle'}];
  return [{text: top, at: 'top'}, {text: bottom, at: 'bottom'}];
}

/** The left margin a chart needs so that its y labels are not clipped. */
export function leftMargin(labels) {
  return Math.max(40, ...labels.map((l) => labelWidth(l.text) + 8));
}

function chart(data, kind, statIndex, step, width) {
  const k = data.kinds[kind];
  const H = 110, R = 8, T = 18, B = 20;
  let L = 52;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('width', width);
  svg.setAttribute('height', H);
  svg.setAttribute('class', 'layer-chart');
  const steps = nums(k.step);
  const s0 = steps[0], s1 = steps[steps.length - 1];
  const x = (s) => L + ((s - s0) / Math.max(1, s1 - s0)) * (width - L - R);
  let lo = Infinity, hi = -Infinity, pos = Infinity, nonfinite = false;
  const series = k.rows.map((row, r) => ({row, min: nums(k.min[r][statIndex]),
                                          max: nums(k.max[r][statIndex])}));
  for (const s of series) {
    for (const arr of [s.min, s.max]) {
      for (const v of arr) {
        if (Number.isFinite(v)) {
          lo = Math.min(lo, v); hi = Math.max(hi, v); if (v > 0) pos = Math.min(pos, v);
        } else nonfinite = true;
      }
    }
  }
  const log = Number.isFinite(lo) && lo > 0 && hi / pos > 100;
  const labels = Number.isFinite(lo) ? yAxisLabels(lo, hi, pos, log) : [];
  L = leftMargin(labels);
  el(svg, 'text', {x: L, y: 12, class: 'chart-title'},
     `${kindLabel(kind)} · ${statLabel(k.stats[statIndex], kind)}`);
  el(svg, 'rect', {x: L, y: T, width: width - L - R, height: H - T - B, fill: '#fcfcfd',
                   stroke: '#e9ecef'});
  if (!Number.isFinite(lo)) {
    el(svg, 'text', {x: L + 6, y: H / 2, class: 'muted'}, nonfinite ? 'all NaN/Inf' : 'no data');
    return svg;
  }
  const f = log ? Math.log10 : (v) => v;
  let a = f(log ? pos : lo), b = f(hi);
  if (a === b) {  // a constant series runs through the middle, like the curves above
    const pad = Math.abs(a) / 2 || 1;
    a -= pad;
    b += pad;
  }
  const span = b - a;
  const y = (v) => (H - B) - ((f(log ? Math.max(v, pos) : v) - a) / span) * (H - T - B);
  const labelY = {top: T + 8, bottom: H - B, middle: (H - B + T) / 2 + 4};
  for (const label of labels) {
    el(svg, 'text', {x: L - 4, y: labelY[label.at], 'text-anchor': 'end', class: 'tick y-label'},
       label.text);
  }
  el(svg, 'text', {x: L, y: H - 6, class: 'tick'}, fmtStep(s0));
  el(svg, 'text', {x: width - R, y: H - 6, 'text-anchor': 'end', class: 'tick'}, fmtStep(s1));
  series.forEach((s, i) => {
    let d = '', open = false;
    for (let j = 0; j < steps.length; j++) {
      const v = s.max[j];
      if (!Number.isFinite(v)) {
        open = false;
        el(svg, 'line', {x1: x(steps[j]), x2: x(steps[j]), y1: T, y2: T + 5, stroke: '#d0021b',
                         'stroke-width': 2});
        continue;
      }
      d += `${open ? ' L' : ' M'}${x(steps[j]).toFixed(1)},${y(v).toFixed(1)}`;
      open = true;
    }
    el(svg, 'path', {d, fill: 'none', stroke: COLOURS[i % COLOURS.length], 'stroke-width': 1.4});
  });
  if (step !== null && step !== undefined && step >= s0 && step <= s1) {
    el(svg, 'line', {x1: x(step), x2: x(step), y1: T, y2: H - B, stroke: '#000',
                     'stroke-dasharray': '3 2'});
  }
  return svg;
}

/**
 * True when statistic `i` of a kind's series ({stats, min, max} per row) has no finite value
 * while another statistic of the same kind has some: the statistic does not apply to this
 * layer (a saturated fraction for a ReLU), not "NaN/Inf" in the layer.
 */
export function notApplicable(k, i) {
  const finite = (j) => k.rows.some((_, r) => [k.min[r][j], k.max[r][j]].some(
    (arr) => (arr || []).some((v) => Number.isFinite(typeof v === 'number' ? v : Number(v)))));
  return !finite(i) && k.stats.some((_, j) => j !== i && finite(j));
}

/** Fill `container` with the layer's charts; `onArchitecture()` is the deep-link action. */
export function renderLayer(container, data, step, width, onArchitecture, onClose) {
  container.replaceChildren();
  const head = document.createElement('div');
  head.className = 'layer-head';
  const title = document.createElement('h3');
  title.textContent = `Layer ${data.layer}`;
  const link = document.createElement('button');
  link.className = 'arch-link';
  link.textContent = 'Show this block in the Architecture tab →';
  link.addEventListener('click', onArchitecture);
  const close = document.createElement('button');
  close.className = 'close';
  close.textContent = 'Close';
  close.addEventListener('click', onClose);
  head.append(title, link, close);
  container.append(head);
  const legend = document.createElement('div');
  legend.className = 'layer-legend';
  const rows = new Set();
  for (const k of Object.values(data.kinds)) k.rows.forEach((r) => rows.add(r));
  [...rows].forEach((r) => {
    const s = document.createElement('span');
    s.textContent = r;
    legend.append(s);
  });
  container.append(legend);
  const grid = document.createElement('div');
  grid.className = 'layer-grid';
  const per = Math.max(220, Math.floor((width - 24) / 4) - 8);
  const skipped = [];
  for (const kind of ['weights', 'grads', 'updates', 'acts']) {
    const k = data.kinds[kind];
    if (!k) continue;
    const wanted = featuredStats(kind, k.stats);
    const stats = wanted.length ? wanted : k.stats.slice(0, 3);
    for (const s of stats) {
      const i = k.stats.indexOf(s);
      if (notApplicable(k, i)) skipped.push(statLabel(s, kind));
      else grid.append(chart(data, kind, i, step, per));
    }
  }
  container.append(grid);
  if (skipped.length) {
    const note = document.createElement('div');
    note.className = 'note not-measured';
    note.textContent = `Not measured for this layer (they do not apply to its type): ${skipped.join(', ')}.`;
    container.append(note);
  }
  // Row colours follow the chart lines: colour each legend entry by its row index per kind.
  const first = Object.values(data.kinds)[0];
  [...legend.children].forEach((node) => {
    const i = first.rows.indexOf(node.textContent);
    node.style.borderColor = COLOURS[(i >= 0 ? i : 0) % COLOURS.length];
  });
}
