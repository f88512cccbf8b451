// Folding: from the architecture record and a view state to the graph actually drawn.
// Containers open or closed (depth + explicit toggles), repeated siblings folded into one
// "×N" block, edges lifted to the nearest visible ancestor so skip paths never vanish.

const ROOT = '';

// The module tree with ops and graph inputs/outputs attached to their scopes.
export function buildTree(record) {
  const nodes = new Map();
  const modules = (record && record.modules) || [];
  for (const m of modules) {
    nodes.set(m.name, { id: m.name, kind: 'module', module: m, parent: m.parent,
      children: [], depth: 0 });
  }
  if (!nodes.has(ROOT)) {
    nodes.set(ROOT, { id: ROOT, kind: 'module', parent: null, children: [], depth: 0,
      module: { name: ROOT, class: (record && record.model_class) || 'Model', leaf: false,
        params: (record && record.totals) ? { total: record.totals.parameters } : {} } });
  }
  for (const m of modules) {
    if (m.name === ROOT) continue;
    const parent = nodes.has(m.parent) ? m.parent : ROOT;
    nodes.get(m.name).parent = parent;
    nodes.get(parent).children.push(m.name);
  }
  for (const op of (record && record.ops) || []) {
    const scope = nodes.has(op.scope) ? op.scope : ROOT;
    nodes.set(op.id, { id: op.id, kind: 'op', op, parent: scope, children: [], depth: 0 });
    nodes.get(scope).children.push(op.id);
  }
  // Graph inputs and outputs named by edges ("input:0", "output:logits"), and further call
  // sites of a module ("block.relu#1": the same module called again elsewhere, FORMAT.md):
  // a block of its own beside the module, showing the same module.
  const edges = (record && record.edges) || [];
  const callOrder = new Map(); // "name#k" → just after the latest node feeding it
  for (const e of edges) {
    for (const end of [e.src, e.dst]) {
      if (nodes.has(end)) continue;
      if (/^(input|output):/.test(end)) {
        nodes.set(end, { id: end, kind: end.startsWith('input') ? 'input' : 'output',
          parent: ROOT, children: [], depth: 1, shape: e.shape });
        nodes.get(ROOT).children.push(end);
        continue;
      }
      const base = callSiteOf(end);
      const of = base !== null && nodes.get(base);
      if (of && of.kind === 'module' && base !== ROOT) {
        nodes.set(end, { id: end, kind: 'module', module: of.module, callOf: base,
          parent: of.parent, children: [], depth: 0 });
        nodes.get(of.parent).children.push(end);
      }
    }
  }
  const orderOf = (id) => {
    const n = nodes.get(id);
    if (n.callOf !== undefined) return callOrder.get(id) ?? orderOf(n.callOf);
    const o = n.kind === 'module' ? n.module.order : n.kind === 'op' ? n.op.order : null;
    return o === null || o === undefined ? Infinity : o;
  };
  for (const e of edges) {
    const n = nodes.get(e.dst);
    const src = nodes.get(e.src);
    if (!n || n.callOf === undefined || !src || src.callOf !== undefined) continue;
    const o = orderOf(e.src);
    if (Number.isFinite(o) && !(callOrder.get(e.dst) >= o + 0.5)) callOrder.set(e.dst, o + 0.5);
  }
  // A module that is itself a dataflow endpoint (nn.MultiheadAttention: edges reach the
  // module, never its out_proj) is drawn as one leaf block; what it contains moves to
  // ``inner`` (shown in the details panel) and maps onto the block (``inside``).
  const endpoints = new Set();
  for (const e of edges) {
    for (const end of [e.src, e.dst]) {
      endpoints.add(end);
      const base = callSiteOf(end);
      if (base !== null) endpoints.add(base);
    }
  }
  for (const n of nodes.values()) {
    if (n.kind === 'module' && n.id !== ROOT && n.callOf === undefined && n.children.length &&
      endpoints.has(n.id)) {
      n.inner = n.children;
      n.children = [];
    }
  }
  const markInside = (id, top) => {
    for (const c of [...nodes.get(id).children, ...(nodes.get(id).inner || [])]) {
      nodes.get(c).inside = top;
      markInside(c, top);
    }
  };
  const findLeafBlocks = (id) => {
    const n = nodes.get(id);
    if (n.inner) markInside(id, id);
    for (const c of n.children) findLeafBlocks(c);
  };
  findLeafBlocks(ROOT);
  const setDepth = (id, d) => {
    const n = nodes.get(id);
    n.depth = d;
    for (const c of n.children) setDepth(c, d + 1);
  };
  setDepth(ROOT, 0);
  // Children in forward order where known (ops carry an order too; a further call site
  // sorts just after what feeds it), else record order.
  for (const n of nodes.values()) {
    const idx = new Map(n.children.map((c, i) => [c, i]));
    n.children.sort((a, b) => (orderOf(a) - orderOf(b)) || (idx.get(a) - idx.get(b)));
  }
  let maxDepth = 0;
  for (const n of nodes.values()) {
    if (n.children.length === 0 && n.inside === undefined) maxDepth = Math.max(maxDepth, n.depth);
  }
  return { nodes, record, maxDepth };
}

