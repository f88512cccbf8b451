// What each visible node says and how big it is: label lines per node, box sizes, edge labels.
import { formatCount, formatShape, outputShape, shortName, typeLine } from './labels.js';
import { textWidth } from './measure.js';
import { SIZE } from './style.js';

const OP_SYMBOLS = { add: '+', iadd: '+', sub: '−', cat: '‖', concat: '‖', stack: '‖',
  mul: '×', matmul: '@', bmm: '@', einsum: 'Σ' };

// Long functional names people know by a shorter one.
const OP_SHORT = { scaled_dot_product_attention: 'SDPA', layer_norm: 'layer norm',
  group_norm: 'group norm', batch_norm: 'batch norm', cross_entropy: 'cross entropy' };
const OP_MAX_CHARS = 14;

// What an op node shows: a glyph for arithmetic and concatenation ("+", "‖"), else the op's
// name (shortened past 14 characters; the full name is the node's tooltip and in details).
export function opSymbol(op) {
  if (!op) return '?';
  if (OP_SYMBOLS[op]) return OP_SYMBOLS[op];
  const name = OP_SHORT[op] || op;
  return name.length > OP_MAX_CHARS ? name.slice(0, OP_MAX_CHARS - 1) + '…' : name;
}

function paramsText(params) {
  const total = params && (params.total ?? params.own);
  return total ? `${formatCount(total)} params` : '';
}

// A closed container whose children are all one run of repeated blocks says what it holds:
// "TransformerEncoderLayer d=32, 4 heads ×2" rather than "ModuleList".
export function repeatSummary(tree, n) {
  const kids = (n.children || []).map((id) => tree.nodes.get(id))
    .filter((c) => c && c.kind === 'module' && c.module && c.callOf === undefined);
  if (kids.length < 2 || kids.length !== n.children.length) return '';
  const r = kids[0].module.repeat;
  if (!r || !kids.every((c) => c.module.repeat && c.module.repeat.group === r.group)) return '';
  return `${typeLine(kids[0].module)} ×${kids.length}`;
}

// Lines of a block: [{text, size, weight, role}], top to bottom.
export function nodeLines(tree, v) {
  if (v.kind === 'repeat') {
    const first = tree.nodes.get(v.members[0]).module;
    const last = tree.nodes.get(v.members[v.members.length - 1]).module;
    const each = (first.params && first.params.total) || 0;
    const meta = [each ? `${formatCount(each * v.count)} params` : '',
      formatShape(outputShape(last))].filter(Boolean).join(' · ');
    return [
      { text: `${typeLine(first)} ×${v.count}`, size: SIZE.name, weight: 'bold', role: 'name' },
      { text: `${shortName(first.name)} … ${shortName(last.name)}`, size: SIZE.type, role: 'type' },
      meta ? { text: meta, size: SIZE.meta, role: 'meta' } : null,
    ].filter(Boolean);
  }
  const n = tree.nodes.get(v.id);
  if (v.kind === 'op') {
    const glyph = !!OP_SYMBOLS[n.op.op];
    return [{ text: opSymbol(n.op.op), size: glyph ? 13 : SIZE.type, weight: 'bold', role: 'name',
      title: n.op.op, glyph }];
  }
  if (v.kind === 'input' || v.kind === 'output') {
    const word = v.kind === 'input' ? 'input' : 'output';
    const suffix = v.id.slice(v.id.indexOf(':') + 1);
    const label = suffix && suffix !== '0' ? `${word} ${suffix}` : word;
    return [{ text: label, size: SIZE.type, weight: 'bold', role: 'name' },
      { text: formatShape(n.shape), size: SIZE.meta, role: 'meta' }];
  }
  const m = n.module;
  const name = shortName(m.name);
  const type = (!v.open && repeatSummary(tree, n)) || typeLine(m);
  const lines = [];
  if (v.open) {
    lines.push({ text: `${name} · ${m.class}`, size: SIZE.header, weight: 'bold', role: 'name' });
    return lines;
  }
  lines.push({ text: name || m.class, size: SIZE.name, weight: 'bold', role: 'name' });
  if (type && type !== name) lines.push({ text: type, size: SIZE.type, role: 'type' });
  const meta = [paramsText(m.params), formatShape(outputShape(m))].filter(Boolean).join(' · ');
  if (meta) lines.push({ text: meta, size: SIZE.meta, role: 'meta' });
  return lines;
}

export const PAD_X = 8;
export const PAD_Y = 5;
export const LINE_GAP = 2;
export const OP_SIZE = 20;
export const HEADER = 22;

export function nodeSize(lines, kind) {
  if (kind === 'op') {
    // A glyph sits in a circle; a name in a pill as wide as the name.
    if (lines[0].glyph !== false) return { width: OP_SIZE, height: OP_SIZE };
    const w = textWidth(lines[0].text, lines[0].size) + 12;
    return { width: Math.max(OP_SIZE + 2, w), height: OP_SIZE - 2 };
  }
  const w = Math.max(...lines.map((l) => textWidth(l.text, l.size)));
  const h = lines.reduce((a, l) => a + l.size + LINE_GAP, 0) - LINE_GAP;
  const minW = kind === 'input' || kind === 'output' ? 60 : 72;
  return { width: Math.max(minW, w + 2 * PAD_X), height: h + 2 * PAD_Y + 1 };
}

export function edgeLabel(edge) {
  return edge.shape ? formatShape(edge.shape) : '';
}
