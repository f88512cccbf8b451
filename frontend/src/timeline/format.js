// Words and numbers as people read them: stat labels, anomaly glyphs, value formatting.

// Labels, units and scales come from the plugin (/registry, tb_archviz/registry.py): no
// statistic or kind is named here.
let VOCAB = {stats: {}, kinds: {}};

export function setVocabulary(vocab) {
  if (vocab && vocab.stats && vocab.kinds) VOCAB = vocab;
}

function statInfo(stat, kind) {
  const fams = kind && VOCAB.stats[kind] ? [VOCAB.stats[kind]] : Object.values(VOCAB.stats);
  for (const fam of fams) {
    if (fam.stats[stat]) return fam.stats[stat];
  }
  return null;
}

export function statLabel(stat, kind) {
  const info = statInfo(stat, kind);
  return info ? info.label : String(stat).replaceAll('_', ' ');
}

export function kindLabel(kind) {
  return (VOCAB.stats[kind] && VOCAB.stats[kind].label) || kind;
}

/** The statistics of `kind` in the order the registry offers them (`show`), then the rest. */
export function orderedStats(kind, available) {
  const rank = (s) => {
    const info = statInfo(s, kind);
    return info && info.show > 0 ? info.show : 1000;
  };
  return [...available].sort((a, b) => rank(a) - rank(b));
}

/** The statistics of `kind` the registry features (`show` > 0), in its order. */
export function featuredStats(kind, available) {
  return orderedStats(kind, available).filter((s) => {
    const info = statInfo(s, kind);
    return info && info.show > 0;
  });
}

/** The statistic a newcomer should see first among `available`. */
export function defaultStat(kind, available) {
  return orderedStats(kind, available)[0];
}

// One glyph and colour per anomaly kind, shared by heatmap markers, curves and the list.
const GLYPHS = {
  non_finite: ['✖', '#d0021b'], exploding_gradients: ['▲', '#e8590c'],
  vanishing_gradients: ['▼', '#1971c2'], dead_units: ['●', '#495057'],
  saturated_activations: ['◆', '#9c36b5'], update_ratio_high: ['⇑', '#e8590c'],
  update_ratio_low: ['⇓', '#1971c2'], no_gradient: ['○', '#495057'],
  loss_plateau: ['▬', '#f08c00'], loss_divergence: ['↗', '#d0021b'], bad_input: ['■', '#c92a2a'],
  overfitting: ['⤴', '#e8590c'], training_stalled: ['▬', '#1971c2'], wrong_mode: ['◐', '#c92a2a'],
  symmetric_units: ['≡', '#c92a2a'], loss_output_mismatch: ['≠', '#d0021b'],
  precision: ['◍', '#d0021b'], layer_outlier: ['✱', '#e8590c'], redundant_bias: ['·', '#868e96'],
  gradient_accumulation: ['Σ', '#e8590c'], frozen_layer: ['❄', '#1971c2'],
  bad_target: ['◎', '#c92a2a'], vanishing_through_depth: ['▽', '#1971c2'],
};

export function glyph(kind) {
  return GLYPHS[kind] || ['◇', '#343a40'];
}

export function kindWords(kind) {
  const info = VOCAB.kinds[kind];
  return info ? info.label : String(kind).replaceAll('_', ' ');
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