// "name" for the dataflow id "name#k" of a module's k-th further call site, else null.
export function callSiteOf(id) {
  const i = String(id).lastIndexOf('#');
  return i > 0 && /^\d+$/.test(String(id).slice(i + 1)) ? String(id).slice(0, i) : null;
}

export function isContainer(tree, id) {
  const n = tree.nodes.get(id);
  return !!n && n.kind === 'module' && n.children.length > 0;
}

// Repeat groups among a node's children: runs of siblings sharing repeat.group.
function repeatGroups(tree, parentId) {
  const groups = new Map();
  for (const c of tree.nodes.get(parentId).children) {
    const n = tree.nodes.get(c);
    const r = n.kind === 'module' && n.callOf === undefined && n.module.repeat;
    if (r && r.group !== undefined && r.group !== null) {
      const key = `repeat:${parentId}|${r.group}`;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(c);
    }
  }
  for (const [k, members] of groups) if (members.length < 2) groups.delete(k);
  return groups;
}

// Members of the repeat group ``repeat:<parent>|<group>`` (empty when there is none).
export function repeatMembers(tree, key) {
  const bar = key.lastIndexOf('|');
  const parent = key.slice('repeat:'.length, bar);
  if (!tree.nodes.has(parent)) return [];
  return repeatGroups(tree, parent).get(key) || [];
}

// The default view state: the deepest uniform depth whose visible graph stays readable;
// repeated blocks are shown unfolded too when that still fits.
export function defaultState(tree, target = 45) {
  let depth = 1;
  for (let d = 1; d <= Math.max(1, tree.maxDepth); d++) {
    const count = foldGraph(tree, { depth: d }).nodes.length;
    if (d > 1 && count > target) break;
    depth = d;
  }
  const keys = allRepeatKeys(tree);
  let unfolded = [];
  if (keys.length && foldGraph(tree, { depth, unfolded: keys }).nodes.length <= target) {
    unfolded = keys;
    while (depth < tree.maxDepth &&
      foldGraph(tree, { depth: depth + 1, unfolded: keys }).nodes.length <= target) depth += 1;
  }
  return { depth, expanded: [], collapsed: [], unfolded };
}

export function allRepeatKeys(tree) {
  const keys = [];
  for (const n of tree.nodes.values()) {
    if (n.children.length > 1) keys.push(...repeatGroups(tree, n.id).keys());
  }
  return keys;
}

// Is a container open in this state? Explicit toggles win over the depth.
function isOpen(state, n) {
  if (n.id === ROOT) return true;
  if ((state.collapsed || []).includes(n.id)) return false;
  if ((state.expanded || []).includes(n.id)) return true;
  return n.depth < (state.depth || 1);
}

// The visible graph: {nodes, edges, rep}. Nodes: {id, kind, parent (visible container id
// or null at the top), open, members (repeat), count}. Edges: {src, dst, shape, kind, n}.
export function foldGraph(tree, state) {
  state = state || {};
  const unfolded = new Set(state.unfolded || []);
  const out = [];
  const rep = new Map(); // any tree id → visible node id
  const visit = (id, parentVisible) => {
    const n = tree.nodes.get(id);
    const container = n.children.length > 0 && n.kind === 'module';
    const open = container && isOpen(state, n);
    if (id !== ROOT) {
      out.push({ id, kind: n.kind, parent: parentVisible, open, depth: n.depth });
      rep.set(id, id);
    }
    if (!container) {
      if (n.inner) markHidden(tree, id, id, rep);
      return;
    }
    if (!open) {
      markHidden(tree, id, id, rep);
      return;
    }
    const here = id === ROOT ? null : id;
    const groups = repeatGroups(tree, id);
    const folded = new Map();
    for (const [key, members] of groups) {
      if (!unfolded.has(key)) for (const m of members) folded.set(m, key);
    }
    const emitted = new Set();
    for (const c of n.children) {
      const key = folded.get(c);
      if (key === undefined) { visit(c, here); continue; }
      if (!emitted.has(key)) {
        emitted.add(key);
        const members = groups.get(key);
        out.push({ id: key, kind: 'repeat', parent: here, open: false, members,
          count: members.length, depth: n.depth + 1 });
        rep.set(key, key);
      }
      rep.set(c, key);
      markHidden(tree, c, key, rep);
    }
  };
  visit(ROOT, null);
  return { nodes: out, edges: liftEdges(tree, rep), rep };
}

