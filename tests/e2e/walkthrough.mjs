// node walkthrough.mjs URL OUTDIR: a new user's first five minutes on the demo logdir, in
// headless Chromium against a real TensorBoard. Opens the Architecture tab (it must
// land on the Timeline's worst run, readable), reads the Timeline, picks another broken run,
// clicks its first anomaly, follows the deep link into the (already open) Architecture tab,
// expands a block, presses Fit, exports; then reloads URLs that remember the choices.
// Screenshots go to OUTDIR (walkthrough-*.png); prints one JSON line with what it saw.
import { readFileSync } from 'node:fs';
import { collectErrors, launch, pluginFrame } from './browser.mjs';
import { byTrouble } from '../../frontend/src/common/runs.js';

const [url, outdir, showcase] = process.argv.slice(2);
const out = { steps: [] };
const browser = await launch();
const shot = async (page, name) => {
  await page.screenshot({ path: `${outdir}/walkthrough-${name}.png` });
  out.steps.push(name);
};

async function archFrame(page) {
  const frame = await pluginFrame(page, 'archviz_graph', 60000);
  await frame.waitForFunction(() => window.__archviz && window.__archviz.ready && window.__archviz.app.view,
    null, { timeout: 90000 });
  return frame;
}

async function timelineFrame(page) {
  const frame = await pluginFrame(page, 'archviz_health', 60000);
  await frame.waitForSelector('#timeline-root[data-ready="true"]', { timeout: 90000 });
  await frame.waitForFunction(() => window.__timeline.heatmapData || window.__timeline.curves,
    null, { timeout: 60000 });
  return frame;
}

// What the Architecture tab shows: run, selection, scale, the smallest label on screen.
const readArch = (frame) => frame.evaluate(() => {
  const a = window.__archviz.app;
  const pz = document.querySelector('.canvas');
  const t = a.view && document.querySelector('.canvas svg > g');
  const k = Number((t.getAttribute('transform').match(/scale\(([\d.e+-]+)\)/) || [])[1]);
  const sizes = [...document.querySelectorAll('.canvas svg text')]
    .map((e) => Number(e.getAttribute('font-size') || getComputedStyle(e).fontSize.replace('px', '')))
    .filter((s) => s > 0);
  const svg = document.querySelector('.canvas svg > g').getBBox();
  return { run: a.run, selected: a.selected, depth: a.state.depth, k,
    transform: t.getAttribute('transform'), minLabelPx: Math.min(...sizes) * k,
    drawnWidthPx: svg.width * k, canvasWidth: pz.clientWidth, canvasHeight: pz.clientHeight,
    nodes: a.view.folded.nodes.length };
});

// Words of the Architecture tab's details panel that are broken across two lines; with
// `width`, measured with the panel that narrow (a small screen), then restored.
const brokenWords = (frame, width = null) => frame.evaluate((w) => {
    const panel = document.querySelector('.details');
    const saved = panel.style.width;
    if (w) panel.style.width = `${w}px`;
    const broken = [];
    for (const td of document.querySelectorAll('.details td, .details h3')) {
      const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        for (const m of n.data.matchAll(/[A-Za-z]{3,}/g)) {
          const r = document.createRange();
          r.setStart(n, m.index);
          r.setEnd(n, m.index + m[0].length);
          const tops = new Set([...r.getClientRects()].map((x) => Math.round(x.top)));
          if (tops.size > 1) broken.push(m[0]);
        }
      }
    }
    panel.style.width = saved;
    return broken;
  }, width);

