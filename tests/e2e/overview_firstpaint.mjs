// node overview_firstpaint.mjs URL OUTDIR LABEL: time from navigation to the Timeline's runs
// overview first painted (its first table row), twice in one browser (the second load finds
// the server's caches warm); "show more" once; screenshot; one JSON line.
import { launch, collectErrors, pluginFrame } from './browser.mjs';

const [url, outdir, label = 'overview'] = process.argv.slice(2);
const browser = await launch();
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  const errors = collectErrors(page);
  for (const pass of ['cold', 'warm']) {
    await page.goto('about:blank');  // the second pass is a real new page load
    const t0 = Date.now();
    await page.goto(`${url}#archviz_health`, { waitUntil: 'load' });
    const frame = await pluginFrame(page, 'archviz_health', 60000);
    await frame.waitForSelector('#overview-table tbody tr.ov-row', { timeout: 600000 });
    out[`${pass}_first_paint_ms`] = Date.now() - t0;
    out.rows_rendered = await frame.$$eval('#overview-table tr.ov-row', (els) => els.length);
    out.count = await frame.$eval('.ov-count', (e) => e.textContent);
    out.splits = await frame.$$eval('#overview-splits p', (els) => els.map((e) => e.textContent));
    if (pass === 'warm') {
      const t1 = Date.now();
      await frame.click('.ov-more');
      out.show_more_ms = Date.now() - t1;
      out.rows_after_more = await frame.$$eval('#overview-table tr.ov-row', (els) => els.length);
      const t2 = Date.now();
      await frame.click('#overview-table th[data-key="hp:lr"]');
      out.sort_ms = Date.now() - t2;
    }
  }
  await page.screenshot({ path: `${outdir}/${label}.png` });
  out.errors = errors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
