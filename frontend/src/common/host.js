// Talking to the TensorBoard page around a tab: reload notifications (the experimental plugin
// IPC, tensorboard-platform.md §1.6), the step shared between the tabs, the deep link from the
// Timeline into the Architecture tab, and the tab's choices kept in the page's URL.
export const STEP_KEY = 'tb_archviz.step';
export const FOCUS_KEY = 'tb_archviz.focus';
export const ARCHITECTURE_PLUGIN = 'archviz_graph';
export const TIMELINE_PLUGIN = 'archviz_health';

// Call onReload() for each `experimental.DataReloaded` the host sends; every message is
// answered so the host's promise settles. Does nothing when the page is not embedded.
export function listenForReload(onReload) {
  if (window.parent === window) return;
  const channel = new MessageChannel();
  channel.port1.onmessage = (event) => {
    let msg = null;
    try { msg = JSON.parse(event.data); } catch { return; }
    if (!msg || msg.isReply) return;
    if (msg.type === 'experimental.DataReloaded') onReload();
    channel.port1.postMessage(JSON.stringify({ type: msg.type, id: msg.id, payload: null,
      error: null, isReply: true }));
  };
  window.parent.postMessage('experimental.bootstrap', '*', [channel.port2]);
}

// The shared step {step, run?, t?} or null.
export function readSharedStep() {
  try {
    const v = JSON.parse(window.localStorage.getItem(STEP_KEY));
    if (v && typeof v === 'object' && Number.isFinite(v.step)) return v;
    if (Number.isFinite(v)) return { step: v };
  } catch { /* absent, foreign or storage disabled */ }
  return null;
}

export function writeSharedStep(run, step) {
  try {
    window.localStorage.setItem(STEP_KEY, JSON.stringify({ run, step, t: Date.now() }));
  } catch { /* storage disabled */ }
}

// Calls fn(sharedStep) when another tab or iframe moves the shared step.
export function onSharedStep(fn) {
  window.addEventListener('storage', (e) => {
    if (e.key === STEP_KEY) fn(readSharedStep());
  });
}

// The focus the Timeline asked the Architecture tab to show: {run, layer, step, t} or null.
export function readFocus() {
  try {
    const raw = window.localStorage.getItem(FOCUS_KEY);
    const f = raw ? JSON.parse(raw) : null;
    return f && typeof f.layer === 'string' ? f : null;
  } catch {
    return null;
  }
}

// Calls fn(focus) when another iframe asks for a block (the Architecture tab already open).
export function onFocus(fn) {
  window.addEventListener('storage', (e) => {
    if (e.key === FOCUS_KEY) fn(readFocus());
  });
}

// Open the Architecture tab on `layer`: the focus goes through localStorage (read by that tab,
// whether it is already open or not), the tab switch through the parent's URL hash, which
// TensorBoard routes to a plugin. The run goes into the URL too, so a reload shows the same.
export function openInArchitecture(run, layer, step) {
  try {
    window.localStorage.setItem(FOCUS_KEY, JSON.stringify({ run, layer, step, t: Date.now() }));
  } catch { /* storage disabled */ }
  if (window.parent !== window) {
    const dict = hashDict(window.parent.location.hash);
    dict.set('__tab__', ARCHITECTURE_PLUGIN);
    if (run) dict.set(`p.${ARCHITECTURE_PLUGIN}.run`, run);
    window.parent.location.hash = hashString(dict);
  }
}

// ---- the tab's choices in the URL ----
// TensorBoard's hash is "#<plugin>&key=value&…"; keys "p.<plugin>.<name>" belong to a plugin
// (the host hands them to it as GetURLPluginData). Embedded, the tabs read and write the
// parent page's hash (same origin); standalone, their own.
function hashDict(hash) {
  const dict = new Map();
  const parts = String(hash || '').replace(/^#/, '').split('&').filter(Boolean);
  parts.forEach((part, i) => {
    const eq = part.indexOf('=');
    if (eq < 0 && i === 0) dict.set('__tab__', decodeURIComponent(part));
    else if (eq >= 0) dict.set(decodeURIComponent(part.slice(0, eq)), decodeURIComponent(part.slice(eq + 1)));
  });
  return dict;
}

function hashString(dict) {
  const out = [];
  if (dict.has('__tab__')) out.push(encodeURIComponent(dict.get('__tab__')));
  for (const [k, v] of dict) {
    if (k !== '__tab__') out.push(`${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  }
  return `#${out.join('&')}`;
}

function topWindow() {
  try {
    if (window.parent !== window && window.parent.location.href) return window.parent;
  } catch { /* a cross-origin parent: keep our own URL */ }
  return window;
}

// The value `name` this plugin keeps in the URL, or null.
export function readUrlChoice(plugin, name) {
  const v = hashDict(topWindow().location.hash).get(`p.${plugin}.${name}`);
  return v === undefined || v === '' ? null : v;
}

// Keep `name` = `value` in the URL (null removes it) without a navigation or a history entry.
export function writeUrlChoice(plugin, name, value) {
  const w = topWindow();
  const dict = hashDict(w.location.hash);
  const key = `p.${plugin}.${name}`;
  if (value === null || value === undefined || value === '') dict.delete(key);
  else dict.set(key, String(value));
  const hash = hashString(dict);
  if (hash === w.location.hash || (hash === '#' && !w.location.hash)) return;
  try {
    w.history.replaceState(w.history.state, '', hash);
  } catch { /* a sandboxed page: the choice lives for this view only */ }
}
