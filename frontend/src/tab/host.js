// Talking to the page around the tab: TensorBoard's reload notifications (plugin IPC,
// tensorboard-platform.md §1.6) and the step shared with the Anomaly Timeline tab.
export const STEP_KEY = 'tb_archviz.step';
export const FOCUS_KEY = 'tb_archviz.focus';

// Call onReload() for each `experimental.DataReloaded` the host sends; every message is
// answered so the host's promise settles. Does nothing when the page is not embedded.
export function listenForReload(onReload) {
  if (window.parent === window) return;
  const channel = new MessageChannel();
  channel.port1.onmessage = (event) => {
    let msg = null;
    try { msg = JSON.parse(event.data); } catch (err) { return; }
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
  } catch (err) { /* absent, foreign or storage disabled */ }
  return null;
}

export function writeSharedStep(run, step) {
  try {
    window.localStorage.setItem(STEP_KEY, JSON.stringify({ run, step, t: Date.now() }));
  } catch (err) { /* storage disabled */ }
}

export function readFocus() {
  try {
    const raw = window.localStorage.getItem(FOCUS_KEY);
    const f = raw ? JSON.parse(raw) : null;
    return f && typeof f.layer === 'string' ? f : null;
  } catch (err) {
    return null;
  }
}