try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  out.errors = collectErrors(page);
  const health = await (await page.request.get(`${url}data/plugin/archviz_health/runs`)).json();
  out.worstRun = [...health.runs].sort(byTrouble)[0].run;

  // 1. The Architecture tab first: the Timeline's worst run, fitted to width, readable.
  await page.goto(`${url}#archviz_graph`, { waitUntil: 'load' });
  let arch = await archFrame(page);
  out.archLanding = await readArch(arch);
  await shot(page, '1-architecture-landing');

  // 2. The Timeline: lands on the worst run too; read its summary, curves and list.
  await page.evaluate(() => { window.location.hash = '#archviz_health'; });
  let tl = await timelineFrame(page);
  await tl.waitForSelector('.summary-line', { timeout: 30000 });
  out.timelineLanding = await tl.evaluate(() => ({
    run: window.__timeline.state.run,
    summary: [...document.querySelectorAll('.summary-line')].map((e) => e.textContent),
    panelNotes: [...document.querySelectorAll('#curves text.muted, #curves text.panel-note')].map((e) => e.textContent),
    anomalies: [...document.querySelectorAll('.anomaly')].map((e) => e.textContent),
  }));
  await shot(page, '2-timeline-landing');

  // 3. Another broken run from the summary (its choice goes into the URL), then its first
  // anomaly in a layer.
  const other = await tl.evaluate((worst) => {
    const line = [...document.querySelectorAll('.summary-line.bad, .summary-line.warn')]
      .find((e) => e.dataset.run && e.dataset.run !== worst && e.dataset.run.startsWith('broken_dying'))
      || [...document.querySelectorAll('.summary-line.bad, .summary-line.warn')]
        .find((e) => e.dataset.run && e.dataset.run !== worst);
    return line ? line.dataset.run : null;
  }, out.timelineLanding.run);
  out.chosenRun = other || out.timelineLanding.run;
  if (other) {
    await tl.click(`.summary-line[data-run="${other}"]`);
    await tl.waitForFunction((r) => window.__timeline.state.run === r && window.__timeline.anomalies &&
      window.__timeline.anomalies.every((a) => a.run === r), other, { timeout: 60000 });
  }
  out.hashAfterChoice = await page.evaluate(() => window.location.hash);
  await tl.waitForSelector('.anomaly[data-layer]:not([data-layer=""])', { timeout: 30000 });
  const first = await tl.$eval('.anomaly[data-layer]:not([data-layer=""])', (e) => ({
    layer: e.dataset.layer, kind: e.dataset.kind, text: e.textContent }));
  out.firstAnomaly = first;
  out.anomalyTexts = await tl.$$eval('.anomaly', (els) => els.map((e) => e.textContent));
  await tl.click('.anomaly[data-layer]:not([data-layer=""])');
  await tl.waitForSelector('#layer-view:not([hidden]) .layer-chart', { timeout: 60000 });
  await tl.$eval('#layer-view', (e) => e.scrollIntoView());
  out.layerView = await tl.evaluate(() => ({
    title: document.querySelector('#layer-view h3').textContent,
    charts: document.querySelectorAll('#layer-view .layer-chart').length,
    // A y label starting left of its chart's edge is clipped.
    clipped: [...document.querySelectorAll('#layer-view text.y-label')]
      .filter((t) => t.getBBox().x < 0).map((t) => t.textContent),
    labels: [...document.querySelectorAll('#layer-view text.y-label')].map((t) => t.textContent),
  }));
  await shot(page, '3-timeline-layer');

  // 4. The deep link into the Architecture tab, opened earlier on another run.
  await tl.click('#layer-view .arch-link');
  await page.waitForFunction(() => window.location.hash.startsWith('#archviz_graph'), null, { timeout: 30000 });
  arch = await archFrame(page);
  await arch.waitForFunction((r) => window.__archviz.app.run === r && window.__archviz.app.selected,
    out.chosenRun, { timeout: 60000 }).catch(() => {});
  out.deepLink = await readArch(arch);
  out.deepLink.hash = await page.evaluate(() => window.location.hash);
  out.deepLink.details = await arch.evaluate(() => document.querySelector('.details h3') &&
    document.querySelector('.details h3').textContent);
  // No word of the details panel broken across lines ("fro / zen").
  out.deepLink.brokenWords = await brokenWords(arch);
  await shot(page, '4-architecture-deeplink');

  // 5. Fit: the whole diagram, and again: back to the readable width, top first.
  const before = await readArch(arch);
  await arch.click('button.fit');
  const whole = await readArch(arch);
  await shot(page, '5-architecture-fit');
  await arch.click('button.fit');
  const back = await readArch(arch);
  out.fit = { before: before.transform, whole: whole.transform, back: back.transform,
    wholeFits: whole.drawnWidthPx <= whole.canvasWidth + 1, backMinLabelPx: back.minLabelPx };

  // 6. Expand a block: a closed container (or a ×N block) opens on a click. A small model
  // shown whole has none: close its container first (a click on its title), then open it.
  const findClosed = () => arch.evaluate(() => {
    const a = window.__archviz.app;
    const v = a.view.folded.nodes.find((n) => n.kind === 'repeat' ||
      (n.kind === 'module' && !n.open && a.tree.nodes.get(n.id).children.length > 0));
    return v ? v.id : null;
  });
  let closed = await findClosed();
  if (!closed) {
    const open = await arch.evaluate(() => {
      const v = window.__archviz.app.view.folded.nodes.find((n) => n.kind === 'module' && n.open);
      return v ? v.id : null;
    });
    const n = await arch.evaluate(() => window.__archviz.app.view.folded.nodes.length);
    await arch.click(`.canvas svg .node[data-id="${open}"] > text.label-name`);
    await arch.waitForFunction((k) => window.__archviz.app.view.folded.nodes.length !== k, n, { timeout: 60000 });
    out.collapsedFirst = open;
    closed = await findClosed();
  }
  out.expanded = { id: closed, before: await arch.evaluate(() => window.__archviz.app.view.folded.nodes.length) };
  if (closed) {
    await arch.click(`.canvas svg .node[data-id="${closed}"]`);
    await arch.waitForFunction((n) => window.__archviz.app.view.folded.nodes.length !== n,
      out.expanded.before, { timeout: 60000 });
    out.expanded.after = await arch.evaluate(() => window.__archviz.app.view.folded.nodes.length);
  }
  // The container's details (parameter counts that wrap over lines): still no broken word.
  out.expanded.details = await arch.evaluate(() => document.querySelector('.details').textContent);
  out.expanded.brokenWords = await brokenWords(arch);
  out.expanded.brokenWordsNarrow = await brokenWords(arch, 200);
  await shot(page, '6-architecture-expanded');

  // 7. Export: the SVG and PNG downloads.
  const [svgDownload] = await Promise.all([page.waitForEvent('download'), arch.click('button.export-svg')]);
  await svgDownload.saveAs(`${outdir}/walkthrough-export.svg`);
  const svg = readFileSync(`${outdir}/walkthrough-export.svg`, 'utf8');
  const [pngDownload] = await Promise.all([page.waitForEvent('download'), arch.click('button.export-png')]);
  await pngDownload.saveAs(`${outdir}/walkthrough-export.png`);
  const png = readFileSync(`${outdir}/walkthrough-export.png`);
  out.export = { svgName: svgDownload.suggestedFilename(), svgBytes: svg.length,
    svgHasLayer: svg.includes('<svg') && svg.includes('class="node'),
    pngName: pngDownload.suggestedFilename(), pngMagic: png.subarray(0, 4).toString('hex') };

  // 8. The URL remembers: a fresh page on the kept hash shows the chosen run in both tabs.
  const kept = await page.evaluate(() => window.location.hash);
  out.keptHash = kept;
  const page2 = await context.newPage();
  await page2.goto(`${url}${kept.replace(/^#archviz_graph/, '#archviz_health')}`, { waitUntil: 'load' });
  tl = await timelineFrame(page2);
  out.reloadedTimelineRun = await tl.evaluate(() => window.__timeline.state.run);
  // Without the deep link's focus, only the URL says which run the Architecture tab shows.
  await page2.evaluate(() => localStorage.removeItem('tb_archviz.focus'));
  const page3 = await context.newPage();
  await page3.goto(`${url}${kept}`, { waitUntil: 'load' });
  arch = await archFrame(page3);
  out.reloadedArchRun = await readArch(arch).then((r) => r.run);

  // 9. A showcase run (optional third argument) as the Architecture tab lands on it.
  if (showcase) {
    const page4 = await context.newPage();
    await page4.goto(`${url}#archviz_graph&p.archviz_graph.run=${encodeURIComponent(showcase)}`, { waitUntil: 'load' });
    const a4 = await archFrame(page4);
    out.showcase = await readArch(a4);
    await shot(page4, '9-architecture-showcase');
  }
} catch (err) {
  out.failure = String(err && err.stack || err);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
