// ELK's JSON graph for a folded view: open containers become compound nodes, each edge sits
// in the lowest common ancestor of its ends (ELK's rule for INCLUDE_CHILDREN layouts).
import { edgeLabel, HEADER, nodeLines, nodeSize } from './boxes.js';
import { textWidth } from './measure.js';
import { SIZE } from './style.js';

export const LAYOUT_OPTIONS = {
  'elk.algorithm': 'layered',
  'elk.direction': 'DOWN',
  'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.spacing.nodeNode': '16',
  'elk.layered.spacing.nodeNodeBetweenLayers': '14',
  'elk.layered.spacing.edgeNodeBetweenLayers': '6',
  'elk.spacing.edgeNode': '10',
  'elk.spacing.edgeEdge': '6',
  'elk.spacing.edgeLabel': '2',
  'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
  'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
  'elk.edgeLabels.placement': 'CENTER',
  'elk.layered.edgeLabels.sideSelection': 'ALWAYS_DOWN',
  'elk.padding': '[top=12,left=12,bottom=12,right=12]',
};

const CONTAINER_PADDING = `[top=${HEADER + 6},left=10,bottom=10,right=10]`;

// Returns {graph, info}: info maps a visible id to {lines, vnode}; graph is ELK JSON.
export function buildElkGraph(tree, folded, opts = {}) {
  const info = new Map();
  const elkNodes = new Map();
  const root = { id: '__root__', layoutOptions: { ...LAYOUT_OPTIONS, ...(opts.layoutOptions || {}) },
    children: [], edges: [] };
  const parentOf = new Map();
  const lanes = opts.colorMode === 'device' ? deviceLanes(tree, folded) : null;
  if (lanes) root.layoutOptions['elk.partitioning.activate'] = 'true';
  for (const v of folded.nodes) {
    const lines = nodeLines(tree, v);
    info.set(v.id, { lines, vnode: v });
    const el = { id: v.id };
    if (v.open) {
      el.children = [];
      el.edges = [];
      el.layoutOptions = { 'elk.padding': CONTAINER_PADDING };
      const headerW = Math.max(...lines.map((l) => textWidth(l.text, l.size))) + 20;
      el.layoutOptions['elk.nodeSize.minimum'] = `(${headerW}, ${HEADER + 20})`;
      el.layoutOptions['elk.nodeSize.constraints'] = '[MINIMUM_SIZE]';
    } else {
      Object.assign(el, nodeSize(lines, v.kind));
    }
    if (lanes) {
      if (v.open) el.layoutOptions['elk.partitioning.activate'] = 'true';
      if (lanes.of.has(v.id)) {
        el.layoutOptions = { ...(el.layoutOptions || {}), 'elk.partitioning.partition': String(lanes.of.get(v.id)) };
      }
    }
    elkNodes.set(v.id, el);
    parentOf.set(v.id, v.parent);
    const parent = v.parent === null ? root : elkNodes.get(v.parent);
    parent.children.push(el);
  }
  const ancestors = (id) => {
    const chain = [];
    let p = parentOf.get(id);
    while (p !== null && p !== undefined) { chain.push(p); p = parentOf.get(p); }
    return chain;
  };
  const labelled = new Set();
  folded.edges.forEach((e, i) => {
    const up = new Set(ancestors(e.src));
    const lca = ancestors(e.dst).find((a) => up.has(a));
    const container = lca === undefined ? root : elkNodes.get(lca);
    const edge = { id: `e${i}`, sources: [e.src], targets: [e.dst] };
    // One shape label per source is enough: a fan-out carries the same tensor.
    const text = opts.edgeLabels === false ? '' : edgeLabel(e);
    if (text && !labelled.has(e.src) && folded.nodes.length < 400) {
      labelled.add(e.src);
      edge.labels = [{ id: `e${i}l`, text, width: textWidth(text, SIZE.edge) + 4,
        height: SIZE.edge + 3 }];
    }
    container.edges.push(edge);
    info.set(edge.id, { edge: e, container: lca === undefined ? null : lca });
  });
  if (lanes) info.lanes = lanes;
  return { graph: root, info };
}

// Device lanes (device colour mode, two or more devices): each closed block on one device
// gets that device's partition, so ELK lays the devices out in successive bands along the
// flow; ops and graph ends take the lane of what feeds them. null when one device or none.
export function deviceLanes(tree, folded) {
  const devOf = new Map();
  for (const v of folded.nodes) {
    if (v.open) continue;
    const ids = v.kind === 'repeat' ? v.members : [v.id];
    const devs = new Set();
    for (const id of ids) {
      const n = tree.nodes.get(id);
      for (const d of (n && n.module && n.module.devices) || []) devs.add(d);
    }
    if (devs.size === 1) devOf.set(v.id, [...devs][0]);
  }
  const devices = [...new Set(devOf.values())].sort();
  if (devices.length < 2) return null;
  const of = new Map([...devOf].map(([id, d]) => [id, devices.indexOf(d)]));
  for (let pass = 0; pass < 3; pass++) {
    for (const e of folded.edges) {
      if (!of.has(e.dst) && of.has(e.src)) {
        const v = folded.nodes.find((n) => n.id === e.dst);
        if (v && !v.open) of.set(e.dst, of.get(e.src));
      }
    }
  }
  // Graph inputs sit in the lane of what they feed.
  for (const e of folded.edges) if (!of.has(e.src) && of.has(e.dst) && /^input:/.test(e.src)) of.set(e.src, of.get(e.dst));
  return { devices, of };
}

// Absolute positions after layout: {nodes: Map id → {x,y,width,height}, edges: [{edge,
// points, label}], width, height}. ELK gives coordinates relative to the parent node.
export function absolutize(laid, info) {
  const nodes = new Map();
  const edges = [];
  const walk = (el, ox, oy) => {
    for (const c of el.children || []) {
      const x = ox + (c.x || 0);
      const y = oy + (c.y || 0);
      nodes.set(c.id, { x, y, width: c.width, height: c.height });
      walk(c, x, y);
    }
  };
  walk(laid, 0, 0);
  const collect = (el, ox, oy) => {
    for (const e of el.edges || []) {
      const meta = info.get(e.id);
      // Edge coordinates are relative to the edge's container (ELK reports it).
      const box = e.container && nodes.get(e.container);
      const ex = box ? box.x : e.container === laid.id ? 0 : ox;
      const ey = box ? box.y : e.container === laid.id ? 0 : oy;
      for (const s of e.sections || []) {
        const pts = [s.startPoint, ...(s.bendPoints || []), s.endPoint]
          .map((p) => ({ x: p.x + ex, y: p.y + ey }));
        const lab = (e.labels || [])[0];
        edges.push({ edge: meta.edge, points: pts,
          label: lab && lab.x !== undefined ? { text: lab.text, x: lab.x + ex, y: lab.y + ey,
            width: lab.width, height: lab.height } : null });
      }
    }
    for (const c of el.children || []) {
      if (c.children) {
        const abs = nodes.get(c.id);
        collect(c, abs.x, abs.y);
      }
    }
  };
  collect(laid, 0, 0);
  return { nodes, edges, width: laid.width || 0, height: laid.height || 0 };
}
