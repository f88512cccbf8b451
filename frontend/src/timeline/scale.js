// Colour scales for the heatmap: logarithmic for magnitudes, diverging for signed values.

// A perceptually ordered ramp (dark blue → teal → yellow), interpolated in RGB.
const RAMP = [[13, 8, 135], [84, 2, 163], [139, 10, 165], [185, 50, 137], [219, 92, 104],
              [244, 136, 73], [254, 188, 43], [240, 249, 33]];
const DIVERGING = [[33, 102, 172], [103, 169, 207], [209, 229, 240], [247, 247, 247],
                   [253, 219, 199], [239, 138, 98], [178, 24, 43]];
export const NONFINITE_RGB = [255, 0, 153];
export const EMPTY_RGB = [233, 236, 239];

function ramp(stops, t) {
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i], b = stops[i + 1];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/**
 * A scale for values whose finite range is [lo, hi] with smallest positive `posMin`.
 * Returns {kind, toT(v), rgb(v), ticks}. Log when all values are ≥ 0 and span > 2 decades.
 */
export function makeScale(lo, hi, posMin) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    // No finite value at all (a run whose values are all NaN/Inf): non-finite cells are still
    // NaN/Inf, drawn as the legend says, never as "no data".
    return {kind: 'empty', rgb: (v) => (Number.isNaN(v) || !Number.isFinite(v) ? NONFINITE_RGB
                                                                             : EMPTY_RGB),
            ticks: [], lo: 0, hi: 1, toT: () => 0};
  }
  let scale;
  if (lo < 0 && hi > 0) {
    const m = Math.max(-lo, hi);
    scale = {kind: 'diverging', lo: -m, hi: m, toT: (v) => (v + m) / (2 * m), stops: DIVERGING};
  } else if (lo >= 0 && posMin > 0 && hi / posMin > 100) {
    const a = Math.log10(posMin), b = Math.log10(hi);
    scale = {kind: 'log', lo: posMin, hi,
             toT: (v) => (v <= 0 ? 0 : (Math.log10(v) - a) / (b - a || 1)), stops: RAMP};
  } else {
    const span = hi - lo || 1;
    scale = {kind: 'linear', lo, hi, toT: (v) => (v - lo) / span, stops: RAMP};
  }
  scale.rgb = (v) => (Number.isNaN(v) || !Number.isFinite(v) ? NONFINITE_RGB
                                                                : ramp(scale.stops, scale.toT(v)));
  scale.ramp = (t) => ramp(scale.stops, t);
  scale.ticks = ticks(scale);
  return scale;
}

function ticks(scale) {
  if (scale.kind === 'log') {
    const out = [];
    for (let e = Math.ceil(Math.log10(scale.lo)); e <= Math.floor(Math.log10(scale.hi)); e++) {
      out.push(10 ** e);
    }
    if (out.length > 6) {
      const stride = Math.ceil(out.length / 6);
      return out.filter((_, i) => i % stride === 0);
    }
    return out.length ? out : [scale.lo, scale.hi];
  }
  const n = 4;
  return Array.from({length: n + 1}, (_, i) => scale.lo + (scale.hi - scale.lo) * i / n);
}
