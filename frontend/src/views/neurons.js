// The neuron-level view: each small layer's snapshot weights as a node-link panel, panels side
// by side (Linear all-to-all next to a convolution's local, shared weights; loops for RNNs).
import { neuronPanels, signColor } from './neurons_layout.js';
import { h, message, svg } from './svg.js';

const SMALL = (m) => {
  const p = m.hparams || {};
  if (m.class === 'Linear') return p.in_features <= 64 && p.out_features <= 64;
  if (/^Conv[12]d$/.test(m.class)) return p.in_channels * p.out_channels <= 4096;
  if (/^(LSTM|GRU|RNN)(Cell)?$/.test(m.class)) return p.hidden_size <= 64 && p.input_size <= 64;
  return false;
};

function drawPanel(panel, ctx) {
  const root = svg('svg', { class: `neuron-panel ${panel.kind}`, 'data-module': panel.module,
    width: panel.width, height: panel.height + 20, viewBox: `0 0 ${panel.width} ${panel.height + 20}`,
    'font-family': 'Helvetica, Arial, sans-serif' });
  root.appendChild(svg('text', { class: 'panel-title', x: 10, y: 14, 'font-size': 11, fill: '#0f172a',
    cursor: 'pointer', onclick: () => ctx.onSelectModule && ctx.onSelectModule(panel.module) },
  `${panel.module} (${panel.cls})`));
  const eg = svg('g', { class: 'synapses' });
  for (const e of panel.edges) {
    let d = `M${e.x1},${e.y1} L${e.x2},${e.y2}`;
    if (e.loop && e.self) d = `M${e.x1 + 4},${e.y1 - 3} C${e.x1 + 26},${e.y1 - 14} ${e.x1 + 26},${e.y1 + 14} ${e.x1 + 4},${e.y1 + 3}`;
    else if (e.loop) {
      const bend = 20 + Math.abs(e.y2 - e.y1) * 0.35;
      d = `M${e.x1 + 4},${e.y1} C${e.x1 + bend},${e.y1} ${e.x2 + bend},${e.y2} ${e.x2 + 4},${e.y2}`;
    }
    eg.appendChild(svg('path', { class: `synapse ${e.sign}${e.loop ? ' loop' : ''}`, d, fill: 'none',
      stroke: signColor(e.w), 'stroke-width': e.width.toFixed(2), 'stroke-opacity': e.loop ? 0.7 : 0.55,
      'data-w': e.w.toPrecision(4), 'data-weight-index': e.weightIndex || null }));
  }
  root.appendChild(eg);
  const ng = svg('g', { class: 'neurons' });
  for (const n of panel.nodes) {
    ng.appendChild(svg('circle', { class: `neuron ${n.role}`, cx: n.x, cy: n.y, r: 3.6,
      fill: n.role === 'input' ? '#f8fafc' : '#e2e8f0', stroke: '#334155', 'stroke-width': 0.8 }));
  }
  root.appendChild(ng);
  root.appendChild(svg('text', { class: 'caption', x: 10, y: panel.height + 12, 'font-size': 9.5, fill: '#475569' }, panel.caption));
  return root;
}

export default {
  id: 'neurons',
  label: 'Neurons (small layers)',
  available(record) {
    return (record.modules || []).some((m) => m.leaf && SMALL(m));
  },
  render(container, record, ctx) {
    const box = h('div', { class: 'neuron-view', style: 'display:flex;flex-wrap:wrap;gap:14px;padding:10px;background:#fff;align-items:flex-start' });
    const note = h('div', { class: 'neuron-note', style: 'width:100%;font:12px Helvetica,Arial,sans-serif;color:#475569' }, 'loading weights…');
    box.appendChild(note);
    container.appendChild(box);
    let alive = true;
    const step = ctx.step;
    const q = `views/weights?run=${encodeURIComponent(ctx.run)}${step !== null && step !== undefined ? `&step=${step}` : ''}`;
    ctx.fetchJSON(q).then((body) => {
      if (!alive) return;
      const panels = neuronPanels(record, body.params);
      note.textContent = `weights at step ${body.step} (snapshots: ${body.steps.join(', ')}) · blue positive, red negative, width = |w|`;
      for (const p of panels) box.appendChild(drawPanel(p, ctx));
      box.setAttribute('data-ready', String(panels.length));
    }).catch((err) => {
      if (!alive) return;
      note.textContent = '';
      message(box, `No weight snapshots for this run yet: ${err.message}`);
      box.setAttribute('data-ready', '0');
    });
    return { dispose() { alive = false; box.remove(); } };
  },
};
