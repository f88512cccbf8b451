// The layers × steps heatmap: rows grouped by module path (collapsible), log colour scale,
// anomaly glyphs, hover tooltip, click to open a layer. The server sends one plane per visible
// line (a row, or a folded group's worst value) and says which groups it folded; folding or
// unfolding asks the app for the planes of the new set (onFold).

import {decodeF32, num, timed} from '../common/api.js';
import {fmtStep, fmtValue, glyph, statLabel} from './format.js';
import {EMPTY_RGB, makeScale, NONFINITE_RGB} from './scale.js';
import {anomalyMessage} from './sentences.js';
import {svgEl as el, SVG_NS as SVG} from '../common/dom.js';


/** Group tree of row names ("a.b.c" sits in group "a.b"), in order of first appearance. */
export function buildTree(rows) {
  const root = {path: '', label: '', children: [], rows: [], depth: -1};
  const nodes = new Map([['', root]]);
  rows.forEach((name, i) => {
    const parts = name.split('.');
    let parent = root;
    for (let d = 0; d < parts.length - 1; d++) {
      const path = parts.slice(0, d + 1).join('.');
      let node = nodes.get(path);
      if (!node) {
        node = {path, label: parts[d], children: [], rows: [], depth: d};
        nodes.set(path, node);
        parent.children.push(node);
      }
      parent = node;
    }
    parent.children.push({row: i, label: parts[parts.length - 1], depth: parts.length - 1});
  });
  const collect = (node) => {
    for (const c of node.children) {
      if (c.row !== undefined) node.rows.push(c.row);
      else node.rows.push(...collect(c));
    }
    return node.rows;
  };
  collect(root);
  // A chain of single-child groups reads better as one line ("net.blocks" not "net" › "blocks").
  const squash = (node) => {
    node.children = node.children.map((c) => {
      if (c.row !== undefined) return c;
      while (c.children.length === 1 && c.children[0].row === undefined) {
        const only = c.children[0];
        c = {...only, label: `${c.label}.${only.label}`, depth: c.depth};
      }
      squash(c);
      return c;
    });
  };
  squash(root);
  return root;
}

/** The heatmap's visible lines, top to bottom: {label, depth, rows (indices), group (node) |
 * null, folded}; a folded group is one line, an open group a header line and its children. */
export function visibleLines(tree, collapsed) {
  const out = [];
  const walk = (node) => {
    for (const c of node.children) {
      if (c.row !== undefined) {
        out.push({label: c.label, depth: c.depth, rows: [c.row], group: null});
      } else {
        const folded = collapsed.has(c.path);
        out.push({label: c.label, depth: c.depth, rows: c.rows, group: c, folded});
        if (!folded) walk(c);
      }
    }
  };
  walk(tree);
  return out;
}

/** Row height in CSS pixels for `n` visible lines (denser when there are many). */
export function rowHeight(n) {
  return n > 80 ? 9 : n > 40 ? 12 : 16;
}

export class Heatmap {
  constructor(container, {onSelect, onScrub, onFold}) {
    this.onSelect = onSelect;
    this.onFold = onFold;
    this.onScrub = onScrub;
    this.wrap = document.createElement('div');
    this.wrap.className = 'hm-wrap';
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'hm-canvas';
    this.tooltip = document.createElement('div');
    this.tooltip.className = 'tooltip';
    this.tooltip.hidden = true;
    this.legend = document.createElementNS(SVG, 'svg');
    this.legend.setAttribute('class', 'legend');
    this.wrap.append(this.canvas, this.tooltip);
    container.append(this.legend, this.wrap);
    this.collapsed = new Set();
    this.treeKey = null;
    this.anomalies = [];
    this.step = null;
    this.selectedLayer = null;
    this.canvas.addEventListener('mousemove', (e) => this._hover(e));
    this.canvas.addEventListener('mouseleave', () => { this.tooltip.hidden = true; });
    this.canvas.addEventListener('click', (e) => this._click(e));
  }

  setData(data) {
    this.data = data;
    this.cols = data.first_step.length;
    this.nrows = data.rows.length;
    this.max = timed('tl:decode', () => decodeF32(data.max));
    this.min = data.min ? decodeF32(data.min) : null;
    const key = data.rows.join('\n');
    if (key !== this.treeKey) {
      this.treeKey = key;
      this.tree = buildTree(data.rows);
    }
    this.collapsed = new Set(data.folded || []);
    this.lineIndex = new Map(data.lines.map((l, i) => [l.group === undefined ? `r${l.row}`
                                                                               : `g${l.group}`, i]));
    timed('tl:scale', () => {
      this.scale = makeScale(num(data.finite_min), num(data.finite_max), num(data.positive_min));
      this._drawLegend();
    });
    timed('tl:layout', () => this._layout());
  }

