// The playground view: for a model with a 2-D input, every hidden unit's activation over the
// input plane with the training points on top, stepped through the logged training steps.
import { decodePlane, divergingRgb, toTile } from './playground_layout.js';
import { h, message, svg } from './svg.js';

const TILE = 72;
const LABEL_COLORS = ['#f59322', '#0877bd', '#15803d', '#a21caf'];

function planeImage(plane, n) {
  const vals = decodePlane(plane, n);
  const scale = Math.max(Math.abs(plane.lo), Math.abs(plane.hi));
  const canvas = document.createElement('canvas');
  canvas.width = n;
  canvas.height = n;
  const c2 = canvas.getContext('2d');
  const img = c2.createImageData(n, n);
  for (let r = 0; r < n; r += 1) {
    for (let c = 0; c < n; c += 1) {
      const [R, G, B] = divergingRgb(vals[r * n + c], scale);
      const k = ((n - 1 - r) * n + c) * 4; // row 0 is the lowest y: drawn at the bottom
      img.data[k] = R; img.data[k + 1] = G; img.data[k + 2] = B; img.data[k + 3] = 255;
    }
  }
  c2.putImageData(img, 0, 0);
  return canvas.toDataURL('image/png');
}

function drawFrame(host, frame, step) {
  while (host.firstChild) host.removeChild(host.firstChild);
  const n = frame.grid.n;
  host.setAttribute('data-step', String(step));
  for (const layer of frame.layers) {
    const row = h('div', { class: 'pg-layer', 'data-layer': layer.name, style: 'display:flex;align-items:center;gap:6px;margin:4px 0' },
      h('div', { class: 'pg-layer-name', style: 'width:150px;font:11px Helvetica,Arial,sans-serif;color:#0f172a' },
        `${layer.name} (${layer.class}, ${layer.units})`));
    layer.planes.forEach((plane, u) => {
      const tile = svg('svg', { class: 'unit-tile', 'data-unit': u, width: TILE, height: TILE, viewBox: `0 0 ${TILE} ${TILE}` },
        svg('image', { href: planeImage(plane, n), x: 0, y: 0, width: TILE, height: TILE, preserveAspectRatio: 'none',
          style: 'image-rendering:pixelated' }));
      frame.points.forEach((p, i) => {
        const [x, y] = toTile(p, frame.grid, TILE);
        const lab = frame.labels ? frame.labels[i] : null;
        const col = typeof lab === 'number' && Number.isInteger(lab) ? LABEL_COLORS[lab % LABEL_COLORS.length] : '#334155';
        tile.appendChild(svg('circle', { class: 'point', cx: x.toFixed(1), cy: y.toFixed(1), r: 1.6, fill: col,
          stroke: '#fff', 'stroke-width': 0.4, 'data-label': lab }));
      });
      tile.appendChild(svg('rect', { x: 0.5, y: 0.5, width: TILE - 1, height: TILE - 1, fill: 'none', stroke: '#94a3b8' }));
      row.appendChild(tile);
    });
    host.appendChild(row);
  }
}

export default {
  id: 'playground',
  label: 'Playground (2-D input)',
  available(record) {
    return (record.inputs || []).length === 1 && Array.isArray(record.inputs[0].shape) &&
      record.inputs[0].shape.length === 2 && record.inputs[0].shape[1] === 2;
  },
  render(container, record, ctx) {
    const box = h('div', { class: 'playground', style: 'padding:10px;background:#fff;font:12px Helvetica,Arial,sans-serif' });
    const label = h('span', { class: 'pg-step' }, 'loading…');
    const slider = h('input', { type: 'range', class: 'pg-slider', min: '0', max: '0', value: '0', style: 'width:320px' });
    const frameHost = h('div', { class: 'pg-frame' });
    box.appendChild(h('div', { class: 'pg-controls', style: 'display:flex;gap:10px;align-items:center;color:#475569' },
      'training step', slider, label, h('span', {}, '· orange negative, blue positive; points: training batch by label')));
    box.appendChild(frameHost);
    container.appendChild(box);
    let alive = true;
    ctx.fetchJSON(`views/playground?run=${encodeURIComponent(ctx.run)}`).then((body) => {
      if (!alive) return;
      const show = (i) => {
        slider.value = String(i);
        label.textContent = `step ${body.steps[i]} (${i + 1}/${body.steps.length})`;
        drawFrame(frameHost, body.frames[i], body.steps[i]);
      };
      slider.max = String(body.steps.length - 1);
      slider.addEventListener('input', () => show(Number(slider.value)));
      show(body.steps.length - 1);
    }).catch((err) => {
      if (alive) { label.textContent = ''; message(box, `No playground frames for this run: ${err.message}`); }
    });
    return { dispose() { alive = false; box.remove(); } };
  },
};
