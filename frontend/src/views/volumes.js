// The 3-D volumes view: draws volumeLayout() as isometric boxes labelled H×W×C (shapes from
// volumes_draw.js, shared with `tb-archviz export --style volumes`).
import { toDom } from '../common/dom.js';
import { volumeLayout } from './volumes_layout.js';
import { volumesContent } from './volumes_draw.js';
import { message, stage } from './svg.js';

export function drawVolumes(container, record, ctx = {}) {
  const lay = volumeLayout(record);
  if (!lay.boxes.length) return message(container, 'No feature maps (4-D outputs) in this architecture.');
  const { root } = stage(container, lay.width, lay.height, 'volumes');
  const modules = new Map(lay.boxes.map((b) => [b.id, b.module]));
  for (const el of volumesContent(lay)) root.appendChild(toDom(el));
  for (const vol of root.querySelectorAll('g.volume')) {
    vol.setAttribute('cursor', 'pointer');
    vol.addEventListener('click', () => {
      const m = modules.get(vol.getAttribute('data-id'));
      if (m && ctx.onSelectModule) ctx.onSelectModule(m);
    });
  }
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
