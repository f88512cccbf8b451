// The overview ("fingerprint"): every leaf module call and every functional op of a large model
// as one small cell, in forward order, one row per repeated block (transformer layer, ResNet
// stage member) and one per stretch of code between them, so identical blocks read as
// identical rows. Pure: record in, rows of cells out (drawn by overview.js).
import { typeFamily } from '../diagram/labels.js';

const OP_FAMILIES = [
  [/^(add|sub|mul|div|iadd|imul|neg|pow|rsub|truediv|floordiv)/, 'elementwise'],
  [/^(matmul|bmm|mm|einsum|baddbmm|addmm|linear)/, 'linear'],
  [/(softmax|relu|gelu|silu|tanh|sigmoid)/, 'activation'],
  [/(attention)/, 'attention'],
  [/(norm)/, 'norm'],
  [/(pool)/, 'pool'],
  [/^(cat|stack|concat)/, 'concat'],
  [/^(view|reshape|permute|transpose|flatten|contiguous|split|chunk|squeeze|unsqueeze|expand|getitem|narrow|select|t)$/, 'reshape'],
];

export function opFamily(op) {
  for (const [re, fam] of OP_FAMILIES) if (re.test(op)) return fam;
  return 'other';
}

// The repeated block a module belongs to: its outermost ancestor (or itself) that is a
// member of a run of equal containers (a transformer layer, not a dropout inside it).
export function blockOf(name, repeatOf) {
  const parts = name.split('.');
  for (let i = 1; i <= parts.length; i += 1) {
    const prefix = parts.slice(0, i).join('.');
    if (repeatOf.has(prefix)) return prefix;
  }
  return null;
}

export function overviewCells(record) {
  const repeatOf = new Set((record.modules || []).filter((m) => m.repeat && !m.leaf &&
    m.repeat.count > 1).map((m) => m.name));
  const cells = [];
  for (const m of record.modules || []) {
    if (!m.leaf || m.order === null || m.order === undefined) continue;
    cells.push({ id: m.name, module: m.name, order: m.order, kind: 'module', label: m.class,
      family: typeFamily(m.class || '', true), calls: m.calls || 1 });
  }
  for (const op of record.ops || []) {
    cells.push({ id: op.id, module: op.scope || '', order: op.order, kind: 'op', label: op.op,
      family: opFamily(op.op), calls: 1 });
  }
  cells.sort((a, b) => a.order - b.order);
  for (const c of cells) c.block = blockOf(c.module, repeatOf);
  return cells;
}

// Rows: consecutive cells of one repeated block, or a run of cells outside any block.
export function overviewLayout(record, opts = {}) {
  const cell = opts.cell ?? 11;
  const pad = opts.pad ?? 2;
  const maxCols = opts.maxCols ?? 48;
  const labelW = opts.labelW ?? 170;
  const cells = overviewCells(record);
  const rows = [];
  for (const c of cells) {
    const key = c.block || '';
    const last = rows[rows.length - 1];
    if (last && last.key === key && (key !== '' || last.cells.length < maxCols * 4)) last.cells.push(c);
    else rows.push({ key, label: key || c.module.split('.').slice(0, 2).join('.') || '(root)', cells: [c] });
  }
  let y = 10;
  let width = 0;
  for (const r of rows) {
    r.y = y;
    r.cells.forEach((c, i) => {
      c.x = labelW + (i % maxCols) * (cell + pad);
      c.y = y + Math.floor(i / maxCols) * (cell + pad);
      c.size = cell;
      width = Math.max(width, c.x + cell);
    });
    const lines = Math.ceil(r.cells.length / maxCols);
    r.height = lines * (cell + pad);
    y += r.height + 6;
  }
  // Rows with the same sequence of cell families are the same block: the fingerprint repeats.
  const sigs = new Map();
  for (const r of rows) {
    r.signature = r.cells.map((c) => c.label).join(',');
    sigs.set(r.signature, (sigs.get(r.signature) || 0) + 1);
  }
  for (const r of rows) r.same = sigs.get(r.signature);
  return { rows, cells, width: width + 20, height: y + 4, truncated: Boolean(record.ops_truncated) };
}
