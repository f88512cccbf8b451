// node architecture_scale.mjs URL OUTDIR NAME [no-prefetch]: times the Architecture tab on
// one large run: navigation to the overview drawn, then a click on a folded block (×N repeat
// first, else a closed container) until its new layout is on screen. "no-prefetch" turns the
// tab's layout prefetching off (localStorage tb_archviz.prefetch = off). Prints one JSON line.
import { collectErrors, launch, pluginFrame } from './browser.mjs';

const [url, outdir, name, mode] = process.argv.slice(2);
const noPrefetch = mode === 'no-prefetch';
const browser = await launch();
const out = { prefetch: !noPrefetch };
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  if (noPrefetch) await page.addInitScript(() => window.localStorage.setItem('tb_archviz.prefetch', 'off'));
  const errors = collectErrors(page);
  const t0 = Date.now();
  await page.goto(`${url}#archviz_graph`, { waitUntil: 'load' });
  const frame = await pluginFrame(page, 'archviz_graph', 60000);
  await frame.waitForFunction(() => window.__archviz && window.__archviz.app.timings.firstPaintMs !== undefined &&
    document.querySelector('.canvas svg .node'), null, { timeout: 300000, polling: 20 });
  out.since_navigation_ms = Date.now() - t0;
  const info = await frame.evaluate(() => {
    const a = window.__archviz.app;
    return { modules: a.record.modules.length, first_paint_ms: a.timings.firstPaintMs,
      first_paint_from_start_ms: a.timings.fromStartMs,
      load: a.timings.load, redraw: a.timings.lastRedraw, blocks: a.view.folded.nodes.length,
      dom_nodes: document.querySelectorAll('.canvas svg *').length,
      status: document.querySelector('.status').textContent };
  });
  Object.assign(out, info);
  await page.screenshot({ path: `${outdir}/${name}${noPrefetch ? '-noprefetch' : ''}-overview.png` });
  // Expand: a folded ×N block if one is shown, else the largest closed container.
  out.expand = await frame.evaluate(async () => {
    const a = window.__archviz.app;
    const tree = a.tree;
    const nodes = a.view.folded.nodes;
    let target = nodes.find((v) => v.kind === 'repeat');
    if (!target) {
      const closed = nodes.filter((v) => v.kind === 'module' && !v.open && tree.nodes.get(v.id).children.length);
      closed.sort((x, y) => tree.nodes.get(y.id).children.length - tree.nodes.get(x.id).children.length);
      target = closed[0];
    }
    if (!target) return null;
    const g = [...document.querySelectorAll('.canvas svg .node')].find((n) => n.getAttribute('data-id') === target.id);
    const before = a.view;
    const frame = () => new Promise((ok) => requestAnimationFrame(() => ok()));
    const t = performance.now();
    g.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    // Polls (every millisecond, part of the measurement) for the state: a new drawing.
    while (a.view === before) await new Promise((ok) => setTimeout(ok, 1));
    await frame();
    await frame(); // the frame after the new drawing was committed
    const ms = performance.now() - t;
    return { target: target.id, kind: target.kind, ms: Math.round(ms), redraw: a.timings.lastRedraw,
      blocks: a.view.folded.nodes.length, dom_nodes: document.querySelectorAll('.canvas svg *').length };
  });
  await page.screenshot({ path: `${outdir}/${name}${noPrefetch ? '-noprefetch' : ''}-expanded.png` });
  out.errors = errors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
