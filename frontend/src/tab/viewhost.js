// The other views of a capture (registry in views.js) in place of the diagram.
import { getJSON } from '../common/api.js';
import { clear, html } from '../common/dom.js';
import { readSharedStep } from '../common/host.js';
import { showDetails } from './details.js';
import { app, ui } from './state.js';
import { availableViews, DIAGRAM_VIEW, getView } from './views.js';

const getJson = (url) => getJSON(url);

export function viewContext() {
  return {
    run: app.run,
    version: app.version,
    get step() { const s = readSharedStep(); return s ? s.step : null; },
    fetchJSON: (rel) => getJson(rel),
    onSelectModule: (name) => {
      app.selected = name;
      showDetails(ui.details, app.tree, name, app.record);
    },
  };
}

export function fillViewSelect() {
  const views = app.record ? availableViews(app.record, viewContext()) : [];
  clear(ui.viewSel);
  ui.viewSel.appendChild(html('option', { value: DIAGRAM_VIEW }, 'Block diagram'));
  for (const v of views) ui.viewSel.appendChild(html('option', { value: v.id }, v.label));
  if (!views.some((v) => v.id === app.viewId)) app.viewId = DIAGRAM_VIEW;
  ui.viewSel.value = app.viewId;
}

export function unmountView() {
  if (app.viewHandle) {
    try { app.viewHandle.dispose(); } catch { /* a view's cleanup must not break the tab */ }
  }
  app.viewHandle = null;
  clear(ui.viewHost);
}

// Show the chosen view for the current record (the diagram stays laid out underneath).
export function mountView() {
  unmountView();
  const diagram = app.viewId === DIAGRAM_VIEW;
  ui.stage.hidden = !diagram;
  ui.viewHost.hidden = diagram;
  if (diagram || !app.record) return;
  const view = getView(app.viewId);
  try {
    app.viewHandle = view.render(ui.viewHost, app.record, viewContext()) || null;
  } catch (err) {
    ui.viewHost.appendChild(html('p', { class: 'view-error' }, `${view.label}: ${err.message}`));
  }
}

export function setView(id) {
  app.viewId = id === DIAGRAM_VIEW || getView(id) ? id : DIAGRAM_VIEW;
  mountView();
  if (app.viewId === DIAGRAM_VIEW && app.view) ui.pz.fit();
}
