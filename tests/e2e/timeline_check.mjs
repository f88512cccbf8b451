// node timeline_check.mjs URL OUTDIR RUN LAYER: opens the Anomaly Timeline tab in TensorBoard,
// checks the summary, the anomaly list, the heatmap's pixels, the layer view and the deep link
// into the Architecture tab; saves screenshots; prints one JSON line with what it saw.
import { launch, collectErrors, pluginFrame } from './browser.mjs';

const [url, outdir, run, layer] = process.argv.slice(2);
const browser = await launch();
const out = { errors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  const errors = collectErrors(page);
  await page.goto(`${url}#archviz_health`, { waitUntil: 'load' });
  const frame = await pluginFrame(page, 'archviz_health', 60000);
  await frame.waitForSelector('#timeline-root[data-ready]', { timeout: 60000 });
  out.ready = await frame.$eval('#timeline-root', (e) => e.dataset.ready);
  if (out.ready !== 'true') {
    out.error = await frame.$eval('#timeline-root .error', (e) => e.textContent).catch(() => null);
    console.log(JSON.stringify(out));
    process.exit(0);
  }
  await frame.waitForSelector('.summary-line', { timeout: 30000 });
  out.summary = await frame.$$eval('.summary-line', (els) => els.map((e) => e.textContent));
  out.selectedRun = await frame.$eval('#run-select', (e) => e.value);
  if (out.selectedRun !== run) {
    await frame.selectOption('#run-select', run);
    await frame.waitForFunction((r) => window.__timeline.state.run === r &&
      window.__timeline.heatmapData && window.__timeline.heatmapData.run === r, run);
  }
  await frame.waitForSelector('.anomaly', { timeout: 30000 });
  out.anomalies = await frame.$$eval('.anomaly', (els) => els.map((e) => ({
    kind: e.dataset.kind, layer: e.dataset.layer, pinned: e.classList.contains('pinned'),
    text: e.textContent })));
  out.curvePaths = await frame.$$eval('#curves path.curve', (els) => els.length);
  // Heatmap pixels: count distinct colours in the cell area (blank would be one colour).
  await frame.waitForFunction(() => document.querySelector('.hm-canvas').width > 0);
  out.heatmap = await frame.$eval('.hm-canvas', (c) => {
    const g = c.getContext('2d');
    const dpr = window.devicePixelRatio || 1;
    const x0 = Math.round(200 * dpr);
    const img = g.getImageData(x0, 0, c.width - x0, c.height).data;
    const colours = new Set();
    let magenta = 0;
    for (let i = 0; i < img.length; i += 4 * 7) {
      colours.add(`${img[i]},${img[i + 1]},${img[i + 2]},${img[i + 3]}`);
      if (img[i] === 255 && img[i + 1] === 0 && img[i + 2] === 153) magenta++;
    }
    return { width: c.width, height: c.height, colours: colours.size, nonfinitePixels: magenta };
  });
  await page.screenshot({ path: `${outdir}/timeline.png` });
  // Hover a heatmap cell: the tooltip shows exact values.
  const box = await frame.$eval('.hm-canvas', (c) => {
    const r = c.getBoundingClientRect();
    return { x: r.left, y: r.top, w: r.width, h: r.height };
  });
  const frameEl = await page.$('iframe');
  const fb = await frameEl.boundingBox();
  await page.mouse.move(fb.x + box.x + box.w * 0.7, fb.y + box.y + 8 + 16 * 1.5);
  await frame.waitForSelector('.tooltip:not([hidden])', { timeout: 5000 });
  out.tooltip = await frame.$eval('.tooltip', (e) => e.textContent);
  await page.screenshot({ path: `${outdir}/timeline_tooltip.png` });
  // Click the anomaly in the list: the layer view opens for its layer.
  await frame.click(`.anomaly[data-layer="${layer}"]`);
  await frame.waitForSelector('#layer-view:not([hidden]) .layer-chart', { timeout: 30000 });
  out.layerTitle = await frame.$eval('#layer-view h3', (e) => e.textContent);
  out.layerCharts = await frame.$$eval('#layer-view .layer-chart', (els) => els.length);
  out.sharedStep = await frame.evaluate(() => localStorage.getItem('tb_archviz.step'));
  await frame.$eval('#layer-view', (e) => e.scrollIntoView());
  await page.screenshot({ path: `${outdir}/timeline_layer.png`, fullPage: false });
  // Deep link: focus in localStorage, the parent page switches to the Architecture tab.
  await frame.click('#layer-view .arch-link');
  // TensorBoard has routed the new hash once the Architecture tab's iframe exists (bounded:
  // a tab that never opens is reported below, not thrown).
  await pluginFrame(page, 'archviz_graph', 30000).catch(() => null);
  out.focus = await page.evaluate(() => localStorage.getItem('tb_archviz.focus'));
  out.parentHash = await page.evaluate(() => window.location.hash);
  out.graphFrame = page.frames().some((f) => f.url().includes('plugin_entry.html?name=archviz_graph'));
  out.activeTab = await page.evaluate(() => {
    const el = document.querySelector('.plugin-name.active, [role=tab][aria-selected=true], ' +
                                      'mat-tab-header .mat-tab-label-active, .mdc-tab--active');
    return el ? el.textContent.trim() : null;
  });
  await page.screenshot({ path: `${outdir}/after_deeplink.png` });
  out.errors = errors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
