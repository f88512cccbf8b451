// Words and numbers as people read them: stat labels, anomaly glyphs, value formatting.

const STAT_LABELS = {
  norm: 'norm', mean: 'mean', std: 'standard deviation', max_abs: 'largest |value|',
  update_ratio: 'update / weight ratio', ratio: 'update / weight ratio',
  update_norm: 'update norm', dead_unit_fraction: 'dead-unit fraction',
  dead_fraction: 'dead-unit fraction', saturated_fraction: 'saturated fraction',
  nonfinite_fraction: 'NaN/Inf fraction', nonfinite: 'NaN/Inf count',
  zero_fraction: 'zero fraction', present: 'has a gradient (1/0)',
};
const KIND_LABELS = {grads: 'Gradients', weights: 'Weights', updates: 'Updates',
                     acts: 'Activations'};

export function statLabel(stat) {
  return STAT_LABELS[stat] || stat.replaceAll('_', ' ');
}

export function kindLabel(kind) {
  return KIND_LABELS[kind] || kind;
}

// One glyph and colour per anomaly kind, shared by heatmap markers, curves and the list.
const GLYPHS = {
  non_finite: ['✖', '#d0021b'], exploding_gradients: ['▲', '#e8590c'],
  vanishing_gradients: ['▼', '#1971c2'], dead_units: ['●', '#495057'],
  saturated_activations: ['◆', '#9c36b5'], update_ratio_high: ['⇑', '#e8590c'],
  update_ratio_low: ['⇓', '#1971c2'], no_gradient: ['○', '#495057'],
  loss_plateau: ['▬', '#f08c00'], loss_divergence: ['↗', '#d0021b'], bad_input: ['■', '#c92a2a'],
};

export function glyph(kind) {
  return GLYPHS[kind] || ['◇', '#343a40'];
}

const KIND_WORDS = {
  non_finite: 'NaN/Inf', exploding_gradients: 'exploding gradients',
  vanishing_gradients: 'vanishing gradients', dead_units: 'dead units',
  saturated_activations: 'saturated activations', update_ratio_high: 'updates too large',
  update_ratio_low: 'weights not moving', no_gradient: 'no gradient',
  loss_plateau: 'loss not improving', loss_divergence: 'loss diverging', bad_input: 'bad input',
};

export function kindWords(kind) {
  return KIND_WORDS[kind] || String(kind).replaceAll('_', ' ');
}

export function fmtValue(v) {
  if (typeof v === 'string') v = Number(v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v);
  if (v === null || v === undefined) return '—';
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

export function fmtStep(s) {
  return Number(s).toLocaleString('en-US');
}

/** The first sentence of a message, for one-line summaries. */
export function firstSentence(text) {
  if (!text) return '';
  const m = String(text).match(/^.*?[.!?](\s|$)/);
  return (m ? m[0] : String(text)).trim();
}
