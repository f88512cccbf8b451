// The 3-D volumes figure as an element tree ({tag, attrs, children}, see diagram/render.js):
// the tab turns it into DOM nodes, `tb-archviz export --style volumes` into an SVG string, so
// both draw from the same layout (volumes_layout.js) and the same shapes.
import { FAMILY_COLORS, FONT } from '../diagram/style.js';
import { typeFamily } from '../diagram/labels.js';
import { h } from '../diagram/render.js';

export function volumeColors(cls) {
  if (cls === 'input') return ['#f1f5f9', '#334155'];
  return FAMILY_COLORS[typeFamily(cls, true)] || FAMILY_COLORS.other;
}

// The edges and boxes of a volumeLayout() result: [g.edges, g.boxes].
export function volumesContent(lay) {
  const at = new Map(lay.boxes.map((b) => [b.id, b]));
  const edges = h('g', { class: 'edges' });
  for (const e of lay.edges) {
    const a = at.get(e.src);
    const b = at.get(e.dst);
    const x1 = a.x + a.thick + a.dep / 2;
    const y1 = a.y + a.hgt / 2 - a.dep / 2;
    const x2 = b.x;
    const y2 = b.y + b.hgt / 2;
    const mx = (x1 + x2) / 2;
    edges.children.push(h('path', { class: 'edge', 'data-src': e.src, 'data-dst': e.dst,
      d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`,
      fill: 'none', stroke: '#94a3b8', 'stroke-width': 1.2 }));
  }
  const boxes = h('g', { class: 'boxes' });
  for (const b of lay.boxes) {
    const [fillc, stroke] = volumeColors(b.cls);
    const { x, y, thick: t, hgt: hh, dep: d } = b;
    boxes.children.push(h('g', { class: 'volume', 'data-id': b.id, 'data-dims': b.label },
      h('title', null, `${b.id} (${b.cls}) ${b.label}`),
      h('polygon', { class: 'side', points: `${x + t},${y} ${x + t + d},${y - d} ${x + t + d},${y - d + hh} ${x + t},${y + hh}`,
        fill: fillc, stroke, 'stroke-width': 0.8, 'fill-opacity': 0.75 }),
      h('polygon', { class: 'top', points: `${x},${y} ${x + d},${y - d} ${x + t + d},${y - d} ${x + t},${y}`,
        fill: fillc, stroke, 'stroke-width': 0.8 }),
      h('rect', { class: 'front', x, y, width: t, height: hh, fill: fillc, stroke, 'stroke-width': 1 }),
      h('text', { class: 'dims', x: x + (t + d) / 2, y: y + hh + 14, 'text-anchor': 'middle', 'font-size': 10, fill: '#0f172a' }, b.label),
      h('text', { class: 'cls', x: x + (t + d) / 2, y: y + hh + 26, 'text-anchor': 'middle', 'font-size': 9, fill: '#64748b' }, b.cls)));
  }
  return [edges, boxes];
}

// The standalone figure: white ground, optional title, the volumes.
export function volumesSvg(lay, opts = {}) {
  const titleH = opts.title ? 22 : 0;
  const w = Math.ceil(lay.width);
  const hgt = Math.ceil(lay.height + titleH);
  return h('svg', { xmlns: 'http://www.w3.org/2000/svg', width: w, height: hgt, viewBox: `0 0 ${w} ${hgt}`,
    'font-family': FONT, class: 'archviz-view volumes' },
  h('rect', { class: 'background', x: 0, y: 0, width: w, height: hgt, fill: '#ffffff' }),
  opts.title ? h('text', { class: 'title', x: 12, y: 16, 'font-size': 12, 'font-weight': 'bold', fill: '#0f172a' }, opts.title) : null,
  h('g', { transform: `translate(0,${titleH})` }, ...volumesContent(lay)));
}
