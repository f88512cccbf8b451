// The diagram library shared by the Architecture tab and `tb-archviz export`:
// record → tree → folded view → ELK layout → element tree → SVG (string or DOM).
import { buildTree, defaultState, foldGraph } from './fold.js';
import { absolutize, buildElkGraph } from './elkgraph.js';
import { renderDiagram, toSvgString } from './render.js';

export * from './fold.js';
export * from './labels.js';
export { buildElkGraph, absolutize, LAYOUT_OPTIONS } from './elkgraph.js';
export { renderDiagram, toSvgString, h, legendItems } from './render.js';

// Lay out one view. ``elk`` is an ELK instance (bundled or worker-backed).
// Returns {tree, state, folded, geo, el} where el is the element tree of the drawing.
export async function layoutView(elk, tree, state, opts = {}) {
  const folded = foldGraph(tree, state);
  const { graph, info } = buildElkGraph(tree, folded, opts);
  const laid = await elk.layout(graph);
  const geo = absolutize(laid, info);
  geo.info = info;
  const el = renderDiagram(tree, folded, geo, opts);
  return { tree, state, folded, geo, el };
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
