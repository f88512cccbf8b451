// node views_check.mjs URL OUTDIR SPEC_JSON: for each {run, view, shot, wait, counts, texts,
// attrs, slider} opens the Architecture tab, picks the run and the view, waits for `wait`
// inside the view host, reads what is drawn and screenshots the view; prints one JSON line.
import { archSettled, collectErrors, launch, painted, pluginFrame } from './browser.mjs';

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

// Move the view's slider to its min or max as a user would, and wait until the view has drawn
// anew: the element `spec.wait` names is a new one (a frame is redrawn, not patched).
async function moveSlider(frame, spec, end) {
  await frame.evaluate(([sel, wait, end]) => {
    window.__beforeSlide = document.querySelector(`.view-host ${wait}`);
    const s = document.querySelector(`.view-host ${sel}`);
    s.value = s[end];
    s.dispatchEvent(new Event('input', { bubbles: true }));
  }, [spec.slider, spec.wait, end]);
  await frame.waitForFunction((wait) => {
    const now = document.querySelector(`.view-host ${wait}`);
    return now && now !== window.__beforeSlide;
  }, spec.wait, { timeout: 30000 });
  await painted(frame);
}

try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  result.errors = collectErrors(page);
  await page.goto(`${url}#archviz_graph`, { waitUntil: 'load' });
  const frame = await pluginFrame(page, 'archviz_graph');
  await frame.waitForFunction(() => window.__archviz && window.__archviz.ready, null, { timeout: 60000 });
  for (const spec of specs) {
    // Pick the run unless it is already shown (picking it again would reload it, and that
    // load's end remounts the view host under the view picked below); wait until its load
    // is over, then pick the view.
    if (!(await frame.evaluate(archSettled, spec.run))) await frame.selectOption('select.run', spec.run);
    await frame.waitForFunction(archSettled, spec.run, { timeout: 60000 });
    await frame.waitForFunction((v) => document.querySelector(`select.view option[value="${v}"]`), spec.view, { timeout: 30000 });
    await frame.selectOption('select.view', spec.view);
    await frame.waitForSelector(`.view-host ${spec.wait}`, { timeout: 30000 });
    await painted(frame);
    const seen = await frame.evaluate(readView, spec);
    if (spec.slider) {
      seen.sliderBefore = await frame.evaluate((sel) => document.querySelector(`.view-host ${sel}`).value, spec.slider);
      await moveSlider(frame, spec, 'min');
      seen.atFirst = await frame.evaluate(readView, spec);
      seen.sliderAfter = await frame.evaluate((sel) => document.querySelector(`.view-host ${sel}`).value, spec.slider);
      await moveSlider(frame, spec, 'max');
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
