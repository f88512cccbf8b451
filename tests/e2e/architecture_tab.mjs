// node architecture_tab.mjs URL OUTDIR: opens the Architecture tab in TensorBoard, checks the
// drawing, opens a block, exports an SVG; prints one JSON line with what it saw.
import { writeFileSync } from 'node:fs';
import { collectErrors, launch, pluginFrame } from './browser.mjs';

const [url, outdir] = process.argv.slice(2);
const browser = await launch();
const result = {};
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const errors = collectErrors(page);
  await page.goto(`${url}#archviz_graph`, { waitUntil: 'load' });
  const frame = await pluginFrame(page, 'archviz_graph');
  await frame.waitForFunction(() => window.__archviz && window.__archviz.ready, null, { timeout: 60000 });
  await frame.waitForSelector('svg.archviz-diagram .node', { timeout: 30000 });
  const read = () => frame.evaluate(() => {
    const a = window.__archviz.app;
    return {
      run: a.run,
      nodes: [...document.querySelectorAll('.canvas svg .node')].map((n) => n.getAttribute('data-id')),
      edges: document.querySelectorAll('.canvas svg path.edge').length,
      labels: [...document.querySelectorAll('.canvas svg .blocks text')].map((t) => t.textContent),
      status: document.querySelector('.status').textContent,
      timings: a.timings,
    };
  });
  result.before = await read();
  await page.screenshot({ path: `${outdir}/architecture-overview.png` });
  // Collapse an open container by clicking its header, then open it again, as a user would.
  const target = await frame.evaluate(() => {
    const a = window.__archviz.app;
    const v = a.view.folded.nodes.find((n) => n.open && n.kind === 'module' && n.id.includes('.'));
    return v ? v.id : null;
  });
  result.clicked = target;
  const clickHeader = () => frame.click(`.canvas svg .node[data-id="${target}"] > text.label-name`);
  if (target) {
    await clickHeader();
    await frame.waitForFunction((t) => !window.__archviz.app.view.folded.nodes.find((n) => n.id === t).open, target);
    result.collapsed = await read();
    await page.screenshot({ path: `${outdir}/architecture-collapsed.png` });
    await clickHeader();
    await frame.waitForFunction((t) => window.__archviz.app.view.folded.nodes.find((n) => n.id === t).open, target);
  }
  result.after = await read();
  await page.screenshot({ path: `${outdir}/architecture-expanded.png` });
  // Details of a leaf block.
  const leaf = await frame.evaluate(() => {
    const a = window.__archviz.app;
    const v = a.view.folded.nodes.find((n) => n.kind === 'module' && a.tree.nodes.get(n.id).children.length === 0);
    return v ? v.id : null;
  });
  if (leaf) {
    await frame.click(`.canvas svg .node[data-id="${leaf}"]`);
    result.details = await frame.evaluate(() => document.querySelector('.details').textContent);
  }
  // Export: the paper-style SVG of the current view.
  const svg = await frame.evaluate(() => window.__archviz.exportSvg());
  writeFileSync(`${outdir}/architecture-export.svg`, svg);
  result.exportLength = svg.length;
  result.pngBytes = await frame.evaluate(() => window.__archviz.exportPng());
  // Deep link from another tab: focus a nested layer through localStorage.
  const focusLayer = await frame.evaluate(() => {
    const a = window.__archviz.app;
    const names = a.record.modules.map((m) => m.name).filter((n) => n.split('.').length >= 4);
    return names.length ? names[names.length - 1] : null;
  });
  if (focusLayer) {
    await frame.evaluate(([run, layer]) => {
      window.localStorage.setItem('tb_archviz.focus', JSON.stringify({ run, layer, step: 1, t: Date.now() }));
    }, [result.after.run, focusLayer]);
    // The storage event fires in other documents only: simulate the other tab by a second page.
    const other = await context.newPage();
    await other.goto(`${url}`, { waitUntil: 'domcontentloaded' });
    await other.evaluate(([run, layer]) => {
      window.localStorage.setItem('tb_archviz.focus', JSON.stringify({ run, layer, step: 2, t: Date.now() }));
    }, [result.after.run, focusLayer]);
    await frame.waitForFunction((l) => window.__archviz.app.selected === l &&
      document.querySelector(`.canvas svg .node.highlight[data-id="${l}"]`), focusLayer, { timeout: 30000 });
    result.focus = { layer: focusLayer,
      visible: await frame.evaluate((l) => !!document.querySelector(`.canvas svg .node[data-id="${l}"].highlight`), focusLayer) };
    await page.screenshot({ path: `${outdir}/architecture-focus.png` });
    await other.close();
  }
  // Health colours: gradient norms per block at a logged step; the slider writes the shared
  // step and follows it when another tab moves it.
  await frame.selectOption('select.color', 'health');
  await frame.waitForFunction(() => window.__archviz.app.health && window.__archviz.app.health.step !== null,
    null, { timeout: 30000 });
  const health = async () => frame.evaluate(() => {
    const a = window.__archviz.app;
    const fills = {};
    for (const g of document.querySelectorAll('.canvas svg .blocks .node.kind-module')) {
      fills[g.getAttribute('data-id')] = g.querySelector('rect:last-of-type').getAttribute('fill');
    }
    return { steps: a.health.steps, step: a.health.step, values: a.health.values, fills,
      legend: document.querySelector('.canvas svg .legend').textContent,
      slider: Number(document.querySelector('input.health-step').value),
      shared: window.localStorage.getItem('tb_archviz.step') };
  });
  result.health = { latest: await health() };
  await page.screenshot({ path: `${outdir}/architecture-health.png` });
  await frame.evaluate(() => {
    const s = document.querySelector('input.health-step');
    s.value = '0';
    s.dispatchEvent(new Event('input'));
  });
  await frame.waitForFunction(() => window.__archviz.app.health.step === window.__archviz.app.health.steps[0]);
  result.health.first = await health();
  const other2 = await context.newPage();
  await other2.goto(`${url}`, { waitUntil: 'domcontentloaded' });
  const lastStep = result.health.latest.steps[result.health.latest.steps.length - 1];
  await other2.evaluate((step) => {
    window.localStorage.setItem('tb_archviz.step', JSON.stringify({ run: 'x', step, t: Date.now() }));
  }, lastStep);
  await frame.waitForFunction((s) => window.__archviz.app.health.step === s, lastStep, { timeout: 30000 });
  result.health.followed = await health();
  await other2.close();
  result.errors = errors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
