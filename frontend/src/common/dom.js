// DOM helpers: the diagram's element tree to SVG nodes, and small HTML builders.
// Text is always a text node (module names are data; never innerHTML).
const SVG_NS = 'http://www.w3.org/2000/svg';

export function toDom(el) {
  if (typeof el === 'string' || typeof el === 'number') return document.createTextNode(String(el));
  const node = document.createElementNS(SVG_NS, el.tag);
  for (const [k, v] of Object.entries(el.attrs)) {
    if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  }
  for (const c of el.children) node.appendChild(toDom(c));
  return node;
}

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

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}