  /** The minimum plane of the same request (planes=min), for the tooltip. */
  setMin(data) {
    if (!this.data || data.min === undefined || data.lines.length !== this.data.lines.length ||
        data.first_step.length !== this.cols || data.stat !== this.data.stat ||
        data.kind !== this.data.kind || data.run !== this.data.run ||
        (data.folded || []).join('\n') !== (this.data.folded || []).join('\n')) return;
    this.min = decodeF32(data.min);
    this._layout();
  }

  setAnomalies(anomalies, runEnd) { this.anomalies = anomalies || []; this.runEnd = runEnd; }
  setAxis(axis) { this.axis = axis; }
  setStep(step) { this.step = step; }
  setSelectedLayer(layer) { this.selectedLayer = layer; }

  _lines() {
    return visibleLines(this.tree, this.collapsed);
  }

  _layout() {
    this.lines = this._lines();
    const C = this.cols, L = this.data.lines.length;
    for (const line of this.lines) {
      const li = this.lineIndex.get(line.group ? `g${line.group.path}` : `r${line.rows[0]}`);
      const mx = new Float32Array(C).fill(-Infinity);  // -Infinity: no data from the server
      const mn = this.min ? new Float32Array(C).fill(NaN) : null;
      if (li !== undefined) {
        for (let c = 0; c < C; c++) mx[c] = this.max[c * L + li];
        if (mn) for (let c = 0; c < C; c++) mn[c] = this.min[c * L + li];
      }
      line.max = mx;
      line.min = mn;
      line.layers = new Set(line.rows.map((r) => this.data.layers[r]));
      line.names = line.rows.map((r) => this.data.rows[r]);
    }
    this.rowH = rowHeight(this.lines.length);
  }

  _markers() {
    // Each anomaly on the most specific visible line holding its layer.
    const out = [];
    for (const a of this.anomalies) {
      if (!a.layer) continue;
      let best = -1, bestScore = -1;
      this.lines.forEach((line, i) => {
        let score = -1;
        if (line.group === null && line.layers.has(a.layer)) score = 3;
        else if (line.group && line.folded && line.layers.has(a.layer)) score = 2;
        else if (line.group && line.folded && (a.layer.startsWith(line.group.path + '.'))) score = 1;
        else if (line.group && line.group.path && a.layer.startsWith(line.group.path + '.') &&
                 !line.layers.has(a.layer)) score = 0.5 + line.group.path.length / 1e4;
        if (score > bestScore) { best = i; bestScore = score; }
      });
      if (best >= 0) out.push({line: best, a});
    }
    return out;
  }

  draw() {
    if (!this.data || !this.axis) return;
    timed('tl:draw', () => this._draw());
    if (!this.painted) {
      this.painted = true;
      performance.mark('tl:first-heatmap-paint');
    }
  }

