// The drawing as a small element tree {tag, attrs, children}: serialised to an SVG string
// for export, or turned into DOM nodes by the tab (text always as text nodes).
import { LINE_GAP, PAD_Y } from './boxes.js';
import { laneId } from './elkgraph.js';
import { TYPE_FAMILIES } from './labels.js';
import { textWidth } from './measure.js';
import { DEVICE_COLORS, EDGE_COLORS, FAMILY_COLORS, FONT, familyOf, ramp, SIZE } from './style.js';

export function h(tag, attrs, ...children) {
  return { tag, attrs: attrs || {}, children: children.flat().filter((c) => c !== null && c !== undefined && c !== false) };
}

const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ESC[c]);

export function toSvgString(el) {
  if (typeof el === 'string' || typeof el === 'number') return esc(el);
  const attrs = Object.entries(el.attrs)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => ` ${k}="${esc(v)}"`).join('');
  if (!el.children.length) return `<${el.tag}${attrs}/>`;
  return `<${el.tag}${attrs}>${el.children.map(toSvgString).join('')}</${el.tag}>`;
}

function nodeDevices(tree, v) {
  const ids = v.kind === 'repeat' ? v.members : [v.id];
  const out = new Set();
  for (const id of ids) {
    const n = tree.nodes.get(id);
    for (const d of (n && n.module && n.module.devices) || []) out.add(d);
  }
  return [...out].sort();
}

function nodeParams(tree, v) {
  if (v.kind === 'repeat') {
    return v.members.reduce((a, id) => a + ((tree.nodes.get(id).module.params || {}).total || 0), 0);
  }
  const n = tree.nodes.get(v.id);
  return (n && n.module && n.module.params && n.module.params.total) || 0;
}

// Colour of one block under the chosen mode. Modes: type, params, device, value (a number
// per module id in opts.values, e.g. a health statistic at a step: the extension point).
export function nodeColors(tree, v, opts, ctx) {
  const mode = opts.colorMode || 'type';
  if (v.kind === 'op') return ['#ffffff', '#334155'];
  if (v.kind === 'input' || v.kind === 'output') return ['#ffffff', '#334155'];
  if (mode === 'params' && !v.open) {
    const p = nodeParams(tree, v);
    const t = p > 0 ? Math.log10(p + 1) / Math.log10(ctx.maxParams + 1) : 0;
    return [ramp(t * 0.85), t > 0.55 ? '#1e3a8a' : '#64748b', t > 0.6 ? '#ffffff' : null];
  }
  if (mode === 'device') {
    const devs = nodeDevices(tree, v);
    if (devs.length === 1) return DEVICE_COLORS[ctx.devices.indexOf(devs[0]) % DEVICE_COLORS.length];
    return v.open ? ['#ffffff', '#94a3b8'] : ['#f3f4f6', '#6b7280'];
  }
  if (mode === 'value' && !v.open) {
    const n = tree.nodes.get(v.id);
    let val = ctx.blockValues.get(v.id);
    if (val === undefined && n && n.callOf !== undefined) val = ctx.blockValues.get(n.callOf);
    if (val === undefined || val === null) return ['#ffffff', '#cbd5e1'];
    if (!isFinite(val)) return BAD_VALUE;
    return [ramp(valueT(val, ctx) * 0.85), '#475569', valueT(val, ctx) > 0.7 ? '#ffffff' : null];
  }
  if (v.open) return ['#ffffff', '#94a3b8'];
  return FAMILY_COLORS[familyOf(tree, v)];
}

const BAD_VALUE = ['#fecaca', '#dc2626', '#7f1d1d'];

// The worse of two statistics: NaN, then ±Inf, then the larger.
function worse(a, b) {
  if (a === undefined) return b;
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  if (!isFinite(a)) return a;
  if (!isFinite(b)) return b;
  return Math.max(a, b);
}

