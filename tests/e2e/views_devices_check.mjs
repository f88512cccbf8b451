// node views_devices_check.mjs URL OUTDIR RUNS_JSON: for each run opens the Architecture tab,
// picks "colour: device" in the toolbar as a user would, and reads the device lanes (rects and
// labels), every block's box and the cross-device edges; screenshots each drawing
// (view-devices.png is the first run's). Prints one JSON line.
import { archSettled, collectErrors, launch, painted, pluginFrame } from './browser.mjs';

const [url, outdir, runsJson] = process.argv.slice(2);
const runs = JSON.parse(runsJson);
const browser = await launch();
const result = { runs: {}, errors: [] };

function readLanes() {
  const svg = document.querySelector('.canvas svg.archviz-diagram');
  const num = (n, a) => Number(n.getAttribute(a));
  const blocks = {};
  for (const g of svg.querySelectorAll('.blocks g.node')) {
    const m = /translate\(([-\d.]+),([-\d.]+)\)/.exec(g.getAttribute('transform'));
    const shape = g.querySelector(':scope > rect:not(.halo), :scope > circle');
    const w = shape.tagName === 'circle' ? 2 * num(shape, 'r') : num(shape, 'width');
    const h = shape.tagName === 'circle' ? 2 * num(shape, 'r') : num(shape, 'height');
    blocks[g.getAttribute('data-id')] = { x: Number(m[1]), y: Number(m[2]), width: w, height: h };
  }
  const cross = [...svg.querySelectorAll('path.edge.cross-device')];
  return {
    lanes: [...svg.querySelectorAll('rect.lane')].map((r) => ({ device: r.getAttribute('data-device'),
      orientation: r.getAttribute('data-orientation'), x: num(r, 'x'), y: num(r, 'y'),
      width: num(r, 'width'), height: num(r, 'height') })),
    labels: [...svg.querySelectorAll('text.lane-label')].map((t) => t.textContent),
    blocks,
    edges: svg.querySelectorAll('path.edge').length,
    cross: cross.map((p) => `${p.getAttribute('data-src')}->${p.getAttribute('data-dst')}`),
    crossStroke: cross.map((p) => p.getAttribute('stroke')),
    crossWidth: cross.map((p) => p.getAttribute('stroke-width')),
  };
}

try {
  const context = await browser.newContext({ viewport: { width: 900, height: 1500 } });
  const page = await context.newPage();
  result.errors = collectErrors(page);
  await page.goto(`${url}#archviz_graph`, { waitUntil: 'load' });
  const frame = await pluginFrame(page, 'archviz_graph');
  await frame.waitForFunction(() => window.__archviz && window.__archviz.ready, null, { timeout: 60000 });
  for (const [i, run] of runs.entries()) {
    // The run unless it is already shown (picking it again would reload it under the colour
    // change below); wait until its load is over.
    if (!(await frame.evaluate(archSettled, run))) await frame.selectOption('select.run', run);
    await frame.waitForFunction(archSettled, run, { timeout: 60000 });
    if (i === 0) await frame.selectOption('select.color', 'device');
    // Drawn in device colours: the lanes, on a drawing of this run's current state (device
    // mode lays the diagram out again; the run's load ends with such a drawing).
    await frame.waitForFunction((r) => {
      const a = window.__archviz.app;
      return a.run === r && a.view && a.view.tree === a.tree && a.view.state === a.state &&
        a.colorMode === 'device' && document.querySelectorAll('.canvas svg rect.lane').length > 0;
    }, run, { timeout: 60000 });
    result.runs[run] = await frame.evaluate(readLanes);
    await frame.click('button.fit');
    await painted(frame);
    const canvas = await frame.$('.canvas');
    await canvas.screenshot({ path: `${outdir}/${i === 0 ? 'view-devices' : `view-devices-${run}`}.png` });
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