  _draw() {
    const ax = this.axis;
    const dpr = window.devicePixelRatio || 1;
    const W = ax.width, H = Math.max(this.lines.length * this.rowH, 20);
    const Wd = Math.round(W * dpr), Hd = Math.round(H * dpr);
    this.canvas.width = Wd;
    this.canvas.height = Hd;
    this.canvas.style.width = `${W}px`;
    this.canvas.style.height = `${H}px`;
    const g = this.canvas.getContext('2d');
    // Cells straight into pixels (one fillRect per cell is ~100x slower at 500 x 1,300):
    // each line's colours are laid out once as a pixel row, then copied down its height.
    const first = this.data.first_step, last = this.data.last_step;
    const xs = new Int32Array(this.cols + 1);
    for (let c = 0; c < this.cols; c++) xs[c] = Math.round(ax.x(first[c]) * dpr);
    xs[this.cols] = this.cols
      ? Math.round((ax.x(last[this.cols - 1]) + Math.max(2, ax.pxPerStep || 0)) * dpr) : 0;
    const img = g.createImageData(Wd, Hd);
    const px = new Uint32Array(img.data.buffer);
    const pack = (rgb) => ((255 << 24) | ((rgb[2] | 0) << 16) | ((rgb[1] | 0) << 8) |
                           (rgb[0] | 0)) >>> 0;
    px.fill(pack([255, 255, 255]));
    const groupBg = pack([241, 243, 245]);
    const empty = pack(EMPTY_RGB);
    const left = Math.round(ax.left * dpr);
    const line = new Uint32Array(Wd);
    const rh = this.rowH;
    const val = new Float32Array(Wd);
    const has = new Uint8Array(Wd);
    this.lines.forEach((ln, i) => {
      const open = ln.group && !ln.folded;
      line.fill(open ? groupBg : pack([255, 255, 255]));
      // Where columns share a pixel the worst wins (NaN, else the largest): no spike is
      // painted over by a quieter neighbour.
      has.fill(0);
      for (let c = 0; c < this.cols; c++) {
        const v = ln.max[c];
        const x0 = Math.max(left, xs[c]), x1 = Math.min(Wd, Math.max(xs[c + 1], x0 + 1));
        for (let x = x0; x < x1; x++) {
          const cur = val[x];
          if (!has[x] || Number.isNaN(v) || (!Number.isNaN(cur) && v > cur)) {
            val[x] = v;
            has[x] = 1;
          }
        }
      }
      let prev = NaN, prevColour = 0, prevSet = false;
      for (let x = left; x < Wd; x++) {
        if (!has[x]) continue;
        const v = val[x];
        if (!prevSet || !(v === prev || (Number.isNaN(v) && Number.isNaN(prev)))) {
          prevColour = v === -Infinity ? empty : pack(this.scale.rgb(v));
          prev = v;
          prevSet = true;
        }
        line[x] = prevColour;
      }
      const inset = open ? 3 : 0.5;
      const y0 = Math.round((i * rh + inset) * dpr), y1 = Math.round(((i + 1) * rh - inset) * dpr);
      if (open) {  // the header's grey band around its thinner strip
        const band = new Uint32Array(Wd).fill(pack([255, 255, 255]));
        band.fill(groupBg, left, Wd);
        for (let y = Math.round(i * rh * dpr); y < Math.round((i + 1) * rh * dpr); y++) {
          px.set(band, y * Wd);
        }
      }
      for (let y = y0; y < y1 && y < Hd; y++) px.set(line, y * Wd);
    });
    g.putImageData(img, 0, 0);
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.lines.forEach((line, i) => {
      const y = i * rh;
      // Label column.
      const selected = this.selectedLayer && line.layers.has(this.selectedLayer) && !line.group;
      g.fillStyle = selected ? '#e7f5ff' : '#ffffff';
      g.fillRect(0, y, ax.left - 4, rh);
      g.fillStyle = line.group ? '#212529' : '#343a40';
      g.font = `${line.group ? '600 ' : ''}${rh > 13 ? 12 : rh > 10 ? 10 : 8}px system-ui, sans-serif`;
      g.textBaseline = 'middle';
      const indent = 4 + Math.min(line.depth, 8) * 10;
      const text = line.group ? `${line.folded ? '▸' : '▾'} ${line.label} (${line.rows.length})`
                              : line.label;
      g.fillText(text, indent, y + rh / 2, ax.left - indent - 8);
    });
    // Anomaly glyphs: a bar from first to last step under the row, the glyph at the start.
    for (const {line, a} of this._markers()) {
      const [ch, colour] = glyph(a.kind);
      const y = line * rh;
      const x0 = ax.x(a.first_step), x1 = ax.x(a.last_step ?? a.first_step);
      g.fillStyle = colour;
      g.fillRect(x0, y + rh - 3, Math.max(2, x1 - x0), 2);
      g.font = `bold ${rh - 2}px system-ui, sans-serif`;
      g.textAlign = 'center';
      g.lineWidth = 3;
      g.strokeStyle = '#ffffff';
      g.strokeText(ch, x0, y + rh / 2);
      g.fillText(ch, x0, y + rh / 2);
      g.textAlign = 'start';
    }
    if (this.step !== null && this.step !== undefined) {
      const x = ax.x(this.step);
      g.strokeStyle = '#000000';
      g.lineWidth = 1;
      g.setLineDash([4, 3]);
      g.beginPath();
      g.moveTo(x + 0.5, 0);
      g.lineTo(x + 0.5, H);
      g.stroke();
      g.setLineDash([]);
    }
  }

