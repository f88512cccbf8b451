// DOM helpers shared by both tabs: HTML and SVG elements built from data with attributes and
// text nodes (module names and messages are data; never innerHTML).
export const SVG_NS = 'http://www.w3.org/2000/svg';

// The diagram library's element tree ({tag, attrs, children}) to SVG nodes.
export function toDom(el) {
  if (typeof el === 'string' || typeof el === 'number') return document.createTextNode(String(el));
  const node = document.createElementNS(SVG_NS, el.tag);
  for (const [k, v] of Object.entries(el.attrs)) {
    if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  }
  for (const c of el.children) node.appendChild(toDom(c));
  return node;
}

// html('div', {class, onclick, hidden, ...}, ...children): an HTML element.
export function html(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k in node && typeof v !== 'string') node[k] = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return node;
}

// Append `<name attrs…>text</name>` (SVG) to `parent` and return it.
export function svgEl(parent, name, attrs = {}, text) {
  const e = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.append(e);
  return e;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}
