// node views_check.mjs URL OUTDIR SPEC_JSON: for each {run, view, shot, wait, counts, texts,
// attrs, slider} opens the Architecture tab, picks the run and the view, waits for `wait`
// inside the view host, reads what is drawn and screenshots the view; prints one JSON line.
import { collectErrors, launch, pluginFrame } from './browser.mjs';

const [url, outdir, specJson] = process.argv.slice(2);
const specs = JSON.parse(specJson);
const browser = await launch();
const result = { views: {}, errors: [] };

function readView(spec) {
  const host = document.querySelector('.view-host');
  const out = { counts: {}, texts: {}, attrs: {}, hostHidden: host.hidden,
    options: [...document.querySelectorAll('select.view option')].map((o) => o.value) };
  for (const [k, sel] of Object.entries(spec.counts || {})) out.counts[k] = host.querySelectorAll(sel).length;
  for (const [k, sel] of Object.entries(spec.texts || {})) {
    out.texts[k] = [...host.querySelectorAll(sel)].map((n) => n.textContent);
  }
  for (const [k, [sel, attr]] of Object.entries(spec.attrs || {})) {
    out.attrs[k] = [...host.querySelectorAll(sel)].map((n) => n.getAttribute(attr));
  }
  return out;
}

try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  result.errors = collectErrors(page);
  await page.goto(`${url}#archviz_graph`, { waitUntil: 'load' });
  const frame = await pluginFrame(page, 'archviz_graph');
  await frame.waitForFunction(() => window.__archviz && window.__archviz.ready, null, { timeout: 60000 });
  for (const spec of specs) {
    await frame.selectOption('select.run', spec.run);
    await frame.waitForFunction((run) => window.__archviz.app.run === run &&
      document.querySelector(`select.view option[value="${run ? '' : ''}diagram"]`), spec.run, { timeout: 60000 });
    await frame.waitForFunction((v) => document.querySelector(`select.view option[value="${v}"]`), spec.view, { timeout: 30000 });
    await frame.selectOption('select.view', spec.view);
    await frame.waitForSelector(`.view-host ${spec.wait}`, { timeout: 30000 });
    await page.waitForTimeout(300);
    const seen = await frame.evaluate(readView, spec);
    if (spec.slider) {
      seen.sliderBefore = await frame.evaluate((sel) => document.querySelector(`.view-host ${sel}`).value, spec.slider);
      await frame.evaluate((sel) => {
        const s = document.querySelector(`.view-host ${sel}`);
        s.value = s.min;
        s.dispatchEvent(new Event('input', { bubbles: true }));
      }, spec.slider);
      await page.waitForTimeout(300);
      seen.atFirst = await frame.evaluate(readView, spec);
      seen.sliderAfter = await frame.evaluate((sel) => document.querySelector(`.view-host ${sel}`).value, spec.slider);
      await frame.evaluate((sel) => {
        const s = document.querySelector(`.view-host ${sel}`);
        s.value = s.max;
        s.dispatchEvent(new Event('input', { bubbles: true }));
      }, spec.slider);
      await page.waitForTimeout(300);
    }
    if (spec.click) {
      await frame.click(`.view-host ${spec.click}`);
      seen.details = await frame.evaluate(() => document.querySelector('.details').textContent);
    }
    const host = await frame.$('.view-host');
    await host.screenshot({ path: `${outdir}/view-${spec.shot}.png` });
    result.views[spec.shot] = seen;
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
