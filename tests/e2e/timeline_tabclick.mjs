// node timeline_tabclick.mjs URL OUTDIR: TensorBoard already open on the Scalars tab, the user
// clicks "Anomaly Timeline"; time from the click to the tab's first painted heatmap (mark
// tl:first-heatmap-paint). One JSON line.
import { launch, pluginFrame } from './browser.mjs';

const [url, outdir] = process.argv.slice(2);
const browser = await launch();
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  await page.goto(`${url}#scalars`, { waitUntil: 'load' });
  await page.waitForSelector('text=ANOMALY TIMELINE', { timeout: 60000 }).catch(() => {});
  await page.waitForLoadState('networkidle');  // the shell and the Scalars tab settle
  const t0 = Date.now();
  await page.evaluate(() => { window.location.hash = '#archviz_health'; });
  const frame = await pluginFrame(page, 'archviz_health', 60000);
  out.iframe_ms = Date.now() - t0;
  await frame.waitForFunction(() => performance.getEntriesByName('tl:first-heatmap-paint').length,
    null, { timeout: 300000, polling: 20 });
  out.click_to_paint_ms = Date.now() - t0;
  await page.screenshot({ path: `${outdir}/tabclick.png` });
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
