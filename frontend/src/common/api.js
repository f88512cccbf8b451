// Talking to a plugin's routes, for both tabs: relative URLs only (the iframe's <base> is the
// plugin root), errors carrying the server's message, TensorBoard's JSON numbers decoded.

let measurePrefix = null;

// Name performance measures `<prefix>:net:<route>` and `<prefix>:parse:<route>` (visible in
// DevTools and to the scale measurements); null: none.
export function setMeasurePrefix(prefix) {
  measurePrefix = prefix;
}

// Time `fn()` as a performance measure named `name`; returns what `fn` returns.
export function timed(name, fn) {
  const t0 = performance.now();
  const out = fn();
  performance.measure(name, { start: t0, end: performance.now() });
  return out;
}

// A route with its query: `params` values that are arrays repeat the key; null, undefined
// and '' are left out. `route` may carry a query of its own.
export function routeUrl(route, params = {}) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) for (const item of v) query.append(k, String(item));
    else if (v !== undefined && v !== null && v !== '') query.set(k, String(v));
  }
  const q = query.toString();
  const base = route.startsWith('./') || route.startsWith('../') ? route : `./${route}`;
  return q ? `${base}${base.includes('?') ? '&' : '?'}${q}` : base;
}

// GET a JSON route; throws an Error carrying the server's plain-text message (and `status`)
// on 4xx/5xx.
export async function getJSON(route, params = {}) {
  const name = route.split('?')[0];
  const t0 = performance.now();
  const resp = await fetch(routeUrl(route, params), { credentials: 'same-origin' });
  const text = await resp.text();
  if (measurePrefix) performance.measure(`${measurePrefix}:net:${name}`, { start: t0, end: performance.now() });
  if (!resp.ok) {
    const err = new Error(text || `${name}: HTTP ${resp.status}`);
    err.status = resp.status;
    throw err;
  }
  return measurePrefix ? timed(`${measurePrefix}:parse:${name}`, () => JSON.parse(text)) : JSON.parse(text);
}

// TensorBoard's JSON writes NaN and infinities as strings; turn them back into numbers.
export function num(v) {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return v === null || v === undefined ? NaN : Number(v);
}

export function nums(list) {
  return Float64Array.from(list || [], num);
}

// Base64 little-endian float32 (the heatmap's encoding) into a Float32Array.
export function decodeF32(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}
