// SVG elements built from data with setAttribute/textContent (never markup).

export const SVG = 'http://www.w3.org/2000/svg';

/** Append `<name attrs…>text</name>` to `parent` and return it. */
export function el(parent, name, attrs = {}, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  parent.append(e);
  return e;
}
