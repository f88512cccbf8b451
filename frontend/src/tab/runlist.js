// What the toolbar says about runs: the problems line, the version and compare choices, and
// the status line.
import { clear, html } from '../common/dom.js';
import { app, setStatus, ui } from './state.js';

// Records the backend could not read (/runs "problems": {run: [message]}), one visible line
// per run above the status line; an unreadable record is never silently missing.
export function showProblems(problems) {
  if (!ui.problems) {
    ui.problems = html('div', { class: 'problems', role: 'status' });
    ui.status.before(ui.problems);
  }
  clear(ui.problems);
  for (const [run, messages] of Object.entries(problems || {})) {
    ui.problems.appendChild(html('div', { class: 'problem' },
      `${run}: could not read everything: ${messages.join(' · ')}`));
  }
  ui.problems.hidden = !ui.problems.firstChild;
}

export function fillVersionSelects() {
  const info = app.runs.find((r) => r.run === app.run);
  const diffValue = ui.diffSel.value;
  clear(ui.verSel);
  clear(ui.diffSel);
  ui.diffSel.appendChild(html('option', { value: '' }, 'compare: off'));
  for (const v of (info ? info.versions : [])) {
    ui.verSel.appendChild(html('option', { value: String(v.index) }, `v${v.index} @ step ${v.step}`));
    if (v.index !== app.version) {
      ui.diffSel.appendChild(html('option', { value: String(v.index) }, `compare with v${v.index}`));
    }
  }
  for (const r of app.runs) {
    if (r.run === app.run || !r.versions.length) continue;
    const last = r.versions[r.versions.length - 1];
    ui.diffSel.appendChild(html('option', { value: `${last.index}@${r.run}` },
      `compare with ${r.run} (v${last.index})`));
  }
  ui.verSel.value = String(app.version);
  ui.diffSel.value = [...ui.diffSel.options].some((o) => o.value === diffValue) ? diffValue : '';
}

export function updateStatus() {
  const r = app.record;
  const totals = (r && r.totals) || {};
  const view = app.view;
  setStatus(`${r.model_class} · ${totals.modules ?? '?'} modules · ${totals.parameters ?? '?'} parameters · ` +
    `showing ${view ? view.folded.nodes.length : 0} blocks, ${view ? view.folded.edges.length : 0} edges · ` +
    `first paint ${app.timings.firstPaintMs ?? '?'} ms` +
    (app.timings.lastLayoutMs !== undefined ? ` · last layout ${app.timings.lastLayoutMs} ms` : '') +
    (r.status !== 'ok' ? ` · capture ${r.status}: ${r.error || ''}` : ''));
}

export function fillRunSelect() {
  clear(ui.runSel);
  for (const r of app.runs) ui.runSel.appendChild(html('option', { value: r.run }, r.run));
}
