// The details panel: everything the record holds about the selected block.
import { formatCount, formatShape, typeLine } from '../diagram/labels.js';
import { clear, html } from '../common/dom.js';

function row(k, v) {
  return html('tr', {}, html('th', {}, k), html('td', {}, v));
}

function ioText(t) {
  return `${t.path ?? ''} ${formatShape(t.shape, false)} ${t.dtype || ''} ${t.device || ''}`.trim();
}

export function showDetails(panel, tree, id, record) {
  clear(panel);
  if (!id) {
    panel.appendChild(html('p', { class: 'hint' }, 'Click a block to see what was captured; ' +
      'click a container or a ×N block to open it.'));
    return;
  }
  let ids = [id];
  if (id.startsWith('repeat:')) {
    const parent = id.slice(7, id.indexOf('|'));
    ids = tree.nodes.get(parent).children.filter((c) => {
      const m = tree.nodes.get(c).module;
      return m && m.repeat && `repeat:${parent}|${m.repeat.group}` === id;
    });
    panel.appendChild(html('h3', {}, `${ids.length} repeated blocks`));
  }
  const n = tree.nodes.get(ids[0]);
  if (!n) return;
  if (n.kind === 'op') {
    panel.appendChild(html('h3', {}, `${n.op.op} (${n.id})`));
    const t = html('table', {}, row('scope', n.op.scope || '(root)'),
      ...(n.op.inputs || []).map((x, i) => row(`input ${i}`, ioText(x))),
      ...(n.op.outputs || []).map((x, i) => row(`output ${i}`, ioText(x))));
    panel.appendChild(t);
    return;
  }
  if (n.kind !== 'module') {
    panel.appendChild(html('h3', {}, n.id));
    panel.appendChild(html('p', {}, formatShape(n.shape, false)));
    return;
  }
  const m = n.module;
  panel.appendChild(html('h3', {}, m.name || '(root)'));
  panel.appendChild(html('p', { class: 'type' }, typeLine(m)));
  const p = m.params || {};
  const t = html('table', {},
    row('class', m.type || m.class || ''),
    row('params', `${formatCount(p.total ?? 0)} total · ${formatCount(p.own ?? 0)} own · ` +
      `${formatCount(p.trainable ?? 0)} trainable · ${formatCount(p.frozen ?? 0)} frozen`),
    row('FLOPs', m.flops === null || m.flops === undefined ? 'unknown' : formatCount(m.flops)),
    row('calls', String(m.calls ?? 0)),
    row('devices', (m.devices || []).join(', ') || '—'));
  if (m.aliases && m.aliases.length) t.appendChild(row('also named', m.aliases.join(', ')));
  const ties = ((record && record.ties) || []).filter((g) => g.some((x) => x.startsWith(m.name + '.')));
  if (ties.length) t.appendChild(row('tied', ties.map((g) => g.join(' = ')).join('; ')));
  if (n.inner && n.inner.length) {
    t.appendChild(row('contains', n.inner.map((c) => {
      const x = tree.nodes.get(c);
      return x.kind === 'module' ? `${c.slice(m.name.length + 1)} (${typeLine(x.module)})` : `${x.op.op} (${c})`;
    }).join('; ')));
  }
  if (m.repeat) t.appendChild(row('repeat', `${m.repeat.group} #${m.repeat.index} of ${m.repeat.count}`));
  panel.appendChild(t);
  const hp = m.hparams || {};
  if (Object.keys(hp).length) {
    panel.appendChild(html('h4', {}, 'hyperparameters'));
    panel.appendChild(html('table', {}, ...Object.entries(hp).map(([k, v]) =>
      row(k, typeof v === 'object' ? JSON.stringify(v) : String(v)))));
  }
  (m.io || []).forEach((call, i) => {
    panel.appendChild(html('h4', {}, `call ${i + 1}`));
    panel.appendChild(html('table', {},
      ...(call.inputs || []).map((x) => row('in', ioText(x))),
      ...(call.outputs || []).map((x) => row('out', ioText(x)))));
  });
  if (m.extra_repr) panel.appendChild(html('pre', {}, m.extra_repr));
}
