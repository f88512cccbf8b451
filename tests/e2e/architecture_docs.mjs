// node architecture_docs.mjs URL OUTDIR FILE: the README screenshot of the Architecture tab:
// the residual CNN open one level, its first residual block open (the skip edge into +).
import { collectErrors, launch, pluginFrame } from './browser.mjs';

const [url, outdir, file] = process.argv.slice(2);
const browser = await launch();
let out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = collectErrors(page);
  await page.goto(`${url}#archviz_graph`, { waitUntil: 'load' });
  const frame = await pluginFrame(page, 'archviz_graph');
  await frame.waitForFunction(() => window.__archviz && window.__archviz.ready, null, { timeout: 60000 });
  await frame.evaluate(() => window.__archviz.show({ depth: 2, expanded: ['net.blocks', 'net.blocks.0'],
    unfolded: ['repeat:net.blocks|net.blocks.0'], collapsed: ['net.blocks.1'] }, 'net.blocks.0'));
  // Let the drawing settle, then show the details of the block's first convolution.
  await frame.click('.canvas svg .node[data-id="net.blocks.0.conv1"]');
  await frame.waitForFunction(() => window.__archviz.app.selected === 'net.blocks.0.conv1');
  out = await frame.evaluate(() => ({
    nodes: [...document.querySelectorAll('.canvas svg .node')].map((n) => n.getAttribute('data-id')),
    residual: document.querySelectorAll('.canvas svg path.edge-residual').length }));
  await page.screenshot({ path: `${outdir}/${file}` });
  out.errors = errors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
