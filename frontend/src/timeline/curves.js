// Run-level curves above the heatmap on the same step axis: loss (train, val), total
// gradient norm, learning rate. Each is drawn as a min–max band plus its maximum line.

import {nums} from '../common/api.js';
import {svgEl as el} from '../common/dom.js';
import {fmtStep, fmtValue, glyph} from './format.js';
import {anomalySentence} from './sentences.js';

const PANELS = [
  {title: 'loss', names: ['loss', 'val_loss'], colours: ['#1c7ed6', '#f76707']},
  {title: 'total gradient norm', names: ['grad_norm'], colours: ['#2b8a3e']},
  {title: 'learning rate', names: ['lr'], colours: ['#862e9c']},
];
const PANEL_H = 74;

/** The shared step axis: x(step) in pixels; `left` is the label column's width. */
export function makeAxis(width, left, s0, s1) {
  const right = 12;
  const span = Math.max(1, s1 - s0);
  const inner = Math.max(10, width - left - right);
  return {
    width, left, s0, s1, pxPerStep: inner / span,
    x: (s) => left + ((s - s0) / span) * inner,
    stepAt: (px) => s0 + ((px - left) / inner) * span,
  };
}

export function drawStepAxis(svg, axis) {
  svg.replaceChildren();
  svg.setAttribute('width', axis.width);
  svg.setAttribute('height', 22);
  el(svg, 'line', {x1: axis.left, x2: axis.x(axis.s1), y1: 2, y2: 2, stroke: '#adb5bd'});
  const n = Math.max(2, Math.floor((axis.width - axis.left) / 110));
  const raw = (axis.s1 - axis.s0) / n;
  const mag = 10 ** Math.floor(Math.log10(Math.max(1, raw)));
  const stride = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  for (let s = Math.ceil(axis.s0 / stride) * stride; s <= axis.s1; s += stride) {
    const x = axis.x(s);
    el(svg, 'line', {x1: x, x2: x, y1: 2, y2: 6, stroke: '#868e96'});
    el(svg, 'text', {x, y: 17, 'text-anchor': 'middle', class: 'tick'}, fmtStep(s));
  }
  el(svg, 'text', {x: axis.left - 8, y: 17, 'text-anchor': 'end', class: 'tick'}, 'step');
}

/** The y scale of a panel over every finite min/max of `series`; null when none is finite.
 * Log when all values are positive and span more than two decades. */
export function yScale(series, top, bottom) {
  let lo = Infinity, hi = -Infinity, pos = Infinity;
  for (const s of series) {
    for (const arr of [s.min, s.max]) {
      for (const v of arr) {
        if (Number.isFinite(v)) {
          lo = Math.min(lo, v); hi = Math.max(hi, v);
          if (v > 0) pos = Math.min(pos, v);
        }
      }
    }
  }
  if (!Number.isFinite(lo)) return null;
  const log = lo > 0 && hi / pos > 100;
  const f = log ? Math.log10 : (v) => v;
  let a = f(log ? pos : lo), b = f(hi);
  const constant = a === b;
  if (constant) {  // a constant series (a fixed learning rate) runs through the middle
    const pad = Math.abs(a) / 2 || 1;
    a -= pad;
    b += pad;
  }
  const span = b - a;
  const y = (v) => bottom - ((f(Math.max(v, log ? pos : -Infinity)) - a) / span) * (bottom - top);
  return {y, log, lo: log ? pos : lo, hi, constant};
}

/** The value labels of a panel: [{text, at: 'top' | 'bottom'}]; a constant panel has one
 * ("8 (constant)"), never the same number at both ends. */
export function valueLabels(ys) {
  const hi = `${fmtValue(ys.hi)}${ys.log ? ' (log scale)' : ''}`;
  if (ys.constant || fmtValue(ys.lo) === fmtValue(ys.hi)) return [{text: `${fmtValue(ys.hi)} (constant)`, at: 'top'}];
  return [{text: hi, at: 'top'}, {text: fmtValue(ys.lo), at: 'bottom'}];
}

/**
 * Draw the curve panels into `svg`. `runs` is [{run, curves, dashed}] (the selected run
 * first, a compared run after); run-level anomalies (no layer) are marked on the loss panel.
 */
