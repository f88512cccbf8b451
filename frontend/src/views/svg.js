// Small DOM builders shared by the views: SVG elements and HTML elements, text always as text
// nodes (module names are data, never markup).
const SVG_NS = 'http://www.w3.org/2000/svg';

function fill(node, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return node;
}

export function svg(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function h(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

// Wrap a drawing of size w×h in a scrollable box that fits it to the container's width.
export function stage(container, w, hgt, cls) {
  const root = svg('svg', { class: `archviz-view ${cls}`, xmlns: SVG_NS, width: Math.ceil(w),
    height: Math.ceil(hgt), viewBox: `0 0 ${Math.ceil(w)} ${Math.ceil(hgt)}`,
    'font-family': 'Helvetica, Arial, sans-serif' });
  root.appendChild(svg('rect', { class: 'background', x: 0, y: 0, width: Math.ceil(w), height: Math.ceil(hgt), fill: '#ffffff' }));
  const box = h('div', { class: 'archviz-view-scroll', style: 'overflow:auto;width:100%;height:100%;background:#fff' }, root);
  container.appendChild(box);
  return { root, box };
}

export function message(container, text) {
  const p = h('div', { class: 'archviz-view-message', style: 'padding:24px;color:#475569;font:13px Helvetica,Arial,sans-serif' }, text);
  container.appendChild(p);
  return p;
}
