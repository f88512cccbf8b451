// ELK takes 100-300 ms for a view of a few dozen blocks (most of it warming up the worker's
// code), too slow for a click. While the user looks at a drawing, lay out what each click
// on it would show, one at a time in the worker (a click waits for at most the one running):
// ×N blocks first, then closed containers, then open ones (collapsing), in drawing order.
// Views over PREFETCH_MAX_NODES blocks are left for the click (a long layout would hold the
// worker). Stops as soon as something else is drawn.
import { buildElkGraph, foldGraph, toggle } from '../diagram/index.js';

const PREFETCH_MAX_NODES = 400;
const PREFETCH_MAX_VIEWS = 24;
// "off" in localStorage turns layout prefetching off (to measure cold clicks).
export const PREFETCH_KEY = 'tb_archviz.prefetch';

// `isCurrent()` is false once something else was drawn; `options` are the drawing options.
export async function prefetchLayouts(app, isCurrent, options) {
  if (!app.prefetch || !app.view) return;
  const tree = app.tree;
  const nodes = app.view.folded.nodes;
  const openable = (v) => v.kind === 'repeat' || (v.kind === 'module' && tree.nodes.get(v.id).children.length > 0);
  const rank = (v) => (v.kind === 'repeat' ? 0 : v.open ? 2 : 1);
  const ids = nodes.filter(openable).sort((a, b) => rank(a) - rank(b)).map((v) => v.id)
    .slice(0, PREFETCH_MAX_VIEWS);
  for (const id of ids) {
    await new Promise((ok) => setTimeout(ok, 0)); // let input and painting go first
    if (!isCurrent()) return;
    const state = toggle(tree, app.state, id);
    const folded = foldGraph(tree, state);
    if (folded.nodes.length > PREFETCH_MAX_NODES) continue;
    const { graph } = buildElkGraph(tree, folded, options);
    if (app.layouts.has(graph)) continue;
    try {
      await app.layouts.lookup(graph).promise;
    } catch {
      return; // the click will report it
    }
  }
}
