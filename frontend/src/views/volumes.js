// The 3-D volumes view: draws volumeLayout() as isometric boxes labelled H×W×C.
import { FAMILY_COLORS } from '../diagram/style.js';
import { typeFamily } from '../diagram/labels.js';
import { volumeLayout } from './volumes_layout.js';
import { message, stage, svg } from './svg.js';

function colors(cls) {
  if (cls === 'input') return ['#f1f5f9', '#334155'];
  return FAMILY_COLORS[typeFamily(cls, true)] || FAMILY_COLORS.other;
}

export function drawVolumes(container, record, ctx = {}) {
  const lay = volumeLayout(record);
  if (!lay.boxes.length) return message(container, 'No feature maps (4-D outputs) in this architecture.');
  const { root } = stage(container, lay.width, lay.height, 'volumes');
  const at = new Map(lay.boxes.map((b) => [b.id, b]));
  const edgeG = svg('g', { class: 'edges' });
  for (const e of lay.edges) {
    const a = at.get(e.src);
    const b = at.get(e.dst);
    const x1 = a.x + a.thick + a.dep / 2;
    const y1 = a.y + a.hgt / 2 - a.dep / 2;
    const x2 = b.x;
    const y2 = b.y + b.hgt / 2;
    const mx = (x1 + x2) / 2;
    edgeG.appendChild(svg('path', { class: 'edge', d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`,
      fill: 'none', stroke: '#94a3b8', 'stroke-width': 1.2 }));
  }
  root.appendChild(edgeG);
  const g = svg('g', { class: 'boxes' });
  for (const b of lay.boxes) {
    const [fillc, stroke] = colors(b.cls);
    const { x, y, thick: t, hgt: hh, dep: d } = b;
    const vol = svg('g', { class: 'volume', 'data-id': b.id, 'data-dims': b.label, cursor: 'pointer',
      onclick: () => { if (b.module && ctx.onSelectModule) ctx.onSelectModule(b.module); } },
    svg('title', {}, `${b.id} (${b.cls}) ${b.label}`),
    svg('polygon', { class: 'side', points: `${x + t},${y} ${x + t + d},${y - d} ${x + t + d},${y - d + hh} ${x + t},${y + hh}`,
      fill: fillc, stroke, 'stroke-width': 0.8, 'fill-opacity': 0.75 }),
    svg('polygon', { class: 'top', points: `${x},${y} ${x + d},${y - d} ${x + t + d},${y - d} ${x + t},${y}`,
      fill: fillc, stroke, 'stroke-width': 0.8 }),
    svg('rect', { class: 'front', x, y, width: t, height: hh, fill: fillc, stroke, 'stroke-width': 1 }),
    svg('text', { class: 'dims', x: x + (t + d) / 2, y: y + hh + 14, 'text-anchor': 'middle', 'font-size': 10, fill: '#0f172a' }, b.label),
    svg('text', { class: 'cls', x: x + (t + d) / 2, y: y + hh + 26, 'text-anchor': 'middle', 'font-size': 9, fill: '#64748b' }, b.cls));
    g.appendChild(vol);
  }
  root.appendChild(g);
  return root;
}

export default {
  id: 'volumes',
  label: '3-D volumes',
  available(record) {
    return (record.modules || []).some((m) => m.leaf && m.io && m.io[0] && m.io[0].outputs &&
      m.io[0].outputs.some((t) => Array.isArray(t.shape) && t.shape.length === 4));
  },
  render(container, record, ctx) {
    const node = drawVolumes(container, record, ctx);
    return { dispose() { if (node && node.closest) { const s = node.closest('.archviz-view-scroll'); (s || node).remove(); } else if (node) node.remove(); } };
  },
};
