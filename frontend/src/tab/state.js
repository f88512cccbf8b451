// The Architecture tab's state, shared by its modules: `app` (what is shown) and `ui` (the
// elements, filled once by the toolbar builder).
import { DIAGRAM_VIEW } from './views.js';

export const app = {
  runs: [], run: null, version: null, record: null, tree: null, state: null, view: null,
  colorMode: 'type', selected: null, highlight: new Set(), diff: null, hits: [], hitIndex: -1,
  timings: {}, elk: null, layouts: null, prefetch: true, seq: 0, health: null, healthSeq: 0,
  viewId: DIAGRAM_VIEW, viewHandle: null,
};

export const ui = {};

export function setStatus(text) {
  if (ui.status) ui.status.textContent = text;
}
