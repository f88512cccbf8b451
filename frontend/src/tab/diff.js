// Comparing two architecture versions: which modules were added, changed or removed.

// `record` is shown (its `tree` built), `other` the version compared with; `rep(id)` the
// drawn block standing for module `id` (a closed block shows the changes inside it).
export function diffRecords(record, other, tree, rep) {
  const before = new Map(other.modules.map((m) => [m.name, m]));
  const now = new Set(record.modules.map((m) => m.name));
  const added = new Set();
  const changed = new Set();
  for (const m of record.modules) {
    const b = before.get(m.name);
    if (!b) added.add(m.name);
    else if ((m.leaf || (tree.nodes.get(m.name) || {}).inner) && (b.struct_hash !== m.struct_hash || b.class !== m.class ||
      JSON.stringify(b.hparams || {}) !== JSON.stringify(m.hparams || {}) ||
      ((b.params || {}).total ?? 0) !== ((m.params || {}).total ?? 0))) changed.add(m.name);
  }
  const removed = other.modules.filter((m) => !now.has(m.name)).map((m) => m.name);
  for (const id of [...added, ...changed]) {
    const r = rep(id);
    if (r && r !== id) changed.add(r);
  }
  return { added, changed, removed };
}
