// The tab's view registry. The built-in "Block diagram" is always the first view; other
// views (frontend/src/views/*) register here and appear in the toolbar's "View" select.
//
//   registerView({
//     id: 'neurons',                       // unique, stable (used in the select's values)
//     label: 'Neurons',                    // shown in the select
//     available(record, ctx) -> bool,      // offered for this record? (optional: always)
//     render(container, record, ctx) -> {dispose()},
//   })
//
// ctx: {run, version, step, fetchJSON(relUrl), onSelectModule(name)}
//   run, version   the record being shown
//   step           the shared step (localStorage "tb_archviz.step"), null when unset;
//                  a getter, so it is current whenever read
//   fetchJSON(u)   GET a URL relative to this plugin (e.g. `health?run=...`), parsed JSON;
//                  throws on HTTP errors
//   onSelectModule(name)  show a module in the details panel (and select it in the diagram)
// render() is called again (after dispose()) when the run, version or view changes.

export const DIAGRAM_VIEW = 'diagram';

const registry = [];

export function registerView(view) {
  if (!view || typeof view.id !== 'string' || !view.id || typeof view.render !== 'function') {
    throw new Error('registerView: need {id, label, render(container, record, ctx)}');
  }
  if (view.id === DIAGRAM_VIEW || registry.some((v) => v.id === view.id)) {
    throw new Error(`registerView: view id "${view.id}" is already taken`);
  }
  registry.push({ label: view.id, available: () => true, ...view });
}

// Registered views offered for a record (the built-in diagram is not in this list).
export function availableViews(record, ctx) {
  return registry.filter((v) => {
    try {
      return Boolean(v.available(record, ctx));
    } catch {
      return false;
    }
  });
}

export function getView(id) {
  return registry.find((v) => v.id === id) || null;
}
