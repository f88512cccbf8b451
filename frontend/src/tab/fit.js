// Where a drawing lands: fitted to the canvas width at a scale where every label is at least
// MIN_LABEL_PX on screen (scroll for height), centred when it is narrower, never blown up
// past MAX_SCALE. Pure: sizes in, transform out.
export const MIN_LABEL_PX = 11;
export const MAX_SCALE = 2;
const MARGIN = 8;

// The smallest font size in a diagram element tree ({tag, attrs, children}); null if none.
export function smallestFont(el) {
  let min = Infinity;
  const walk = (e) => {
    if (!e || typeof e !== 'object') return;
    const s = Number(e.attrs && e.attrs['font-size']);
    if (Number.isFinite(s) && s > 0) min = Math.min(min, s);
    for (const c of e.children || []) walk(c);
  };
  walk(el);
  return Number.isFinite(min) ? min : null;
}

// The readable landing transform {k, x, y, fits} of a `size` drawing in a `view` canvas
// whose smallest label is `minFont` (fits: the whole width shows at a readable scale).
export function readableFit(size, view, minFont) {
  const kMin = minFont ? MIN_LABEL_PX / minFont : 1;
  const kWidth = (view.width - 2 * MARGIN) / size.width;
  const k = Math.max(kMin, Math.min(kWidth, MAX_SCALE));
  const fits = kWidth >= kMin;
  const x = fits ? (view.width - size.width * k) / 2 : MARGIN;
  const y = Math.max(MARGIN, (view.height - size.height * k) / 2);
  return { k, x, y, fits };
}

// The whole drawing in the canvas, centred (the "Fit" button's other state).
export function wholeFit(size, view) {
  const k = Math.min((view.width - 2 * MARGIN) / size.width, (view.height - 2 * MARGIN) / size.height, MAX_SCALE);
  return { k, x: (view.width - size.width * k) / 2, y: (view.height - size.height * k) / 2 };
}
