// The neuron-level view's layouts: a small layer's weights as nodes (units) and edges
// (connections, colour = sign, width = magnitude). A Linear layer connects every input to every
// output; a convolution (drawn as a 1-D slice through the kernel's centre row) connects each
// output position to a window of inputs with the same weights at every position; a recurrent
// layer adds hidden-to-hidden connections drawn as loops. Pure: weights in, geometry out.

export const MAX_CONV_CHANNELS = 2;
export const CONV_POSITIONS = 8;

export function signColor(w) {
  return w >= 0 ? '#2563eb' : '#dc2626';
}

function maxAbs(values) {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m || 1;
}

function column(n, x, top, gap) {
  return Array.from({ length: n }, (_, i) => ({ x, y: top + i * gap }));
}

function edge(a, b, w, scale, extra = {}) {
  return { x1: a.x, y1: a.y, x2: b.x, y2: b.y, w, sign: w >= 0 ? 'positive' : 'negative',
    width: 0.3 + 2.7 * Math.abs(w) / scale, ...extra };
}

// Linear: weight [out, in] (row-major values) → in + out nodes, in × out edges.
export function linearLayout(shape, values, opts = {}) {
  const [out, inp] = shape;
  const gap = opts.gap ?? Math.max(6, Math.min(18, 260 / Math.max(out, inp)));
  const h = Math.max(out, inp) * gap;
  const ins = column(inp, 30, 30 + (h - inp * gap) / 2, gap).map((p, i) => ({ ...p, role: 'input', index: i }));
  const outs = column(out, 190, 30 + (h - out * gap) / 2, gap).map((p, i) => ({ ...p, role: 'output', index: i }));
  const scale = maxAbs(values);
  const edges = [];
  for (let o = 0; o < out; o += 1) {
    for (let i = 0; i < inp; i += 1) edges.push(edge(ins[i], outs[o], values[o * inp + i], scale));
  }
  return { nodes: [...ins, ...outs], edges, width: 220, height: h + 50, caption: `all-to-all: ${inp}×${out} weights` };
}

// Conv1d [out, in, k] or Conv2d [out, in, kh, kw]: a 1-D slice along the width through the
// kernel's centre row, a few channels, CONV_POSITIONS positions, stride and padding applied.
export function convLayout(shape, values, hp = {}, opts = {}) {
  const [out, inp] = shape;
  const kh = shape.length === 4 ? shape[2] : 1;
  const kw = shape[shape.length - 1];
  const stride = Array.isArray(hp.stride) ? hp.stride[hp.stride.length - 1] : (hp.stride || 1);
  const padRaw = Array.isArray(hp.padding) ? hp.padding[hp.padding.length - 1] : hp.padding;
  const pad = typeof padRaw === 'number' ? padRaw : Math.floor(kw / 2);
  const cin = Math.min(inp, MAX_CONV_CHANNELS);
  const cout = Math.min(out, MAX_CONV_CHANNELS);
  const P = CONV_POSITIONS;
  const Q = Math.max(1, Math.floor((P + 2 * pad - kw) / stride) + 1);
  const gap = opts.gap ?? 11;
  const groupGap = 10;
  const at = (o, c, r, t) => values[((o * inp + c) * kh + r) * kw + t];
  const centre = Math.floor(kh / 2);
  const ins = [];
  for (let c = 0; c < cin; c += 1) {
    for (let j = 0; j < P; j += 1) ins.push({ x: 30, y: 30 + (c * P + j) * gap + c * groupGap, role: 'input', channel: c, index: j });
  }
  const outs = [];
  const inH = cin * P * gap + (cin - 1) * groupGap;
  const outH = cout * Q * gap + (cout - 1) * groupGap;
  const off = (inH - outH) / 2;
  for (let o = 0; o < cout; o += 1) {
    for (let i = 0; i < Q; i += 1) outs.push({ x: 190, y: 30 + off + (o * Q + i) * gap + o * groupGap, role: 'output', channel: o, index: i });
  }
  const used = [];
  for (let o = 0; o < cout; o += 1) for (let c = 0; c < cin; c += 1) for (let t = 0; t < kw; t += 1) used.push(at(o, c, centre, t));
  const scale = maxAbs(used);
  const edges = [];
  for (let o = 0; o < cout; o += 1) {
    for (let i = 0; i < Q; i += 1) {
      for (let c = 0; c < cin; c += 1) {
        for (let t = 0; t < kw; t += 1) {
          const j = i * stride - pad + t;
          if (j < 0 || j >= P) continue;
          edges.push(edge(ins[c * P + j], outs[o * Q + i], at(o, c, centre, t), scale,
            { weightIndex: `${o},${c},${t}` }));
        }
      }
    }
  }
  return { nodes: [...ins, ...outs], edges, width: 270, height: Math.max(inH, outH) + 50,
    caption: `local, shared: ${kw} taps × ${cin} ch, same weights everywhere`,
    shown: { inChannels: cin, outChannels: cout, positions: P, kernel: kw } };
}

