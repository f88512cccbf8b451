// The TensorBoard host: reload notifications (experimental plugin IPC), the shared step and
// the deep link into the Architecture tab.

/**
 * Listen for `experimental.DataReloaded` over the MessageChannel the host hands us
 * (tensorboard-platform.md §1.6) and call `onReload` for each; replies so the host's
 * promise settles. Harmless when not embedded.
 */
export function listenForReload(onReload) {
  if (window.parent === window) return;
  const channel = new MessageChannel();
  channel.port1.onmessage = (event) => {
    let msg;
    try { msg = JSON.parse(event.data); } catch { return; }
    if (!msg || msg.isReply) return;
    if (msg.type === 'experimental.DataReloaded') onReload();
    channel.port1.postMessage(JSON.stringify({type: msg.type, id: msg.id, payload: null,
                                              error: null, isReply: true}));
  };
  window.parent.postMessage('experimental.bootstrap', '*', [channel.port2]);
}

const STEP_KEY = 'tb_archviz.step';
const FOCUS_KEY = 'tb_archviz.focus';

export function sharedStep() {
  try {
    const v = JSON.parse(localStorage.getItem(STEP_KEY));
    if (v && typeof v === 'object' && Number.isFinite(v.step)) return v;
    if (Number.isFinite(v)) return {step: v};
  } catch { /* absent or foreign */ }
  return null;
}

export function setSharedStep(run, step) {
  try {
    localStorage.setItem(STEP_KEY, JSON.stringify({run, step, t: Date.now()}));
  } catch { /* storage disabled */ }
}

/** Calls `fn(value)` when another tab or iframe moves the shared step. */
export function onSharedStep(fn) {
  window.addEventListener('storage', (e) => {
    if (e.key === STEP_KEY) fn(sharedStep());
  });
}

/**
 * Open the Architecture tab on `layer`: the focus goes through localStorage (read by that
 * tab), the tab switch through the parent's URL hash, which TensorBoard routes to a plugin.
 */
export function openInArchitecture(run, layer, step) {
  try {
    localStorage.setItem(FOCUS_KEY, JSON.stringify({run, layer, step, t: Date.now()}));
  } catch { /* storage disabled */ }
  if (window.parent !== window) window.parent.location.hash = '#archviz_graph';
}
