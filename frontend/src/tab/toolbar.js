// The Architecture tab's toolbar, canvas, details panel and status line; `on` holds the
// handlers (index.js), so this module only builds elements.
import { html } from '../common/dom.js';
import { PanZoom } from './panzoom.js';

export function buildUi(root, on) {
  const runSel = html('select', { class: 'run', title: 'run', onchange: () => on.chooseRun(runSel.value) });
  const viewSel = html('select', { class: 'view', title: 'view', onchange: () => on.setView(viewSel.value) });
  const verSel = html('select', { class: 'version', title: 'architecture version',
    onchange: () => on.chooseVersion(Number(verSel.value)) });
  const diffSel = html('select', { class: 'diff', title: 'compare with another version',
    onchange: () => on.setDiff(diffSel.value) });
  const depth = html('input', { type: 'range', min: '1', max: '1', value: '1', class: 'depth',
    title: 'depth: how many levels of blocks are open', oninput: () => on.setDepth(Number(depth.value)) });
  const depthLabel = html('span', { class: 'depth-label' }, '');
  const color = html('select', { class: 'color', title: 'colour by',
    onchange: () => on.setColorMode(color.value) },
  html('option', { value: 'type' }, 'colour: layer type'),
  html('option', { value: 'params' }, 'colour: parameters'),
  html('option', { value: 'device' }, 'colour: device'),
  html('option', { value: 'health' }, 'colour: health'));
  const healthStat = html('select', { class: 'health-stat', title: 'health statistic',
    onchange: () => on.loadHealth() });
  const healthStep = html('input', { type: 'range', min: '0', max: '0', value: '0', class: 'health-step',
    title: 'logged step (shared with the Anomaly Timeline tab)', oninput: () => on.onHealthSlider() });
  const healthLabel = html('span', { class: 'health-label' }, '');
  const healthBar = html('span', { class: 'health-bar', hidden: true }, healthStat,
    html('label', {}, 'step ', healthStep, healthLabel));
  const find = html('input', { type: 'search', class: 'search', placeholder: 'search modules',
    onkeydown: (e) => { if (e.key === 'Enter') on.nextHit(); }, oninput: () => on.runSearch(find.value) });
  const hitLabel = html('span', { class: 'hits' }, '');
  const fit = html('button', { class: 'fit', title: 'the whole diagram; again: back to a readable width',
    onclick: () => pz.toggleFit() }, 'Fit');
  const svgBtn = html('button', { class: 'export-svg', onclick: () => on.exportSvg() }, 'Export SVG');
  const pngBtn = html('button', { class: 'export-png', onclick: () => on.exportPng() }, 'Export PNG');
  const toolbar = html('div', { class: 'toolbar' }, html('label', {}, 'View ', viewSel), runSel, verSel, diffSel,
    html('label', {}, 'depth ', depth, depthLabel), color, healthBar, find, hitLabel, fit, svgBtn, pngBtn);
  const canvas = html('div', { class: 'canvas' });
  const minimap = html('div', { class: 'minimap' });
  const details = html('div', { class: 'details' });
  const status = html('div', { class: 'status' }, 'loading…');
  root.appendChild(toolbar);
  const stage = html('div', { class: 'stage' }, canvas, minimap);
  const viewHost = html('div', { class: 'view-host', hidden: true });
  root.appendChild(html('div', { class: 'main' }, stage, viewHost, details));
  root.appendChild(status);
  const pz = new PanZoom(canvas, minimap);
  canvas.addEventListener('click', on.canvasClick);
  return { healthBar, healthStat, healthStep, healthLabel, viewSel, stage, viewHost, runSel, verSel, diffSel, depth, depthLabel, color, find, hitLabel, canvas, minimap, details, status, pz };
}
