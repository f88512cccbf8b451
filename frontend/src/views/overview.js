// The overview view: overviewLayout() as rows of small coloured cells; clicking a cell shows
// its module in the details panel (and the block diagram, when switched back).
import { FAMILY_COLORS } from '../diagram/style.js';
import { overviewLayout } from './overview_layout.js';
import { message, stage, svg } from './svg.js';

export const OP_COLORS = { elementwise: ['#ffe4e6', '#be123c'], reshape: ['#f5f5f5', '#a3a3a3'],
  concat: ['#ede9fe', '#7c3aed'] };

function colorOf(family) {
  return OP_COLORS[family] || FAMILY_COLORS[family] || FAMILY_COLORS.other;
}

export function drawOverview(container, record, ctx = {}) {
  const lay = overviewLayout(record);
  if (!lay.cells.length) return message(container, 'No modules or ops were recorded for this architecture.');
  const families = [...new Set(lay.cells.map((c) => c.family))];
  const legendH = 22;
  const { root } = stage(container, Math.max(lay.width, families.length * 95 + 20), lay.height + legendH + 10, 'overview');
  const legend = svg('g', { class: 'legend', transform: `translate(10,${lay.height + 8})` });
  families.forEach((f, i) => {
    const [fill, stroke] = colorOf(f);
    legend.appendChild(svg('rect', { x: i * 95, y: 0, width: 10, height: 10, fill: stroke, stroke }));
    legend.appendChild(svg('text', { x: i * 95 + 14, y: 9, 'font-size': 10, fill: '#334155' }, f));
    void fill;
  });
  root.appendChild(legend);
  const g = svg('g', { class: 'rows' });
  for (const r of lay.rows) {
    const row = svg('g', { class: 'row', 'data-block': r.key, 'data-same': r.same });
    row.appendChild(svg('text', { class: 'row-label', x: 10, y: r.y + 9, 'font-size': 10,
      fill: r.key ? '#0f172a' : '#64748b' }, r.label));
    for (const c of r.cells) {
      const [, stroke] = colorOf(c.family);
      row.appendChild(svg('rect', { class: `cell ${c.kind}`, 'data-id': c.id, 'data-family': c.family,
        x: c.x, y: c.y, width: c.size, height: c.size, rx: c.kind === 'op' ? 5 : 1.5, fill: stroke,
        'fill-opacity': c.kind === 'op' ? 0.55 : 0.9, cursor: 'pointer',
        onclick: () => { if (ctx.onSelectModule) ctx.onSelectModule(c.module); } },
      svg('title', {}, `${c.id}: ${c.label}${c.kind === 'op' ? ` (in ${c.module || 'root'})` : ''}`)));
    }
    g.appendChild(row);
  }
  root.appendChild(g);
  return root;
}

export default {
  id: 'overview',
  label: 'Overview (every op)',
  available(record) {
    return (record.modules || []).some((m) => m.leaf && m.order !== null && m.order !== undefined);
  },
  render(container, record, ctx) {
    const node = drawOverview(container, record, ctx);
    return { dispose() { const s = node.closest ? node.closest('.archviz-view-scroll') : null; (s || node).remove(); } };
  },
};
