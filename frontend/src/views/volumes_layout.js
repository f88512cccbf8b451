// The 3-D volumes figure (VGG style): every feature map of a CNN as a box sized by its height,
// width and channels, log-scaled, in dataflow order; parallel branches stacked in one column.
// Pure: record in, boxes and edges out (drawn by volumes.js).
import { typeFamily } from '../diagram/labels.js';

// A feature map is an NCHW (or NCL / NCDHW) output; vectors ([N, F]) after them are drawn flat.
function mapOf(shape) {
  if (!Array.isArray(shape) || shape.length < 2) return null;
  if (shape.length === 4) return { c: shape[1], h: shape[2], w: shape[3] };
  if (shape.length === 3) return { c: shape[1], h: shape[2], w: 1 };
  if (shape.length === 5) return { c: shape[1], h: shape[3], w: shape[4] };
  if (shape.length === 2) return { c: shape[1], h: 1, w: 1, vector: true };
  return null;
}

export function dimsLabel(d) {
  return d.vector ? `${d.c}` : `${d.h}×${d.w}×${d.c}`;
}

function sameDims(a, b) {
  return a && b && a.c === b.c && a.h === b.h && a.w === b.w;
}

// Log scale: 1 → lo, 2× size → +step, capped.
export function logSize(n, lo, step, hi) {
  return Math.min(hi, lo + step * Math.log2(Math.max(1, n)));
}

function firstOutput(node) {
  const io = node.io && node.io[0];
  const out = io ? io.outputs : node.outputs;
  return out && out.length ? out[0].shape : null;
}

function firstInput(node) {
  const io = node.io && node.io[0];
  const inp = io ? io.inputs : node.inputs;
  return inp && inp.length ? inp[0].shape : null;
}

// Which dataflow nodes become boxes: the model input, and every node whose output map differs
// from its input map (convs, pools, concats, flattening linears); shape-keeping layers (norms,
// activations, residual adds) are folded into the box before them.
export function featureMaps(record) {
  const mods = new Map((record.modules || []).map((m) => [m.name, m]));
  const nodes = [];
  (record.inputs || []).forEach((t, i) => {
    const d = mapOf(t.shape);
    if (d && !d.vector) nodes.push({ id: `input:${i}`, cls: 'input', order: -1, dims: d });
  });
  const idOrder = (id) => {
    const base = id.split('#')[0];
    const m = mods.get(base);
    return m ? m.order : null;
  };
  for (const m of record.modules || []) {
    if (!m.leaf || m.order === null || m.order === undefined) continue;
    nodes.push({ id: m.name, cls: m.class, order: m.order, dims: mapOf(firstOutput(m)),
      inDims: mapOf(firstInput(m)), module: m.name });
  }
  for (const op of record.ops || []) {
    nodes.push({ id: op.id, cls: op.op, order: op.order, dims: mapOf(firstOutput(op)),
      inDims: mapOf(firstInput(op)), module: op.scope, op: true });
  }
  // Call-site copies (name#k) share their module's order; they are separate dataflow nodes.
  const known = new Set(nodes.map((n) => n.id));
  for (const e of record.edges || []) {
    for (const id of [e.src, e.dst]) {
      if (!known.has(id) && id.includes('#') && mods.has(id.split('#')[0])) {
        const m = mods.get(id.split('#')[0]);
        known.add(id);
        nodes.push({ id, cls: m.class, order: (idOrder(id) ?? 0) + 0.5, dims: mapOf(firstOutput(m)),
          inDims: mapOf(firstInput(m)), module: m.name });
      }
    }
  }
  return nodes;
}

// Boxes with columns (dataflow rank over kept nodes) and rows (branches side by side).
export function volumeLayout(record, opts = {}) {
  const all = featureMaps(record);
  const byId = new Map(all.map((n) => [n.id, n]));
  const preds = new Map(all.map((n) => [n.id, []]));
  for (const e of record.edges || []) {
    if (byId.has(e.src) && byId.has(e.dst)) preds.get(e.dst).push(e.src);
  }
  const anyMap = all.some((n) => n.dims && !n.dims.vector);
  if (!anyMap) return { boxes: [], edges: [], width: 0, height: 0 };
  const lastMapOrder = Math.max(...all.filter((n) => n.dims && !n.dims.vector).map((n) => n.order));
  const keep = (n) => {
    if (!n.dims) return false;
    if (n.id.startsWith('input:')) return true;
    if (n.dims.vector && n.order < lastMapOrder) return false;
    const fam = n.op ? (n.cls === 'cat' || n.cls === 'concat' || n.cls === 'stack' ? 'concat' : 'op')
      : typeFamily(n.cls, true);
    if (fam === 'conv' || fam === 'pool' || fam === 'linear' || fam === 'concat') return true;
    return !sameDims(n.dims, n.inDims);
  };
  const kept = new Set(all.filter(keep).map((n) => n.id));
  // Nearest kept ancestors of every node (through folded ones).
  const sorted = [...all].sort((a, b) => a.order - b.order);
  const anc = new Map();
  for (const n of sorted) {
    const set = new Set();
    for (const p of preds.get(n.id)) {
      if (kept.has(p)) set.add(p);
      else for (const q of anc.get(p) || []) set.add(q);
    }
    anc.set(n.id, set);
  }
  const boxes = sorted.filter((n) => kept.has(n.id));
  const rank = new Map();
  for (const b of boxes) {
    let r = 0;
    for (const p of anc.get(b.id)) r = Math.max(r, (rank.get(p) ?? 0) + 1);
    rank.set(b.id, r);
  }
  const edges = [];
  for (const b of boxes) for (const p of anc.get(b.id)) edges.push({ src: p, dst: b.id });
  // Geometry: thickness along x from channels, height from H, oblique depth from W.
  const gap = opts.gap ?? 34;
  const geo = boxes.map((b) => {
    const d = b.dims;
    const thick = d.vector ? 6 : logSize(d.c, 4, 5, 48);
    const hgt = d.vector ? logSize(d.c, 20, 12, 150) : logSize(d.h, 14, 18, 150);
    const dep = d.vector ? 6 : logSize(d.w, 10, 9, 80) * 0.6;
    return { ...b, rank: rank.get(b.id), thick, hgt, dep, label: dimsLabel(d) };
  });
  const cols = [];
  for (const g of geo) (cols[g.rank] = cols[g.rank] || []).push(g);
  let x = 20;
  const top = 30;
  let height = 0;
  const stackH = (col) => col.reduce((s, g) => s + g.hgt + g.dep + 44, 0);
  const tallest = Math.max(...cols.filter(Boolean).map(stackH));
  for (const col of cols.filter(Boolean)) {
    const colW = Math.max(...col.map((g) => g.thick + g.dep), 40);
    let y = top + (tallest - stackH(col)) / 2; // columns centred on one axis, as in the paper
    for (const g of col) {
      g.x = x + (colW - g.thick - g.dep) / 2;
      g.y = y + g.dep; // front face top-left; the top face rises by dep
      y += g.hgt + g.dep + 44;
    }
    height = Math.max(height, y);
    x += colW + gap;
  }
  return { boxes: geo, edges, width: x, height: height + 10 };
}