// Position of a value on the colour scale: linear, or logarithmic for positive values that
// span two or more decades (gradient norms, update ratios).
function valueT(val, ctx) {
  const [lo, hi] = ctx.valueRange;
  if (ctx.valueLog) return (Math.log10(Math.max(val, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
  return hi > lo ? (val - lo) / (hi - lo) : 0.5;
}

// Values per module (opts.values, e.g. a health statistic at a step) gathered onto the
// visible blocks: a closed block shows the worst value of everything inside it.
function blockValuesOf(folded, values) {
  const out = new Map();
  for (const [name, raw] of Object.entries(values || {})) {
    const val = typeof raw === 'string' ? Number(raw) : raw;
    if (typeof val !== 'number') continue;
    const vis = folded.rep ? folded.rep.get(name) : name;
    if (vis === undefined) continue;
    out.set(vis, worse(out.get(vis), val));
  }
  return out;
}

function colorContext(tree, folded, opts) {
  let maxParams = 1;
  const devices = new Set();
  for (const v of folded.nodes) {
    if (!v.open) maxParams = Math.max(maxParams, nodeParams(tree, v));
    for (const d of nodeDevices(tree, v)) devices.add(d);
  }
  const blockValues = blockValuesOf(folded, opts.values);
  const closed = new Set(folded.nodes.filter((v) => !v.open).map((v) => v.id));
  const vals = [...blockValues].filter(([id, x]) => closed.has(id) && isFinite(x)).map(([, x]) => x);
  const lo = vals.length ? Math.min(...vals) : 0;
  const hi = vals.length ? Math.max(...vals) : 1;
  return { maxParams, devices: [...devices].sort(), blockValues, valueRange: [lo, hi],
    valueLog: lo > 0 && hi / lo >= 100,
    valueBad: [...blockValues].some(([id, x]) => closed.has(id) && !isFinite(x)) };
}

function edgeDevicesDiffer(tree, folded, e) {
  const a = folded.nodes.find((v) => v.id === e.src);
  const b = folded.nodes.find((v) => v.id === e.dst);
  if (!a || !b) return false;
  const da = nodeDevices(tree, a);
  const db = nodeDevices(tree, b);
  return da.length === 1 && db.length === 1 && da[0] !== db[0];
}

// Cross-device edge: between two lanes when there are lanes (inputs and ops sit in the lane
// of their data), else between blocks on two different single devices.
function crossesDevices(tree, folded, geo, e) {
  const lanes = geo.info && geo.info.lanes;
  if (lanes && lanes.of.has(e.src) && lanes.of.has(e.dst)) return lanes.of.get(e.src) !== lanes.of.get(e.dst);
  return edgeDevicesDiffer(tree, folded, e);
}

function pathOf(points) {
  return points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(' ');
}

function textLines(lines, x, y, width, height, color) {
  const total = lines.reduce((a, l) => a + l.size + LINE_GAP, 0) - LINE_GAP;
  let cy = y + (height - total) / 2;
  return lines.map((l) => {
    cy += l.size;
    const t = h('text', { x: (x + width / 2).toFixed(1), y: (cy - 1.5).toFixed(1),
      'text-anchor': 'middle', 'font-size': l.size, 'font-weight': l.weight || null,
      fill: l.role === 'meta' ? (color ? color : '#475569') : (color || '#0f172a'),
      class: `label-${l.role}` }, l.text);
    cy += LINE_GAP;
    return t;
  });
}

// The whole drawing. opts: colorMode, values, legend (bool), title, highlight (Set of ids),
// selected (id), diff ({added, removed, changed} id sets), background (bool).
export function renderDiagram(tree, folded, geo, opts = {}) {
  const ctx = colorContext(tree, folded, opts);
  const margin = 8;
  const legend = opts.legend ? legendItems(tree, folded, opts, ctx) : [];
  const legendRows = layoutLegend(legend, Math.max(geo.width, 260));
  const legendH = legendRows.length ? legendRows.length * 18 + 6 : 0;
  const width = Math.ceil(Math.max(geo.width, legendRows.length ? 260 : 0) + 2 * margin);
  const height = Math.ceil(geo.height + 2 * margin + legendH);
  const byId = new Map(folded.nodes.map((v) => [v.id, v]));
  const diff = opts.diff || {};
  const highlight = opts.highlight || new Set();
  const containers = [];
  const blocks = [];
  for (const v of folded.nodes) {
    const box = geo.nodes.get(v.id);
    if (!box) continue;
    const [fill, stroke, textColor] = nodeColors(tree, v, opts, ctx);
    const cls = ['node', `kind-${v.kind}`, v.open ? 'open' : 'closed'];
    let strokeColor = stroke;
    let strokeWidth = v.open ? 1 : 1.2;
    if (diff.added && diff.added.has(v.id)) { strokeColor = '#16a34a'; strokeWidth = 3; cls.push('diff-added'); }
    if (diff.changed && diff.changed.has(v.id)) { strokeColor = '#d97706'; strokeWidth = 3; cls.push('diff-changed'); }
    if (highlight.has(v.id)) { cls.push('highlight'); }
    if (opts.selected === v.id) { strokeColor = '#e11d48'; strokeWidth = 2.5; cls.push('selected'); }
    const g = h('g', { class: cls.join(' '), 'data-id': v.id,
      transform: `translate(${box.x.toFixed(1)},${box.y.toFixed(1)})` });
    const lines = geo.info.get(v.id).lines;
    if (v.kind === 'op') {
      const l = lines[0];
      if (l.title) g.children.push(h('title', null, l.title));
      if (box.width > box.height) {
        g.children.push(h('rect', { width: box.width, height: box.height, rx: box.height / 2,
          fill, stroke: strokeColor, 'stroke-width': strokeWidth }));
      } else {
        const r = box.width / 2;
        g.children.push(h('circle', { cx: r, cy: r, r, fill, stroke: strokeColor, 'stroke-width': strokeWidth }));
      }
      g.children.push(h('text', { x: (box.width / 2).toFixed(1), y: (box.height / 2 + l.size * 0.35).toFixed(1),
        'text-anchor': 'middle', 'font-size': l.size, 'font-weight': 'bold', fill: '#0f172a',
        class: 'label-name' }, l.text));
      blocks.push(g);
      continue;
    }
    if (v.kind === 'repeat') {
      for (const off of [6, 3]) {
        g.children.push(h('rect', { x: off, y: off, width: box.width, height: box.height, rx: 4,
          fill, stroke, 'stroke-width': 0.8, opacity: 0.9 }));
      }
    }
    const rx = v.kind === 'input' || v.kind === 'output' ? box.height / 2 : v.open ? 6 : 4;
    if (highlight.has(v.id)) {
      g.children.push(h('rect', { x: -4, y: -4, width: box.width + 8, height: box.height + 8,
        rx: rx + 3, fill: 'none', stroke: '#f59e0b', 'stroke-width': 3, class: 'halo' }));
    }
    g.children.push(h('rect', { width: box.width, height: box.height, rx, fill,
      stroke: strokeColor, 'stroke-width': strokeWidth,
      'stroke-dasharray': v.open ? '4 3' : null }));
    if (v.open) {
      g.children.push(h('text', { x: 8, y: PAD_Y + lines[0].size + 2, 'font-size': lines[0].size,
        'font-weight': 'bold', fill: '#334155', class: 'label-name' }, lines[0].text));
      containers.push(g);
    } else {
      g.children.push(...textLines(lines, 0, 0, box.width, box.height, textColor));
      blocks.push(g);
    }
  }
  const edgeEls = [];
  const labelEls = [];
  for (const item of geo.edges) {
    const e = item.edge;
    const cross = opts.colorMode === 'device' && crossesDevices(tree, folded, geo, e);
    const color = cross ? EDGE_COLORS.crossDevice : EDGE_COLORS[e.kind] || EDGE_COLORS.data;
    edgeEls.push(h('path', { d: pathOf(item.points), fill: 'none', stroke: color,
      'stroke-width': cross ? 2.4 : e.kind === 'residual' ? 1.6 : 1.1,
      'stroke-dasharray': e.kind === 'residual' ? '5 3' : null,
      'marker-end': `url(#arrow-${cross ? 'crossDevice' : e.kind in EDGE_COLORS ? e.kind : 'data'})`,
      class: `edge edge-${e.kind}${cross ? ' cross-device' : ''}`,
      'data-src': e.src, 'data-dst': e.dst }));
    if (item.label) {
      // A white box behind the text (paint-order is not honoured by every SVG renderer).
      const lab = item.label;
      labelEls.push(h('g', { class: 'edge-label' },
        h('rect', { x: lab.x.toFixed(1), y: lab.y.toFixed(1), width: lab.width, height: lab.height,
          fill: '#ffffff', opacity: 0.9 }),
        h('text', { x: (lab.x + lab.width / 2).toFixed(1), y: (lab.y + lab.height - 2.5).toFixed(1),
          'text-anchor': 'middle', 'font-size': SIZE.edge, fill: '#475569' }, lab.text)));
    }
  }
  const markers = Object.entries(EDGE_COLORS).map(([k, c]) => h('marker', { id: `arrow-${k}`,
    viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7,
    orient: 'auto-start-reverse' }, h('path', { d: 'M0 1 L10 5 L0 9 z', fill: c })));
  void byId;
  return h('svg', { xmlns: 'http://www.w3.org/2000/svg', width, height,
    viewBox: `0 0 ${width} ${height}`, 'font-family': FONT, class: 'archviz-diagram' },
  h('defs', null, ...markers),
  opts.background === false ? null : h('rect', { width, height, fill: '#ffffff', class: 'background' }),
  h('g', { transform: `translate(${margin},${margin})`, class: 'viewport' },
    opts.colorMode === 'device' ? laneBands(folded, geo, ctx, false) : null,
    h('g', { class: 'containers' }, ...containers),
    h('g', { class: 'edges' }, ...edgeEls),
    h('g', { class: 'blocks' }, ...blocks),
    h('g', { class: 'edge-labels' }, ...labelEls),
    opts.colorMode === 'device' ? laneBands(folded, geo, ctx, true) : null),
  legendRows.length ? drawLegend(legendRows, margin, height - legendH + 4) : null);
}

// Device lanes: one labelled band per device behind its blocks (see elkgraph deviceLanes):
// across the drawing for pipeline stages ("bands"), or a column per device ("columns", the
// lane compound nodes ELK placed, all drawn as tall as the tallest).
function laneBands(folded, geo, ctx, labels) {
  const lanes = geo.info && geo.info.lanes;
  if (!lanes) return null;
  const g = h('g', { class: labels ? 'lane-labels' : 'lanes' });
  const columns = lanes.orientation === 'columns';
  const tallest = columns ? Math.max(0, ...lanes.devices.map((d, i) => (geo.nodes.get(laneId(i)) || { height: 0 }).height)) : 0;
  lanes.devices.forEach((d, i) => {
    let box;
    if (columns) {
      const b = geo.nodes.get(laneId(i));
      if (!b) return;
      box = { x: b.x, y: b.y, width: b.width, height: tallest };
    } else {
      let y0 = Infinity;
      let y1 = -Infinity;
      for (const [id, lane] of [...lanes.of, ...(lanes.openOf || [])]) {
        const b = geo.nodes.get(id);
        if (lane !== i || !b) continue;
        y0 = Math.min(y0, b.y);
        y1 = Math.max(y1, b.y + b.height);
      }
      if (!isFinite(y0)) return;
      box = { x: 0, y: y0 - 4, width: geo.width, height: y1 - y0 + 8 };
    }
    const [fill, stroke] = DEVICE_COLORS[ctx.devices.indexOf(d) % DEVICE_COLORS.length] || DEVICE_COLORS[0];
    g.children.push(labels
      ? h('text', { class: 'lane-label', 'data-device': d, x: (box.x + (columns ? 10 : 4)).toFixed(1),
        y: (box.y + (columns ? 18 : 14)).toFixed(1), 'font-size': SIZE.header, 'font-weight': 'bold', fill: stroke }, d)
      : h('rect', { class: 'lane', 'data-device': d, 'data-orientation': lanes.orientation,
        x: box.x.toFixed(1), y: box.y.toFixed(1), width: box.width.toFixed(1), height: box.height.toFixed(1),
        rx: columns ? 6 : 0, fill, opacity: 0.35, stroke, 'stroke-dasharray': '2 3' }));
  });
  return g;
}

// Legend entries for the current mode: [[fill, stroke, text]].
export function legendItems(tree, folded, opts, ctx) {
  const mode = opts.colorMode || 'type';
  if (mode === 'type') {
    const present = new Set(folded.nodes.filter((v) => v.kind === 'module' || v.kind === 'repeat')
      .filter((v) => !v.open).map((v) => familyOf(tree, v)));
    const items = TYPE_FAMILIES.filter(([k]) => present.has(k))
      .map(([k, label]) => [...FAMILY_COLORS[k], label]);
    if (folded.edges.some((e) => e.kind === 'residual')) items.push(['none', EDGE_COLORS.residual, 'residual path']);
    return items;
  }
  if (mode === 'device') {
    return ctx.devices.map((d, i) => [...DEVICE_COLORS[i % DEVICE_COLORS.length], d])
      .concat([['none', EDGE_COLORS.crossDevice, 'cross-device']]);
  }
  if (mode === 'params') return [[ramp(0.05), '#64748b', 'few params'], [ramp(0.85), '#1e3a8a', 'most params']];
  if (mode === 'value') {
    const [lo, hi] = ctx.valueRange;
    const label = opts.valueLabel ? `${opts.valueLabel}: ` : '';
    const items = [];
    for (const t of [0, 0.5, 1]) {
      const v = ctx.valueLog ? 10 ** (Math.log10(lo) + t * (Math.log10(hi) - Math.log10(lo))) : lo + t * (hi - lo);
      items.push([ramp(t * 0.85), '#475569', (t === 0 ? label : '') + formatValue(v) + (t === 0.5 && ctx.valueLog ? ' (log scale)' : '')]);
    }
    if (ctx.valueBad) items.push([BAD_VALUE[0], BAD_VALUE[1], 'NaN / Inf']);
    items.push(['#ffffff', '#cbd5e1', 'not measured']);
    return items;
  }
  return [];
}

export function formatValue(v) {
  if (!isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

// Legend entries placed in rows that fit the drawing's width: [[x, item]] per row.
function layoutLegend(items, maxWidth) {
  const rows = [];
  let row = [];
  let x = 0;
  for (const item of items) {
    const w = 26 + textWidth(item[2], 9.5);
    if (row.length && x + w > maxWidth) { rows.push(row); row = []; x = 0; }
    row.push([x, item]);
    x += w;
  }
  if (row.length) rows.push(row);
  return rows;
}

function drawLegend(rows, x0, y0) {
  const g = h('g', { class: 'legend', transform: `translate(${x0},${y0})` });
  rows.forEach((row, r) => {
    const y = r * 18;
    for (const [x, [fill, stroke, text]] of row) {
      if (fill === 'none') {
        g.children.push(h('line', { x1: x, y1: y + 7, x2: x + 16, y2: y + 7, stroke,
          'stroke-width': 2, 'stroke-dasharray': '5 3' }));
      } else {
        g.children.push(h('rect', { x, y: y + 1, width: 16, height: 12, rx: 2, fill, stroke }));
      }
      g.children.push(h('text', { x: x + 20, y: y + 11, 'font-size': 9.5, fill: '#334155' }, text));
    }
  });
  return g;
}
