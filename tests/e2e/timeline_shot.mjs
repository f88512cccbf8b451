// node timeline_shot.mjs URL OUTDIR RUN: the Anomaly Timeline with RUN selected, screenshot
// OUTDIR/timeline-tab.png (used for docs/timeline-tab.png); prints one JSON line.
import { launch, collectErrors, painted, pluginFrame } from './browser.mjs';

const [url, outdir, run] = process.argv.slice(2);
const browser = await launch();
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  const errors = collectErrors(page);
  await page.goto(`${url}#archviz_health`, { waitUntil: 'load' });
  const frame = await pluginFrame(page, 'archviz_health', 60000);
  await frame.waitForSelector('#timeline-root[data-ready="true"]', { timeout: 120000 });
  if (await frame.$eval('#run-select', (e) => e.value) !== run) {
    await frame.selectOption('#run-select', run);
  }
  // RUN's heatmap, anomaly list and curves all drawn (each part is drawn as it arrives).
  await frame.waitForFunction((r) => {
    const t = window.__timeline;
    return t.heatmapData && t.heatmapData.run === r && t.anomalies && t.curves && t.curves.length &&
      t.curves[0].run === r;
  }, run, { timeout: 60000 });
  await painted(frame);
  out.summary = await frame.$$eval('.summary-line', (els) => els.map((e) => e.textContent));
  out.anomalies = await frame.$$eval('.anomaly', (els) => els.map((e) => e.textContent));
  out.note = await frame.$eval('.note', (e) => e.textContent);
  await page.screenshot({ path: `${outdir}/timeline-tab.png` });
  out.errors = errors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