  _drawLegend() {
    const svg = this.legend;
    svg.replaceChildren();
    const W = 420, H = 38;
    svg.setAttribute('width', W + 20);
    svg.setAttribute('height', H);
    const s = this.scale;
    const add = (name, attrs, text) => el(svg, name, attrs, text);
    const title = s.kind === 'empty'
      ? `${statLabel(this.data.stat, this.data.kind)}: no finite value in this run`
      : `${statLabel(this.data.stat, this.data.kind)} (${s.kind === 'log' ? 'log scale' :
         s.kind === 'diverging' ? 'signed' : 'linear'}, bucket maximum)`;
    const x0 = 14, w = 230, y = 16;
    add('text', {x: x0, y: 11, class: 'legend-title'}, title);
    for (let i = 0; i < 60; i++) {
      const rgb = s.ramp ? s.ramp(i / 59) : EMPTY_RGB;
      add('rect', {x: x0 + (w * i) / 60, y, width: w / 60 + 0.5, height: 10,
                  fill: `rgb(${rgb.map((v) => v | 0).join(',')})`});
    }
    for (const t of s.ticks) {
      const tx = x0 + w * Math.min(1, Math.max(0, s.toT(t)));
      add('line', {x1: tx, x2: tx, y1: y + 10, y2: y + 13, stroke: '#495057'});
      add('text', {x: tx, y: y + 21, class: 'legend-tick', 'text-anchor': 'middle'}, fmtValue(t));
    }
    add('rect', {x: 262, y, width: 12, height: 10,
                fill: `rgb(${NONFINITE_RGB.join(',')})`});
    add('text', {x: 278, y: y + 9, class: 'legend-tick'}, 'NaN / Inf');
    add('rect', {x: 340, y, width: 12, height: 10, fill: `rgb(${EMPTY_RGB.join(',')})`,
                stroke: '#ced4da'});
    add('text', {x: 356, y: y + 9, class: 'legend-tick'}, 'no data');
  }

  _pick(e) {
    const rect = this.canvas.getBoundingClientRect();
    const x = e.clientX - rect.left, y = e.clientY - rect.top;
    const line = Math.floor(y / this.rowH);
    if (!this.lines || line < 0 || line >= this.lines.length) return null;
    let col = -1;
    if (x >= this.axis.left) {
      const step = this.axis.stepAt(x);
      const first = this.data.first_step;
      let lo = 0, hi = this.cols - 1;
      while (lo < hi) {  // last column starting at or before the step
        const mid = (lo + hi + 1) >> 1;
        if (first[mid] <= step) lo = mid; else hi = mid - 1;
      }
      col = lo;
    }
    return {x, y, line, col};
  }

  _hover(e) {
    const p = this._pick(e);
    if (!p) { this.tooltip.hidden = true; return; }
    const line = this.lines[p.line];
    const tip = this.tooltip;
    tip.replaceChildren();
    const add = (cls, text) => {
      const d = document.createElement('div');
      d.className = cls;
      d.textContent = text;
      tip.append(d);
      return d;
    };
    add('tt-title', line.group ? `${line.group.path} (${line.rows.length} rows)` : line.names[0]);
    if (!line.group && line.layers.size) add('tt-sub', `module ${[...line.layers][0]}`);
    if (p.col >= 0) {
      const c = p.col;
      const a = this.data.first_step[c], b = this.data.last_step[c];
      add('tt-sub', a === b ? `step ${fmtStep(a)}` : `steps ${fmtStep(a)}–${fmtStep(b)}`);
      const mx = line.max[c];
      add('tt-val', `${statLabel(this.data.stat, this.data.kind)}: max ${mx === -Infinity ? '—' : fmtValue(mx)}` +
                    `, min ${line.min ? fmtValue(line.min[c]) : '…'}`);
      for (const {line: li, a: an} of this._markers()) {
        if (li === p.line && Math.abs(this.axis.x(an.first_step) - p.x) < 8) {
          add('tt-anomaly', `${glyph(an.kind)[0]} ${anomalyMessage(an, this.runEnd)}`);
        }
      }
      add('tt-hint', line.group && line.folded ? 'click to unfold' : 'click to open this layer');
    } else if (line.group) {
      add('tt-hint', line.folded ? 'click to unfold' : 'click to fold');
    }
    tip.hidden = false;
    const wrapW = this.wrap.clientWidth;
    const left = p.x + 16 + 280 > wrapW ? Math.max(0, p.x - 296) : p.x + 16;
    tip.style.left = `${left}px`;
    tip.style.top = `${p.y + 12}px`;
  }

  _click(e) {
    const p = this._pick(e);
    if (!p) return;
    const line = this.lines[p.line];
    if (line.group && (p.col < 0 || line.folded)) {
      const folded = new Set(this.collapsed);
      if (folded.has(line.group.path)) folded.delete(line.group.path);
      else folded.add(line.group.path);
      this.onFold([...folded]);
      return;
    }
    if (p.col < 0) return;
    const step = this.data.last_step[p.col];
    const layer = this.data.layers[line.rows[0]];
    this.onSelect({layer, row: line.names[0], step});
  }
}
