// node overview_check.mjs URL OUTDIR: the Timeline's runs overview on a sweep logdir; reads
// the table's rows and the split sentence, sorts by a column, filters, groups, opens a run;
// screenshot OUTDIR/overview.png; prints one JSON line.
import { launch, collectErrors, pluginFrame } from './browser.mjs';

const [url, outdir] = process.argv.slice(2);
const browser = await launch();
const out = {};
const rows = (frame) => frame.$$eval('#overview-table tbody tr.ov-row',
  (els) => els.map((e) => ({run: e.dataset.run,
                            cells: [...e.children].map((td) => td.textContent)})));
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  const errors = collectErrors(page);
  await page.goto(`${url}#archviz_health`, { waitUntil: 'load' });
  const frame = await pluginFrame(page, 'archviz_health', 60000);
  await frame.waitForSelector('#timeline-root[data-ready="true"]', { timeout: 120000 });
  await frame.waitForSelector('#overview-table tbody tr.ov-row', { timeout: 60000 });
  out.overviewVisible = await frame.$eval('#overview', (e) => e.offsetHeight > 0);
  out.heatmapHidden = await frame.$eval('.main', (e) => e.offsetHeight === 0);
  out.headers = await frame.$$eval('#overview-table th', (els) => els.map((e) => e.dataset.key));
  out.rows = await rows(frame);
  out.splits = await frame.$$eval('#overview-splits p', (els) => els.map((e) => e.textContent));
  out.splitKind = await frame.$eval('#overview-split-kind', (e) => e.value);
  out.charts = await frame.$$eval('.ov-chart', (els) => els.map((e) => ({
    hparam: e.dataset.hparam, title: e.firstChild.textContent,
    red: e.querySelectorAll('[fill="#e03131"]').length,
    green: e.querySelectorAll('[fill="#40c057"]').length})));
  await page.screenshot({ path: `${outdir}/overview.png`, fullPage: true });
  await frame.click('#overview-table th[data-key="hp:lr"]');
  out.byLr = (await rows(frame)).map((r) => r.run);
  await frame.click('#overview-table th[data-key="hp:lr"]');
  out.byLrDown = (await rows(frame)).map((r) => r.run);
  await frame.fill('input[type="search"]', 'act=tanh');
  out.tanh = (await rows(frame)).map((r) => r.run);
  await frame.fill('input[type="search"]', '');
  await frame.selectOption('#overview-group', 'act');
  out.groups = await frame.$$eval('#overview-table tr.ov-group', (els) => els.map((e) => e.textContent));
  const target = out.rows[0].run;
  await frame.click(`#overview-table tr.ov-row[data-run="${target}"]`);
  await frame.waitForFunction((r) => window.__timeline.heatmapData &&
    window.__timeline.heatmapData.run === r, target, { timeout: 60000 });
  out.opened = target;
  out.overviewHiddenAfter = await frame.$eval('#overview', (e) => e.offsetHeight === 0);
  out.heatmapShownAfter = await frame.$eval('.main', (e) => e.offsetHeight > 0);
  out.selected = await frame.$eval('#run-select', (e) => e.value);
  await page.screenshot({ path: `${outdir}/opened.png` });
  // A reload stays on the opened run (the URL remembers it); "All runs" goes back.
  await page.reload({ waitUntil: 'load' });
  const again = await pluginFrame(page, 'archviz_health', 60000);
  await again.waitForSelector('#timeline-root[data-ready="true"]', { timeout: 120000 });
  out.afterReload = await again.$eval('#run-select', (e) => e.value);
  out.overviewHiddenAfterReload = await again.$eval('#overview', (e) => e.offsetHeight === 0);
  await again.click('#all-runs');
  out.backToOverview = await again.$eval('#overview', (e) => e.offsetHeight > 0);
  out.errors = errors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
