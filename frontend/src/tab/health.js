// Colouring blocks by a health statistic at a logged step (shared with the Timeline). The
// choices offered come from the plugin's registry (/registry: tb_archviz/registry.py), never
// from a list typed here.
import { getJSON } from '../common/api.js';
import { html } from '../common/dom.js';
import { readSharedStep, writeSharedStep } from '../common/host.js';
import { app, ui } from './state.js';

// Health statistics offered for colouring ("family/stat", label), from /registry.
let HEALTH_STATS = [];
// How to draw again: {redraw(), repaint()} (index.js).
const drawing = { redraw: async () => {}, repaint: () => {} };

export function setDrawing(fns) {
  Object.assign(drawing, fns);
}

// Offer the registry's featured statistics in the toolbar's choice.
export function offerHealthStats(vocab) {
  HEALTH_STATS = healthStatsFrom(vocab);
  ui.healthStat.replaceChildren(...HEALTH_STATS.map(([value, label]) => html('option', { value }, label)));
}

// "family/stat" with its label for every statistic the registry features, in its order.
export function healthStatsFrom(vocab) {
  const out = [];
  for (const fam of ['grads', 'updates', 'acts', 'weights']) {
    const stats = ((vocab && vocab.stats && vocab.stats[fam]) || {}).stats || {};
    for (const [name, info] of Object.entries(stats)) {
      if (info.show > 0) out.push([`${fam}/${name}`, info.label, info.show]);
    }
  }
  return out.sort((a, b) => a[2] - b[2]).map(([v, l]) => [v, l]);
}

export function healthStatLabel() {
  const hit = HEALTH_STATS.find(([v]) => v === ui.healthStat.value);
  return hit ? hit[1] : ui.healthStat.value;
}

export async function setColorMode(mode) {
  // Device lanes change the layout itself, so entering or leaving device mode lays out again.
  const relayout = (mode === 'device') !== (app.colorMode === 'device');
  app.colorMode = mode;
  ui.color.value = mode;
  ui.healthBar.hidden = mode !== 'health';
  if (mode === 'health') {
    const shared = readSharedStep();
    await loadHealth(shared ? shared.step : null);
  } else if (relayout && app.tree) {
    await drawing.redraw();
  } else {
    drawing.repaint();
  }
}

// Fetch the chosen statistic at ``step`` (null: the slider's step, else the latest) and repaint.
export async function loadHealth(step) {
  if (!app.run) return;
  const [kind, stat] = ui.healthStat.value.split('/');
  if (step === undefined || step === null) {
    step = app.health && app.health.steps.length ? app.health.steps[Number(ui.healthStep.value)] : null;
  }
  const seq = ++app.healthSeq;
  const run = app.run;
  let body = null;
  try {
    body = await getJSON(`health?run=${encodeURIComponent(run)}&kind=${kind}&stat=${stat}` +
      (step === null || step === undefined ? '' : `&step=${step}`));
  } catch {
    if (seq !== app.healthSeq) return;
    app.health = { steps: [], step: null, values: {} };
    ui.healthLabel.textContent = ' no statistics logged';
    drawing.repaint();
    return;
  }
  if (seq !== app.healthSeq || run !== app.run) return;
  const values = {};
  for (const [k, v] of Object.entries(body.values)) values[k] = typeof v === 'string' ? Number(v) : v;
  app.health = { steps: body.steps, step: body.step, values, kind, stat };
  ui.healthStep.max = String(Math.max(0, body.steps.length - 1));
  ui.healthStep.value = String(Math.max(0, body.steps.indexOf(body.step)));
  ui.healthLabel.textContent = body.step === null ? ' no statistics logged' : ` ${body.step}`;
  if (app.colorMode === 'health') drawing.repaint();
}

export async function onHealthSlider() {
  if (!app.health || !app.health.steps.length) return;
  const step = app.health.steps[Number(ui.healthStep.value)];
  ui.healthLabel.textContent = ` ${step}`;
  writeSharedStep(app.run, step);
  await loadHealth(step);
}

// The Timeline tab (or another Architecture tab) moved the shared step.
export function onSharedStep() {
  const shared = readSharedStep();
  if (!shared || app.colorMode !== 'health') return;
  if (app.health && shared.step === app.health.step) return;
  loadHealth(shared.step);
}
