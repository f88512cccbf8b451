// Labels people put in papers: "Conv2d 3×3 s2, 64→128", "Linear 512→10", parameter counts.
// Pure functions over one module entry of the architecture record (FORMAT.md).

export function formatCount(n) {
  if (n === null || n === undefined || !isFinite(n)) return '';
  const a = Math.abs(n);
  const fmt = (v, s) => {
    const r = v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
    return r.replace(/\.0+$|(\.\d*?)0+$/, '$1') + s;
  };
  if (a >= 1e9) return fmt(n / 1e9, 'B');
  if (a >= 1e6) return fmt(n / 1e6, 'M');
  if (a >= 1e3) return fmt(n / 1e3, 'K');
  return String(n);
}

// Shapes without the batch dimension read like the figures in papers (C×H×W, T×D).
export function formatShape(shape, dropBatch = true) {
  if (!Array.isArray(shape)) return '';
  const dims = dropBatch && shape.length >= 2 ? shape.slice(1) : shape;
  if (dims.length === 0) return 'scalar';
  return dims.map((d) => (d === null || d === undefined ? '?' : String(d))).join('×');
}

function pair(v) {
  if (Array.isArray(v)) return v;
  if (v === undefined || v === null) return null;
  return [v];
}

function same(v) {
  return Array.isArray(v) && v.every((x) => x === v[0]);
}

// "3×3", "7", "1×7"; a tuple of equal values shows every dimension (papers write 3×3).
function kernel(v) {
  const p = pair(v);
  if (!p) return '';
  return p.join('×');
}

function strideText(v) {
  const p = pair(v);
  if (!p || p.every((x) => x === 1)) return '';
  return 's' + (same(p) ? p[0] : p.join('×'));
}

function dilationText(v) {
  const p = pair(v);
  if (!p || p.every((x) => x === 1)) return '';
  return 'd' + (same(p) ? p[0] : p.join('×'));
}

const CONV = /^(Lazy)?Conv(Transpose)?[123]d$/;
const POOL = /^(Max|Avg|LP|Fractional)Pool[123]d$/;
const ADAPTIVE = /^Adaptive(Max|Avg)Pool[123]d$/;
const NORM_BN = /^(Lazy)?(BatchNorm|InstanceNorm|SyncBatchNorm)[123]?d?$/;
const RNN = /^(LSTM|GRU|RNN)$/;
const RNN_CELL = /^(LSTMCell|GRUCell|RNNCell)$/;