function markHidden(tree, id, visible, rep) {
  const n = tree.nodes.get(id);
  for (const c of n.inner ? [...n.children, ...n.inner] : n.children) {
    rep.set(c, visible);
    markHidden(tree, c, visible, rep);
  }
}

const KIND_RANK = { residual: 2, concat: 1, data: 0 };

// Edges between visible nodes; internal edges of a closed block disappear, parallel edges
// merge (a residual path keeps its kind so it stays drawn as one).
export function liftEdges(tree, rep) {
  const merged = new Map();
  for (const e of (tree.record && tree.record.edges) || []) {
    const s = rep.get(e.src);
    const d = rep.get(e.dst);
    if (s === undefined || d === undefined || s === d) continue;
    const key = `${s}\u0000${d}`;
    // A skip path stays marked only while its add/cat node is itself visible; lifted into
    // a closed block it is just dataflow into that block.
    const kind = d === e.dst ? (e.kind || 'data') : 'data';
    const prev = merged.get(key);
    if (!prev) {
      merged.set(key, { src: s, dst: d, shape: e.shape || null, dtype: e.dtype || null,
        kind, n: 1, devices: [e.src_device, e.dst_device] });
    } else {
      prev.n += 1;
      if ((KIND_RANK[kind] || 0) > (KIND_RANK[prev.kind] || 0)) prev.kind = kind;
    }
  }
  return [...merged.values()];
}

// State changes (pure: return a new state).
export function toggle(tree, state, id) {
  const s = { depth: state.depth, expanded: [...(state.expanded || [])],
    collapsed: [...(state.collapsed || [])], unfolded: [...(state.unfolded || [])] };
  if (id.startsWith('repeat:')) {
    // Unfolding "×N" shows its N members as closed blocks (one level, not N open copies
    // of the block: 48 GPT-2 layers at depth 3 were 1,300 blocks to lay out); folding it
    // again forgets those toggles.
    const members = repeatMembers(tree, id);
    if (s.unfolded.includes(id)) {
      s.unfolded = s.unfolded.filter((x) => x !== id);
      s.collapsed = s.collapsed.filter((x) => !members.includes(x));
      s.expanded = s.expanded.filter((x) => !members.includes(x));
    } else {
      s.unfolded = [...s.unfolded, id];
      for (const m of members) {
        const n = tree.nodes.get(m);
        if (n.children.length && isOpen(state, n) && !s.collapsed.includes(m)) s.collapsed.push(m);
      }
    }
    return s;
  }
  const n = tree.nodes.get(id);
  if (!n || n.children.length === 0 || n.kind !== 'module') return s;
  const open = isOpen(state, n);
  s.expanded = s.expanded.filter((x) => x !== id);
  s.collapsed = s.collapsed.filter((x) => x !== id);
  if (open) s.collapsed.push(id); else s.expanded.push(id);
  return s;
}

// Open every ancestor of ``id`` (and unfold its repeat groups) so that it becomes visible.
export function reveal(tree, state, id) {
  let s = { depth: state.depth, expanded: [...(state.expanded || [])],
    collapsed: [...(state.collapsed || [])], unfolded: [...(state.unfolded || [])] };
  let n = tree.nodes.get(id);
  if (n && n.inside !== undefined) n = tree.nodes.get(n.inside);
  if (!n) return s;
  const chain = [];
  while (n && n.parent !== null && n.parent !== undefined) {
    chain.push(n);
    n = tree.nodes.get(n.parent);
  }
  for (const c of chain) {
    const p = tree.nodes.get(c.parent);
    if (p.id !== ROOT && !isOpen(s, p)) s = toggle(tree, s, p.id);
    const r = c.kind === 'module' && c.module.repeat;
    if (r && r.group !== null && r.group !== undefined) {
      const key = `repeat:${p.id}|${r.group}`;
      if (!s.unfolded.includes(key)) s.unfolded.push(key);
    }
  }
  return s;
}

// Modules whose qualified name contains ``query`` (case-insensitive), tree order.
export function search(tree, query) {
  const q = String(query || '').trim().toLowerCase();
  if (!q) return [];
  const hits = [];
  const seen = new Set();
  for (const n of tree.nodes.values()) {
    if (n.kind !== 'module' || n.id === ROOT || n.callOf !== undefined) continue;
    const m = n.module;
    if (n.id.toLowerCase().includes(q) || String(m.class || '').toLowerCase().includes(q)) {
      const shown = n.inside === undefined ? n.id : n.inside;
      if (!seen.has(shown)) { seen.add(shown); hits.push(shown); }
    }
  }
  return hits;
}
