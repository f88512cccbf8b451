// ELK in its same-origin worker (CSP forbids blob: workers), warmed up while the record loads.
import ELK from 'elkjs/lib/elk-api.js';
import { LAYOUT_OPTIONS } from '../diagram/index.js';

export function makeElk() {
  const workerUrl = new URL('./elk-worker.min.js', import.meta.url).href;
  return new ELK({ workerUrl });
}

// ELK's first layout in a fresh worker pays for loading and compiling the layered
// algorithm (~300-400 ms measured); do it on a tiny compound graph while the record is
// still being fetched, so the first real layout does not. `onDone(ms)` gets the time.
export function warmUpElk(elk, onDone) {
  const box = (id) => ({ id, width: 40, height: 20 });
  const graph = { id: 'warm', layoutOptions: LAYOUT_OPTIONS, edges: [
    { id: 'w1', sources: ['a'], targets: ['b'] }, { id: 'w2', sources: ['b'], targets: ['c1'] },
    { id: 'w3', sources: ['c1'], targets: ['c2'] }, { id: 'w4', sources: ['a'], targets: ['c2'] }],
  children: [box('a'), box('b'), { id: 'c', children: [box('c1'), box('c2')] }] };
  const t0 = performance.now();
  elk.layout(graph).then(() => onDone(Math.round(performance.now() - t0)))
    .catch(() => { /* the real layout reports problems */ });
}
