// node timeline_firstpaint.mjs URL OUTDIR: time from navigation to the Anomaly Timeline's
// first drawn heatmap (canvas sized and painted); screenshot; prints one JSON line.
import { launch, collectErrors, pluginFrame } from './browser.mjs';

const [url, outdir] = process.argv.slice(2);
const browser = await launch();
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  const errors = collectErrors(page);
  const t0 = Date.now();
  await page.goto(`${url}#archviz_health`, { waitUntil: 'load' });
  const frame = await pluginFrame(page, 'archviz_health', 60000);
  out.iframe_ms = Date.now() - t0;
  await frame.waitForFunction(() => {
    const c = document.querySelector('.hm-canvas');
    return c && c.width > 300 && document.querySelector('#timeline-root[data-ready]');
  }, null, { timeout: 300000, polling: 50 });
  out.first_paint_ms = Date.now() - t0;
  out.in_frame = await frame.evaluate(() => {
    const e = performance.getEntriesByType('resource').filter((r) => r.name.includes('heatmap'));
    return { heatmap_fetch_ms: e.length ? Math.round(e[0].duration) : null,
             since_frame_nav_ms: Math.round(performance.now()) };
  });
  out.rows = await frame.evaluate(() => window.__timeline.heatmap.lines.length);
  await page.screenshot({ path: `${outdir}/scale.png` });
  out.errors = errors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
