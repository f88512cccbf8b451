// node timeline_firstpaint.mjs URL OUTDIR [LABEL]: time from navigation to the Anomaly
// Timeline's first drawn heatmap (canvas sized and painted) and break the time inside the
// tab's iframe down with the tab's own performance measures (tl:net:<route>, tl:parse:<route>,
// tl:decode, tl:layout, tl:draw, mark tl:first-heatmap-paint); screenshot; one JSON line.
import { launch, collectErrors, painted, pluginFrame } from './browser.mjs';

const [url, outdir, label = 'scale'] = process.argv.slice(2);
const browser = await launch();
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  const errors = collectErrors(page);
  const t0 = Date.now();
  await page.goto(`${url}#archviz_health`, { waitUntil: 'load' });
  const frame = await pluginFrame(page, 'archviz_health', 60000);
  out.iframe_ms = Date.now() - t0;
  await frame.waitForFunction(() => performance.getEntriesByName('tl:first-heatmap-paint').length,
    null, { timeout: 300000, polling: 20 });
  out.first_paint_ms = Date.now() - t0;
  out.in_frame = await frame.evaluate(() => {
    const r = (v) => Math.round(v);
    const paint = performance.getEntriesByName('tl:first-heatmap-paint')[0].startTime;
    const measures = performance.getEntriesByType('measure')
      .filter((m) => m.startTime <= paint)
      .map((m) => `${m.name} @${r(m.startTime)} +${r(m.duration)}`);
    const resources = performance.getEntriesByType('resource')
      .filter((e) => /\/(runs|heatmap|curves|anomalies|layer)\?/.test(e.name) ||
                     e.name.endsWith('.js'))
      .map((e) => ({ url: e.name.replace(/^.*archviz_health\//, ''), start: r(e.startTime),
                     ttfb: r(e.responseStart - e.startTime),
                     download: r(e.responseEnd - e.responseStart),
                     bytes: e.encodedBodySize }));
    return { paint_ms: r(paint), measures, resources };
  });
  out.rows = await frame.evaluate(() => window.__timeline.heatmap.lines.length);
  // The screenshot shows the whole tab: its start is over (the rest of the run drawn) and painted.
  await frame.waitForSelector('#timeline-root[data-ready]', { timeout: 120000 });
  await painted(frame);
  await page.screenshot({ path: `${outdir}/${label}.png` });
  out.errors = errors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
