// The diagram library shared by the Architecture tab and `tb-archviz export`:
// record → tree → folded view → ELK layout → element tree → SVG (string or DOM).
import { buildTree, defaultState, foldGraph } from './fold.js';
import { absolutize, buildElkGraph } from './elkgraph.js';
import { renderDiagram, toSvgString } from './render.js';
import { volumeLayout } from '../views/volumes_layout.js';
import { volumesSvg } from '../views/volumes_draw.js';

export * from './fold.js';
export * from './labels.js';
export { buildElkGraph, absolutize, deviceLanes, LAYOUT_OPTIONS } from './elkgraph.js';
export { renderDiagram, toSvgString, h, legendItems } from './render.js';

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

// Lay out one view. ``elk`` is an ELK instance (bundled or worker-backed).
// Returns {tree, state, folded, geo, el, timings} where el is the element tree of the
// drawing and timings the milliseconds of each stage (fold, graph, elk, render).
export async function layoutView(elk, tree, state, opts = {}) {
  const t0 = now();
  const folded = foldGraph(tree, state);
  const t1 = now();
  const { graph, info } = buildElkGraph(tree, folded, opts);
  const t2 = now();
  const laid = await elk.layout(graph);
  const t3 = now();
  const geo = absolutize(laid, info);
  geo.info = info;
  const el = renderDiagram(tree, folded, geo, opts);
  const t4 = now();
  const timings = { foldMs: t1 - t0, graphMs: t2 - t1, elkMs: t3 - t2, renderMs: t4 - t3 };
  return { tree, state, folded, geo, el, timings };
}

// The state for a requested depth (null: the automatic readable default).
export function stateFor(tree, depth) {
  const auto = defaultState(tree);
  if (depth === null || depth === undefined) return auto;
  return { ...auto, depth: Math.max(1, Math.min(depth, Math.max(1, tree.maxDepth))) };
}

// Everything `tb-archviz export` needs in one call: {svg, folded, layout, state}.
export async function exportDiagram(elk, record, opts = {}) {
  const tree = buildTree(record);
  const state = opts.state || stateFor(tree, opts.depth);
  const view = await layoutView(elk, tree, state, { legend: true, ...opts });
  const nodes = view.folded.nodes.map((v) => ({ ...v, ...view.geo.nodes.get(v.id),
    lines: view.geo.info.get(v.id).lines.map((l) => l.text) }));
  return {
    svg: toSvgString(view.el),
    state,
    maxDepth: tree.maxDepth,
    nodes,
    edges: view.folded.edges,
    routes: view.geo.edges.map((e) => ({ src: e.edge.src, dst: e.edge.dst, points: e.points })),
    width: view.geo.width,
    height: view.geo.height,
  };
}

// `tb-archviz export --style volumes`: the tab's 3-D volumes figure (views/volumes_layout.js,
// views/volumes_draw.js) as an SVG string, {svg, boxes: [{id, label, cls, module}], edges,
// width, height}; svg is null when the record has no feature maps.
export function exportVolumes(record, opts = {}) {
  const lay = volumeLayout(record);
  if (!lay.boxes.length) return { svg: null, boxes: [], edges: [], width: 0, height: 0 };
  const title = opts.title === undefined ? record.model_class || null : opts.title;
  return {
    svg: toSvgString(volumesSvg(lay, { title })),
    boxes: lay.boxes.map((b) => ({ id: b.id, label: b.label, cls: b.cls, module: b.module || null })),
    edges: lay.edges,
    width: lay.width,
    height: lay.height,
  };
}
