// Shared by the end-to-end node scripts: playwright-core from frontend/node_modules and a
// headless system Chromium. ES module resolution ignores NODE_PATH, hence createRequire.
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../frontend/package.json', import.meta.url));
const { chromium } = require('playwright-core');

export async function launch() {
  return chromium.launch({
    executablePath: process.env.ARCHVIZ_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update'],
  });
}

// The plugin's iframe inside the TensorBoard page (data/plugin_entry.html?name=PLUGIN).
export async function pluginFrame(page, plugin, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const frame = page.frames().find((f) => f.url().includes(`plugin_entry.html?name=${plugin}`));
    if (frame) return frame;
    await page.waitForTimeout(100);  // polls for the frame (a state), bounded by timeoutMs
  }
  throw new Error(`no iframe for plugin ${plugin} after ${timeoutMs} ms`);
}

// Console errors and CSP violations seen by the page, for the scripts to report.
export function collectErrors(page) {
  const errors = [];
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  page.on('pageerror', (err) => errors.push(String(err)));
  return errors;
}

// Resolves once `frame` has rendered what its DOM holds now: two animation frames (the first
// may already have been under way when the call arrived). Used before screenshots, in place
// of a fixed sleep.
export function painted(frame) {
  return frame.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(() => ok()))));
}

// The Architecture tab has RUN loaded and on screen: its drawing is of the current tree and
// fold state, so no load or layout is in flight (a run's load ends with the view host
// mounted). Pass to frame.waitForFunction(archSettled, run).
export function archSettled(run) {
  const a = window.__archviz && window.__archviz.app;
  return Boolean(a && a.run === run && a.view && a.view.tree === a.tree && a.view.state === a.state);
}