export function drawCurves(svg, axis, runs, anomalies, step, runEnd) {
  svg.replaceChildren();
  const height = PANELS.length * PANEL_H;
  svg.setAttribute('width', axis.width);
  svg.setAttribute('height', height);
  PANELS.forEach((panel, p) => {
    const top = p * PANEL_H + 14, bottom = (p + 1) * PANEL_H - 6;
    const series = [];
    for (const r of runs) {
      panel.names.forEach((name, i) => {
        const c = r.curves.find((cc) => cc.name === name);
        if (c) {
          series.push({run: r.run, name, dashed: r.dashed, colour: panel.colours[i],
                       step: nums(c.step), min: nums(c.min), max: nums(c.max), source: c.source});
        }
      });
    }
    el(svg, 'rect', {x: axis.left, y: top, width: axis.x(axis.s1) - axis.left,
                     height: bottom - top, fill: '#fcfcfd', stroke: '#e9ecef'});
    const label = el(svg, 'text', {x: axis.left - 8, y: top + 10, 'text-anchor': 'end',
                                   class: 'panel-title'}, panel.title);
    const ys = yScale(series, top + 2, bottom - 2);
    if (!ys) {
      // Logged but never finite (a run that diverged at once) is not "not logged": say so
      // and still mark every non-finite bucket.
      const text = panelNote(series);
      el(svg, 'text', {x: axis.left + 8, y: (top + bottom) / 2 + 4,
                       class: series.length ? 'panel-note nonfinite' : 'muted'}, text);
      for (const s of series) drawSeries(svg, axis, null, s, top);
      return;
    }
    // Value range inside the plot's corners; the label column holds title and legend.
    for (const label of valueLabels(ys)) {
      el(svg, 'text', {x: axis.left + 4, y: label.at === 'top' ? top + 10 : bottom - 3,
                       class: 'tick value-label'}, label.text);
    }
    series.forEach((s, i) => {
      drawSeries(svg, axis, ys, s, top);
      const name = `${s.name === 'val_loss' ? 'val' : s.name === 'loss' ? 'train' : 'value'}` +
                   `${runs.length > 1 ? ` · ${s.run}` : ''}`;
      const ly = top + 24 + i * 12;
      if (ly > bottom + 4) return;
      el(svg, 'line', {x1: axis.left - 30, x2: axis.left - 10, y1: ly - 3, y2: ly - 3,
                       stroke: s.colour, 'stroke-width': 2,
                       'stroke-dasharray': s.dashed ? '4 3' : 'none'});
      el(svg, 'text', {x: axis.left - 34, y: ly, 'text-anchor': 'end', class: 'tick'}, name);
    });
    label.setAttribute('data-series', series.map((s) => s.name).join(','));
    if (p === 0) {
      for (const a of anomalies.filter((an) => !an.layer)) {
        const [ch, colour] = glyph(a.kind);
        const x = axis.x(a.first_step);
        el(svg, 'line', {x1: x, x2: x, y1: top, y2: bottom, stroke: colour,
                         'stroke-dasharray': '3 2'});
        const t = el(svg, 'text', {x, y: bottom - 3, 'text-anchor': 'middle', fill: colour,
                                   class: 'glyph'}, ch);
        el(t, 'title', {}, anomalySentence(a, runEnd));
      }
    }
  });
  const nf = anomalies.find((a) => a.kind === 'non_finite');
  if (nf) {
    const x = axis.x(nf.first_step);
    el(svg, 'line', {x1: x, x2: x, y1: 0, y2: height, stroke: '#d0021b', 'stroke-width': 1.5});
    el(svg, 'text', {x: x + 4, y: 10, fill: '#d0021b', class: 'tick'},
       `first NaN/Inf · step ${fmtStep(nf.first_step)}`);
  }
  if (step !== null && step !== undefined) {
    const x = axis.x(step);
    el(svg, 'line', {x1: x, x2: x, y1: 0, y2: height, stroke: '#000', 'stroke-dasharray': '4 3'});
  }
}

/** What an empty panel says: nothing logged, or logged with no finite value. */
export function panelNote(series) {
  if (!series.length) return 'not logged in this run';
  const names = series.map((s) => s.name).join(', ');
  return `every logged value is NaN/Inf (${names}): red marks show where`;
}

/**
 * The drawing of one downsampled series ({step, min, max} per bucket): `bands` (one closed
 * min–max path per finite stretch), `line` (the maximum, broken at non-finite buckets) and
 * `nonfinite` (x of each bucket holding NaN/Inf). `ys` null: nothing finite to scale by.
 */
export function seriesGeometry(axis, ys, s) {
  const n = s.step.length;
  let band = '', line = '';
  let open = false;
  const bands = [], nonfinite = [];
  let lower = [];
  const flush = () => {
    if (lower.length) bands.push(band + ' L' + lower.reverse().join(' L') + ' Z');
    band = ''; lower = [];
  };
  for (let i = 0; i < n; i++) {
    const x = axis.x(s.step[i]).toFixed(1);
    const hi = s.max[i], lo = s.min[i];
    if (!ys || !Number.isFinite(hi) || !Number.isFinite(lo)) {
      open = false;
      flush();
      nonfinite.push(Number(x));
      continue;
    }
    const yh = ys.y(hi).toFixed(1), yl = ys.y(lo).toFixed(1);
    line += `${open ? ' L' : ' M'}${x},${yh}`;
    band += `${band ? ' L' : 'M'}${x},${yh}`;
    lower.push(`${x},${yl}`);
    open = true;
  }
  flush();
  return {bands, line: line.trim(), nonfinite};
}

function drawSeries(svg, axis, ys, s, top) {
  const g = seriesGeometry(axis, ys, s);
  // A non-finite bucket: a red tick at the panel's top edge.
  for (const x of g.nonfinite) {
    el(svg, 'line', {x1: x, x2: x, y1: top, y2: top + 6, stroke: '#d0021b', 'stroke-width': 2});
  }
  for (const d of g.bands) {
    el(svg, 'path', {d, fill: s.colour, 'fill-opacity': 0.18, stroke: 'none'});
  }
  if (g.line) {
    el(svg, 'path', {d: g.line, fill: 'none', stroke: s.colour, 'stroke-width': 1.4,
                     'stroke-dasharray': s.dashed ? '5 3' : 'none',
                     class: `curve curve-${s.name}`});
  }
}
