// Export from the tab: the current view in paper style (no selection, no UI), drawn by the
// same code as the CLI's `tb-archviz export`.
import { renderDiagram, toSvgString } from '../diagram/index.js';
import { html } from '../common/dom.js';

export function paperSvg(app, options) {
  const el = renderDiagram(app.tree, app.view.folded, app.view.geo,
    { ...options, selected: null, highlight: new Set() });
  return toSvgString(el);
}

function download(blob, name) {
  const a = html('a', { href: URL.createObjectURL(blob), download: name });
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

function fileBase(app) {
  return `${app.run.replace(/[^A-Za-z0-9_.-]+/g, '_')}-v${app.version}`;
}

export function exportSvg(app, options) {
  const text = paperSvg(app, options);
  download(new Blob([text], { type: 'image/svg+xml' }), `${fileBase(app)}.svg`);
  return text;
}

export async function exportPng(app, options, scale = 2) {
  const text = paperSvg(app, options);
  const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
  const img = new Image();
  await new Promise((ok, fail) => { img.onload = ok; img.onerror = fail; img.src = url; });
  const canvas = html('canvas', { width: String(img.width * scale), height: String(img.height * scale) });
  const ctx = canvas.getContext('2d');
  ctx.scale(scale, scale);
  ctx.drawImage(img, 0, 0);
  URL.revokeObjectURL(url);
  const blob = await new Promise((ok) => canvas.toBlob(ok, 'image/png'));
  download(blob, `${fileBase(app)}.png`);
  return blob.size;
}
