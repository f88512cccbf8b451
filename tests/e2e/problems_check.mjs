// node problems_check.mjs URL OUTDIR: both tabs over a logdir with damaged runs; prints one JSON
// line with the problem lines each tab shows (never hidden, never an all-clear).
import { launch, collectErrors, painted, pluginFrame } from './browser.mjs';

const [url, outdir] = process.argv.slice(2);
const browser = await launch();
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  out.errors = collectErrors(page);
  await page.goto(`${url}#archviz_health`, { waitUntil: 'load' });
  let frame = await pluginFrame(page, 'archviz_health', 60000);
  await frame.waitForSelector('.summary-line', { timeout: 120000 });
  // The tab's start (run list, summary, the selected run) is over: ready or error.
  await frame.waitForSelector('#timeline-root[data-ready]', { timeout: 120000 });
  await painted(frame);
  out.timeline = await frame.$$eval('.summary-line', (els) => els.map((e) => ({
    text: e.textContent, visible: e.getBoundingClientRect().height > 0 })));
  await page.screenshot({ path: `${outdir}/timeline-problems.png` });

  await page.goto(`${url}#archviz_graph`, { waitUntil: 'load' });
  frame = await pluginFrame(page, 'archviz_graph', 60000);
  await frame.waitForFunction(() => window.__archviz && window.__archviz.ready, null,
    { timeout: 120000 });
  await painted(frame);
  out.architecture = await frame.$$eval('.problems .problem', (els) => els.map((e) => ({
    text: e.textContent, visible: e.getBoundingClientRect().height > 0 })));
  await page.screenshot({ path: `${outdir}/architecture-problems.png` });
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
