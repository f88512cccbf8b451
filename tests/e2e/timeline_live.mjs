// node timeline_live.mjs URL OUTDIR RUN COMPARE LAYER: (1) compare RUN with COMPARE: the second
// run's dashed curves and its anomalies (with a run chip) appear; (2) live update: select
// LAYER, write OUTDIR/ready, wait until the test has written more steps (OUTDIR/written),
// press TensorBoard's reload button, and wait until the heatmap reaches the new last step
// while RUN and LAYER stay selected. Screenshots in OUTDIR; prints one JSON line.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { launch, collectErrors, pluginFrame } from './browser.mjs';

const [url, outdir, run, compare, layer] = process.argv.slice(2);
const browser = await launch();
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  const errors = collectErrors(page);
  await page.goto(`${url}#archviz_health`, { waitUntil: 'load' });
  const frame = await pluginFrame(page, 'archviz_health', 60000);
  await frame.waitForSelector('#timeline-root[data-ready="true"]', { timeout: 60000 });
  if (await frame.$eval('#run-select', (e) => e.value) !== run) {
    await frame.selectOption('#run-select', run);
  }
  await frame.waitForFunction((r) => window.__timeline.state.run === r &&
    window.__timeline.heatmapData && window.__timeline.heatmapData.run === r, run);
  const dashed = () => frame.$$eval('#curves path.curve',
    (els) => els.filter((e) => e.getAttribute('stroke-dasharray') !== 'none').length);
  out.dashedBefore = await dashed();
  out.anomaliesBefore = await frame.$$eval('.anomaly', (els) => els.length);

  // (1) Comparison.
  await frame.selectOption('#compare-select', compare);
  // Drawn, not just fetched: the compared run's curves are dashed paths.
  await frame.waitForFunction(() => [...document.querySelectorAll('#curves path.curve')]
    .some((e) => e.getAttribute('stroke-dasharray') !== 'none'), null, { timeout: 30000 });
  out.dashedAfter = await dashed();
  out.compareChips = await frame.$$eval('.anomaly .run-chip', (els) => els.map((e) => e.textContent));
  out.compareKinds = await frame.$$eval('.anomaly', (els) => els.filter(
    (e) => e.querySelector('.run-chip')).map((e) => e.dataset.kind));
  await page.screenshot({ path: `${outdir}/compare.png` });
  await frame.selectOption('#compare-select', '');
  await frame.waitForFunction(() => !window.__timeline.curves.some((r) => r.dashed));

  // (2) Live update, with a layer open.
  await frame.evaluate((l) => window.__timeline.selectLayer(l), layer);
  await frame.waitForSelector('#layer-view:not([hidden]) .layer-chart', { timeout: 30000 });
  const lastStep = () => frame.evaluate(() => {
    const d = window.__timeline.heatmapData;
    return d.last_step[d.last_step.length - 1];
  });
  out.lastStepBefore = await lastStep();
  writeFileSync(`${outdir}/ready`, 'ready');
  const deadline = Date.now() + 60000;
  // Polls for the test's marker file (a state outside the browser).
  while (!existsSync(`${outdir}/written`) && Date.now() < deadline) await page.waitForTimeout(200);
  // The marker holds the last step written; TensorBoard may pick the new steps up over
  // several reloads, so wait for that step rather than for any change.
  const target = Number(readFileSync(`${outdir}/written`, 'utf8')) || Infinity;
  // TensorBoard's own reload button (it tells the plugin iframe that data was reloaded); pressed
  // again when the heatmap has not reached the target a few seconds after a press.
  let pressed = false;
  while (Date.now() < deadline && (await lastStep()) < target) {
    const button = await page.$('button[aria-label="Reload data"], .reload-button');
    if (button) { await button.click(); pressed = true; }
    await frame.waitForFunction((t) => {
      const d = window.__timeline.heatmapData;
      return d && d.last_step[d.last_step.length - 1] >= t;
    }, target, { timeout: Math.max(1, Math.min(5000, deadline - Date.now())) }).catch(() => {});
  }
  out.reloadButton = pressed;
  out.lastStepAfter = await lastStep();
  // The layer view refreshes after the heatmap (a separate request): wait for it too,
  // bounded, rather than reading it the moment the heatmap changed.
  const layerLast = () => {
    const k = window.__timeline.layerData && Object.values(window.__timeline.layerData.kinds)[0];
    return k ? k.step[k.step.length - 1] : null;
  };
  await frame.waitForFunction((target) => {
    const k = window.__timeline.layerData && Object.values(window.__timeline.layerData.kinds)[0];
    return k && k.step[k.step.length - 1] >= target;
  }, out.lastStepAfter, { timeout: 30000 }).catch(() => {});
  out.layerStepsAfter = await frame.evaluate(layerLast);
  out.runAfter = await frame.$eval('#run-select', (e) => e.value);
  out.layerAfter = await frame.evaluate(() => window.__timeline.state.layer);
  out.layerViewShown = await frame.$eval('#layer-view', (e) => !e.hidden);
  await page.screenshot({ path: `${outdir}/live.png` });
  out.errors = errors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
