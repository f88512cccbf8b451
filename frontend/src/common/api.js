// Talking to the plugin's routes: relative URLs only (the iframe's <base> is the plugin root).

/**
 * Time `fn()` as a performance measure named `name` (visible in DevTools and to the scale
 * measurement); returns what `fn` returns.
 */
export function timed(name, fn) {
  const t0 = performance.now();
  const out = fn();
  performance.measure(name, {start: t0, end: performance.now()});
  return out;
}

/** GET a JSON route; throws an Error carrying the server's plain-text message on 4xx/5xx.
 * Records `tl:net:<route>` (request to last byte) and `tl:parse:<route>` measures. */
export async function getJSON(route, params = {}) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) for (const item of v) query.append(k, String(item));
    else if (v !== undefined && v !== null && v !== '') query.set(k, String(v));
  }
  const t0 = performance.now();
  const resp = await fetch(`./${route}?${query}`, {credentials: 'same-origin'});
  const text = await resp.text();
  performance.measure(`tl:net:${route}`, {start: t0, end: performance.now()});
  if (!resp.ok) {
    const err = new Error(text || `${route}: HTTP ${resp.status}`);
    err.status = resp.status;
    throw err;
  }
  return timed(`tl:parse:${route}`, () => JSON.parse(text));
}

/** TensorBoard's JSON writes NaN and infinities as strings; turn them back into numbers. */
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

/** Base64 little-endian float32 (the heatmap's encoding) into a Float32Array. */
export function decodeF32(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}
