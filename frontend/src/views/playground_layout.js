// The playground view's pure helpers: decode a unit's 8-bit plane, colour a value on a
// diverging scale (orange negative, blue positive, as the TensorFlow Playground), and map
// training points into a tile.

export function decodePlane(plane, n) {
  const bin = atob(plane.q); // a global in browsers and in Node >= 16 (the unit tests)
  const out = new Float32Array(n * n);
  for (let i = 0; i < n * n; i += 1) out[i] = plane.lo + (bin.charCodeAt(i) / 255) * (plane.hi - plane.lo);
  return out;
}

export function divergingRgb(v, scale) {
  const t = Math.max(-1, Math.min(1, scale > 0 ? v / scale : 0));
  const base = [245, 245, 245];
  const end = t >= 0 ? [8, 119, 189] : [245, 147, 34];
  const a = Math.abs(t);
  return base.map((b, i) => Math.round(b + (end[i] - b) * a));
}

// Point (x, y) in data space → tile pixel; the plane's row 0 is y[0], drawn at the bottom.
export function toTile(p, grid, size) {
  const [x0, x1] = grid.x;
  const [y0, y1] = grid.y;
  return [((p[0] - x0) / (x1 - x0)) * size, size - ((p[1] - y0) / (y1 - y0)) * size];
}
