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
// Device colour mode with two or more devices adds lanes (see deviceLanes): "bands" are ELK
// partitions one after another along the flow (pipeline stages), "columns" are one compound
// node per device side by side (parallel towers), holding the blocks and single-device
// containers of that device; edges between columns are routed after the layout (absolutize).
export function buildElkGraph(tree, folded, opts = {}) {
  const info = new Map();
  const elkNodes = new Map();
  const root = { id: '__root__', layoutOptions: { ...LAYOUT_OPTIONS, ...(opts.layoutOptions || {}) },
    children: [], edges: [] };
  const parentOf = new Map();
  const lanes = opts.colorMode === 'device' ? deviceLanes(tree, folded) : null;
  const columns = lanes && lanes.orientation === 'columns';
  const byId = new Map(folded.nodes.map((v) => [v.id, v]));
  if (lanes && !columns) {
    root.layoutOptions['elk.partitioning.activate'] = 'true';
    // A left gutter for the band labels.
    const gutter = Math.max(...lanes.devices.map((d) => textWidth(d, SIZE.header))) + 20;
    root.layoutOptions['elk.padding'] = `[top=12,left=${Math.ceil(gutter)},bottom=12,right=12]`;
  }
  if (columns) {
    // No edges between lanes reach ELK, so the lanes share one layer: side by side in order.
    root.layoutOptions['elk.separateConnectedComponents'] = 'false';
    root.layoutOptions['elk.spacing.nodeNode'] = String(LANE_GAP);
    lanes.devices.forEach((d, i) => {
      const w = textWidth(d, SIZE.header) + 24;
      const lane = { id: laneId(i), children: [], edges: [], layoutOptions: {
        'elk.padding': `[top=${LANE_HEADER},left=12,bottom=12,right=12]`,
        'elk.nodeSize.minimum': `(${w}, ${LANE_HEADER + 20})`,
        'elk.nodeSize.constraints': '[MINIMUM_SIZE]' } };
      elkNodes.set(lane.id, lane);
      parentOf.set(lane.id, null);
      root.children.push(lane);
    });
  }
  for (const v of folded.nodes) {
    if (columns && v.open && !lanes.openOf.has(v.id)) continue; // spans devices: not drawn
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
    let parent = v.parent;
    if (columns) {
      while (parent !== null && !lanes.openOf.has(parent)) parent = byId.get(parent).parent;
      if (parent === null) parent = laneId(v.open ? lanes.openOf.get(v.id) : lanes.of.get(v.id));
    } else if (lanes) {
      if (v.open) el.layoutOptions['elk.partitioning.activate'] = 'true';
      if (lanes.of.has(v.id)) {
        el.layoutOptions = { ...(el.layoutOptions || {}), 'elk.partitioning.partition': String(lanes.of.get(v.id)) };
      }
    }
    elkNodes.set(v.id, el);
    parentOf.set(v.id, parent);
    (parent === null ? root : elkNodes.get(parent)).children.push(el);
  }
  const ancestors = (id) => {
    const chain = [];
    let p = parentOf.get(id);
    while (p !== null && p !== undefined) { chain.push(p); p = parentOf.get(p); }
    return chain;
  };
  const labelled = new Set();
  const laneEdges = [];
  folded.edges.forEach((e, i) => {
    if (!elkNodes.has(e.src) || !elkNodes.has(e.dst)) return;
    if (columns && lanes.of.get(e.src) !== lanes.of.get(e.dst)) {
      laneEdges.push({ edge: e, from: lanes.of.get(e.src), to: lanes.of.get(e.dst) });
      return;
    }
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
  if (columns) info.laneEdges = laneEdges;
  return { graph: root, info };
}

export const LANE_HEADER = 28;
const LANE_GAP = 44;
export const laneId = (i) => `__lane:${i}`;

// Longest-path rank of every node from the graph's sources (dataflow depth); edges that would
// close a cycle are ignored.
function ranks(folded) {
  const succ = new Map(folded.nodes.map((v) => [v.id, []]));
  const indeg = new Map(folded.nodes.map((v) => [v.id, 0]));
  for (const e of folded.edges) {
    if (!succ.has(e.src) || !indeg.has(e.dst) || e.src === e.dst) continue;
    succ.get(e.src).push(e.dst);
    indeg.set(e.dst, indeg.get(e.dst) + 1);
  }
  const rank = new Map();
  const queue = [...indeg].filter(([, d]) => d === 0).map(([id]) => id);
  for (const id of queue) rank.set(id, 0);
  while (queue.length) {
    const id = queue.shift();
    for (const s of succ.get(id)) {
      rank.set(s, Math.max(rank.get(s) ?? 0, rank.get(id) + 1));
      indeg.set(s, indeg.get(s) - 1);
      if (indeg.get(s) === 0) queue.push(s);
    }
  }
  return rank;
}

// Device lanes (device colour mode, two or more devices): each closed block on one device
// gets that device's lane; ops and graph ends take the lane of what feeds them (inputs: of
// what they feed). null when one device or none. {devices, of (id → lane), openOf (open
// container → lane, when everything visible inside it is in that one lane), orientation}:
// "bands" when the devices run one after another (pipeline stages: every block of a lane is
// deeper in the dataflow than every block of the lanes before it, and data never flows back),
// else "columns" (towers or tensor-parallel halves computed side by side).
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
  const byId = new Map(folded.nodes.map((v) => [v.id, v]));
  for (let pass = 0; pass < 3; pass++) {
    for (const e of folded.edges) {
      if (!of.has(e.dst) && of.has(e.src)) {
        const v = byId.get(e.dst);
        if (v && !v.open) of.set(e.dst, of.get(e.src));
      }
    }
  }
  // Graph inputs sit in the lane of what they feed.
  for (const e of folded.edges) if (!of.has(e.src) && of.has(e.dst) && /^input:/.test(e.src)) of.set(e.src, of.get(e.dst));
  // Parallel or one after another? Compare the dataflow depths of the blocks on each device.
  const rank = ranks(folded);
  const span = devices.map(() => [Infinity, -Infinity]);
  for (const [id, lane] of of) {
    if (!devOf.has(id) || !rank.has(id)) continue;
    span[lane][0] = Math.min(span[lane][0], rank.get(id));
    span[lane][1] = Math.max(span[lane][1], rank.get(id));
  }
  const order = devices.map((_, i) => i).filter((i) => isFinite(span[i][0]))
    .sort((a, b) => span[a][0] - span[b][0]);
  let sequential = true;
  for (let k = 1; k < order.length; k++) {
    if (span[order[k]][0] <= span[order[k - 1]][1]) sequential = false;
  }
  const pos = new Map(order.map((lane, k) => [lane, k]));
  for (const e of folded.edges) {
    const a = of.get(e.src);
    const b = of.get(e.dst);
    if (a !== undefined && b !== undefined && a !== b && (pos.get(a) ?? 0) > (pos.get(b) ?? 0)) sequential = false;
  }
  const orientation = sequential ? 'bands' : 'columns';
  // Columns: every closed block gets a lane (the first when nothing tells).
  if (!sequential) for (const v of folded.nodes) if (!v.open && !of.has(v.id)) of.set(v.id, 0);
  // A container belongs to a lane when everything it shows is in that lane.
  const inside = new Map();
  for (const v of folded.nodes) {
    if (v.open) continue;
    for (let p = v.parent; p !== null && p !== undefined; p = byId.get(p).parent) {
      if (!inside.has(p)) inside.set(p, new Set());
      inside.get(p).add(of.has(v.id) ? of.get(v.id) : -1);
    }
  }
  const openOf = new Map();
  for (const [id, set] of inside) if (set.size === 1 && !set.has(-1)) openOf.set(id, [...set][0]);
  return { devices, of, openOf, orientation };
}

// Column lanes side by side from one top line; a lane fed from another starts its content
// below the block feeding it (the towers of AlexNet begin level with each other, under the
// image), so that its edges run downwards. Moves ELK's relative coordinates, before absolutize.
function alignLanes(laid, info) {
  const lanes = (laid.children || []).filter((c) => c.id.startsWith('__lane:'));
  if (!lanes.length) return;
  const top = Math.min(...lanes.map((l) => l.y || 0));
  for (const l of lanes) l.y = top;
  // Absolute y of every node (lanes now level) and its top-level ancestor inside its lane.
  const where = new Map();
  const walk = (el, oy, lane, outer) => {
    for (const c of el.children || []) {
      const y = oy + (c.y || 0);
      where.set(c.id, { y, height: c.height, lane, outer: outer || c });
      walk(c, y, lane, outer || c);
    }
  };
  for (const l of lanes) walk(l, l.y, l, null);
  const shift = new Map();
  for (const { edge } of info.laneEdges) {
    const a = where.get(edge.src);
    const b = where.get(edge.dst);
    if (!a || !b) continue;
    const outerTop = where.get(b.outer.id).y;
    const need = a.y + a.height + 24 - outerTop;
    // Only the lane's first blocks: a hand-over deep inside a lane moves nothing.
    if (outerTop - b.lane.y > LANE_HEADER + 40) continue;
    shift.set(b.lane, Math.max(shift.get(b.lane) || 0, need));
  }
  for (const [lane, dy] of shift) {
    if (dy <= 0) continue;
    for (const c of lane.children || []) c.y = (c.y || 0) + dy;
    for (const e of lane.edges || []) {
      for (const sec of e.sections || []) {
        for (const p of [sec.startPoint, ...(sec.bendPoints || []), sec.endPoint]) p.y += dy;
      }
      for (const lab of e.labels || []) if (lab.y !== undefined) lab.y += dy;
    }
    lane.height += dy;
  }
  const bottom = Math.max(...lanes.map((l) => l.y + l.height));
  laid.height = Math.max(laid.height || 0, bottom + 12);
}

// Edges between column lanes, routed after the layout: down out of the source, along the gap
// between the two lanes, into the target from above; the horizontal runs sit below (above)
// every block they would otherwise cross.
function laneRoutes(nodes, info) {
  // Closed blocks, and the header strip of open containers (their names).
  const boxes = [...info].filter(([id, m]) => m && m.vnode && nodes.has(id))
    .map(([id, m]) => (m.vnode.open ? { ...nodes.get(id), height: HEADER + 6 } : nodes.get(id)));
  const clear = (y, x0, x1, dir) => {
    const lo = Math.min(x0, x1);
    const hi = Math.max(x0, x1);
    for (let guard = 0; guard < 50; guard++) {
      const hit = boxes.find((b) => b.x < hi && b.x + b.width > lo && b.y - 3 < y && b.y + b.height + 3 > y);
      if (!hit) return y;
      y = dir > 0 ? hit.y + hit.height + 5 : hit.y - 5;
    }
    return y;
  };
  const perGap = new Map();
  const out = [];
  for (const { edge, from, to } of info.laneEdges || []) {
    const a = nodes.get(edge.src);
    const b = nodes.get(edge.dst);
    const la = nodes.get(laneId(from));
    const lb = nodes.get(laneId(to));
    if (!a || !b || !la || !lb) continue;
    const key = `${Math.min(from, to)}|${Math.max(from, to)}`;
    const k = perGap.get(key) || 0;
    perGap.set(key, k + 1);
    const gap = la.x < lb.x ? (la.x + la.width + lb.x) / 2 : (lb.x + lb.width + la.x) / 2;
    const gx = gap + (k % 2 ? 1 : -1) * Math.ceil(k / 2) * 5;
    const sx = a.x + a.width / 2;
    const sy = a.y + a.height;
    const tx = b.x + b.width / 2;
    const ty = b.y;
    const y1 = clear(sy + 7, sx, gx, 1);
    const y2 = clear(ty - 7, gx, tx, -1);
    out.push({ edge, lane: true, label: null, points: [{ x: sx, y: sy }, { x: sx, y: y1 },
      { x: gx, y: y1 }, { x: gx, y: y2 }, { x: tx, y: y2 }, { x: tx, y: ty }] });
  }
  return out;
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
  if (info.laneEdges) alignLanes(laid, info);
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
  if (info.laneEdges) edges.push(...laneRoutes(nodes, info));
  return { nodes, edges, width: laid.width || 0, height: laid.height || 0 };
}