// The hyperparameter summary for one module, or '' when nothing is worth saying.
export function hparamText(cls, h) {
  h = h || {};
  const parts = [];
  if (CONV.test(cls)) {
    const head = [kernel(h.kernel_size), strideText(h.stride), dilationText(h.dilation)]
      .filter(Boolean).join(' ');
    const groups = h.groups && h.groups > 1
      ? (h.groups === h.in_channels ? ' dw' : ` g${h.groups}`) : '';
    const io = h.in_channels !== undefined ? `${h.in_channels}→${h.out_channels}` : '';
    return [head + groups, io].filter(Boolean).join(', ');
  }
  if (cls === 'Linear' || cls === 'LazyLinear' || cls === 'Bilinear') {
    if (h.in_features !== undefined) return `${h.in_features}→${h.out_features}`;
    return h.out_features !== undefined ? `→${h.out_features}` : '';
  }
  if (cls === 'MultiheadAttention') {
    if (h.num_heads !== undefined) parts.push(`${h.num_heads} heads`);
    if (h.embed_dim !== undefined) parts.push(`d=${h.embed_dim}`);
    return parts.join(', ');
  }
  if (cls === 'TransformerEncoderLayer' || cls === 'TransformerDecoderLayer') {
    if (h.d_model !== undefined) parts.push(`d=${h.d_model}`);
    if (h.nhead !== undefined) parts.push(`${h.nhead} heads`);
    if (h.dim_feedforward !== undefined) parts.push(`ff ${h.dim_feedforward}`);
    return parts.join(', ');
  }
  if (RNN.test(cls) || RNN_CELL.test(cls)) {
    if (h.hidden_size !== undefined) parts.push(String(h.hidden_size));
    if (h.num_layers !== undefined && h.num_layers > 1) parts.push(`${h.num_layers} layers`);
    if (h.bidirectional) parts.push('bidir');
    return parts.join(', ');
  }
  if (cls === 'Embedding' || cls === 'EmbeddingBag') {
    return h.num_embeddings !== undefined ? `${h.num_embeddings}×${h.embedding_dim}` : '';
  }
  if (NORM_BN.test(cls)) return h.num_features !== undefined ? String(h.num_features) : '';
  if (cls === 'LayerNorm' || cls === 'RMSNorm') {
    const s = pair(h.normalized_shape);
    return s ? s.join('×') : '';
  }
  if (cls === 'GroupNorm') {
    return h.num_groups !== undefined ? `${h.num_groups} groups, ${h.num_channels}` : '';
  }
  if (POOL.test(cls)) {
    return [kernel(h.kernel_size), strideText(h.stride)].filter(Boolean).join(' ');
  }
  if (ADAPTIVE.test(cls)) {
    const s = pair(h.output_size);
    return s ? '→' + s.map((x) => (x === null ? '*' : x)).join('×') : '';
  }
  if (/^Dropout[123]?d?$|^AlphaDropout$/.test(cls)) return h.p !== undefined ? String(h.p) : '';
  if (cls === 'LeakyReLU' && h.negative_slope !== undefined) return `α=${h.negative_slope}`;
  if (cls === 'Flatten' || cls === 'Unflatten' || cls === 'Identity') return '';
  if (cls === 'Upsample' && h.scale_factor !== undefined) return `×${h.scale_factor}`;
  return '';
}

// "Conv2d 3×3 s2, 64→128" — class plus hyperparameters.
export function typeLine(mod) {
  const text = hparamText(mod.class || '', mod.hparams);
  return text ? `${mod.class} ${text}` : (mod.class || '');
}

// The last component of a qualified module name ("layer1.0.conv1" → "conv1").
export function shortName(name) {
  if (!name) return '';
  const i = name.lastIndexOf('.');
  return i < 0 ? name : name.slice(i + 1);
}

export function outputShape(mod) {
  const io = mod && mod.io && mod.io[0];
  const out = io && io.outputs && io.outputs[0];
  return out ? out.shape : null;
}

// Layer families for colouring by type (legend order).
export const TYPE_FAMILIES = [
  ['conv', 'Convolution'], ['linear', 'Linear'], ['attention', 'Attention'],
  ['recurrent', 'Recurrent'], ['embedding', 'Embedding'], ['norm', 'Normalization'],
  ['activation', 'Activation'], ['pool', 'Pooling'], ['dropout', 'Dropout'],
  ['container', 'Block'], ['other', 'Other'],
];

export function typeFamily(cls, leaf = true) {
  if (!leaf) return 'container';
  if (/Conv/.test(cls)) return 'conv';
  if (/Linear|Bilinear/.test(cls)) return 'linear';
  if (/Attention|Transformer/.test(cls)) return 'attention';
  if (/^(LSTM|GRU|RNN)(Cell)?$/.test(cls)) return 'recurrent';
  if (/Embedding/.test(cls)) return 'embedding';
  if (/Norm/.test(cls)) return 'norm';
  if (/ReLU|GELU|SiLU|Sigmoid|Tanh|Softmax|Softplus|Mish|ELU|Hardswish|Hardtanh|PReLU|Swish|Softsign|Threshold|GLU|LogSoftmax/.test(cls)) return 'activation';
  if (/Pool/.test(cls)) return 'pool';
  if (/Dropout/.test(cls)) return 'dropout';
  return 'other';
}