// RNN/LSTM/GRU layer 0: input → hidden from the candidate block of weight_ih (LSTM g, GRU n,
// RNN all), hidden → hidden from the same block of weight_hh as loops, the strongest kept.
export function recurrentLayout(cls, ih, hh, opts = {}) {
  const gates = /LSTM/.test(cls) ? 4 : /GRU/.test(cls) ? 3 : 1;
  const block = gates === 1 ? 0 : 2;
  const H = hh.shape[1];
  const I = ih.shape[1];
  const gap = opts.gap ?? Math.max(8, Math.min(18, 260 / Math.max(H, I)));
  const h = Math.max(H, I) * gap;
  const ins = column(I, 30, 30 + (h - I * gap) / 2, gap).map((p, i) => ({ ...p, role: 'input', index: i }));
  const hid = column(H, 170, 30 + (h - H * gap) / 2, gap).map((p, i) => ({ ...p, role: 'hidden', index: i }));
  const wi = (j, i) => ih.values[(block * H + j) * I + i];
  const wh = (j, i) => hh.values[(block * H + j) * H + i];
  const all = [];
  for (let j = 0; j < H; j += 1) for (let i = 0; i < I; i += 1) all.push(wi(j, i));
  const rec = [];
  for (let j = 0; j < H; j += 1) for (let i = 0; i < H; i += 1) rec.push({ from: i, to: j, w: wh(j, i) });
  const scale = maxAbs([...all, ...rec.map((r) => r.w)]);
  const edges = [];
  for (let j = 0; j < H; j += 1) for (let i = 0; i < I; i += 1) edges.push(edge(ins[i], hid[j], wi(j, i), scale));
  const keep = opts.keepLoops ?? 3 * H;
  rec.sort((a, b) => Math.abs(b.w) - Math.abs(a.w));
  const loops = rec.slice(0, keep).map((r) => ({ ...edge(hid[r.from], hid[r.to], r.w, scale), loop: true,
    self: r.from === r.to }));
  return { nodes: [...ins, ...hid], edges: [...edges, ...loops], width: 290, height: h + 50,
    caption: `${cls} ${block === 0 ? '' : gates === 4 ? 'cell gate g, ' : 'candidate n, '}loops: strongest ${loops.length} of ${H * H} recurrent weights` };
}

// The panels of one run's snapshot, in the record's module order.
export function neuronPanels(record, params) {
  const byModule = new Map();
  for (const p of Object.values(params)) {
    if (!byModule.has(p.module)) byModule.set(p.module, {});
    byModule.get(p.module)[p.param] = p;
  }
  const hp = new Map((record.modules || []).map((m) => [m.name, m.hparams || {}]));
  const order = new Map((record.modules || []).map((m, i) => [m.name, m.order ?? 1e9 + i]));
  const panels = [];
  for (const [module, ps] of byModule) {
    const any = Object.values(ps)[0];
    let lay = null;
    if (any.kind === 'linear' && ps.weight) lay = linearLayout(ps.weight.shape, ps.weight.values);
    else if (any.kind === 'conv' && ps.weight) lay = convLayout(ps.weight.shape, ps.weight.values, hp.get(module));
    else if (any.kind === 'recurrent' && ps.weight_ih_l0 && ps.weight_hh_l0) {
      lay = recurrentLayout(any.class, ps.weight_ih_l0, ps.weight_hh_l0);
    } else if (any.kind === 'recurrent' && ps.weight_ih && ps.weight_hh) {
      lay = recurrentLayout(any.class, ps.weight_ih, ps.weight_hh);
    }
    if (lay) panels.push({ module, cls: any.class, kind: any.kind, ...lay });
  }
  panels.sort((a, b) => (order.get(a.module) ?? 0) - (order.get(b.module) ?? 0));
  return panels;
}
