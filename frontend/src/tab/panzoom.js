// Pan (drag, wheel), zoom (ctrl/pinch + wheel, around the pointer), fit, centre, and a
// minimap for large graphs.
import { toDom } from '../common/dom.js';
import { readableFit, smallestFont, wholeFit } from './fit.js';

export class PanZoom {
  constructor(canvas, minimap) {
    this.canvas = canvas;
    this.minimap = minimap;
    this.t = { x: 0, y: 0, k: 1 };
    this.size = { width: 1, height: 1 };
    this.dragged = false;
    canvas.addEventListener('wheel', (e) => {
      e.preventDefault();
      if (e.ctrlKey || e.metaKey) { // a pinch arrives as ctrl + wheel
        const r = canvas.getBoundingClientRect();
        this.zoomAt(e.clientX - r.left, e.clientY - r.top, Math.exp(-e.deltaY * 0.0015));
      } else { // scroll: a tall diagram lands at a readable width and is read by scrolling
        this.t.x -= e.shiftKey ? e.deltaY : e.deltaX;
        this.t.y -= e.shiftKey ? 0 : e.deltaY;
        this.fitted = null;
        this.apply();
      }
    }, { passive: false });
    let start = null;
    canvas.addEventListener('pointerdown', (e) => {
      start = { x: e.clientX, y: e.clientY, tx: this.t.x, ty: this.t.y };
      this.dragged = false;
    });
    window.addEventListener('pointermove', (e) => {
      if (!start) return;
      const dx = e.clientX - start.x;
      const dy = e.clientY - start.y;
      if (Math.abs(dx) + Math.abs(dy) > 4) this.dragged = true;
      if (this.dragged) { this.t.x = start.tx + dx; this.t.y = start.ty + dy; this.fitted = null; this.apply(); }
    });
    window.addEventListener('pointerup', () => { start = null; setTimeout(() => { this.dragged = false; }, 0); });
    minimap.addEventListener('click', (e) => {
      const r = minimap.getBoundingClientRect();
      const s = this.miniScale();
      this.centerOn({ x: (e.clientX - r.left) / s, y: (e.clientY - r.top) / s, width: 0, height: 0 });
    });
  }

  setContent(svg, el, fit) {
    while (this.canvas.firstChild) this.canvas.removeChild(this.canvas.firstChild);
    this.svg = svg;
    this.size = { width: Number(el.attrs.width), height: Number(el.attrs.height) };
    this.minFont = smallestFont(el);
    svg.removeAttribute('width');
    svg.removeAttribute('height');
    svg.style.width = '100%';
    svg.style.height = '100%';
    this.root = document.createElementNS('http://www.w3.org/2000/svg', 'g');
    // Wrap everything drawn so the transform applies to the whole picture.
    for (const c of [...svg.childNodes]) if (c.nodeName !== 'defs') this.root.appendChild(c);
    svg.appendChild(this.root);
    svg.removeAttribute('viewBox');
    this.canvas.appendChild(svg);
    this.drawMinimap(el);
    if (fit) this.fit(); else this.apply();
  }

  drawMinimap(el) {
    while (this.minimap.firstChild) this.minimap.removeChild(this.minimap.firstChild);
    const big = this.size.height > 900 || this.size.width > 900;
    this.minimap.style.display = big ? 'block' : 'none';
    if (!big) return;
    const mini = toDom(el);
    const s = this.miniScale();
    mini.setAttribute('width', String(this.size.width * s));
    mini.setAttribute('height', String(this.size.height * s));
    this.minimap.appendChild(mini);
    this.lens = document.createElement('div');
    this.lens.className = 'lens';
    this.minimap.appendChild(this.lens);
  }

  miniScale() {
    return Math.min(160 / this.size.width, 220 / this.size.height);
  }

  viewSize() {
    return { width: this.canvas.clientWidth || 800, height: this.canvas.clientHeight || 600 };
  }

  // The landing view: the width at a scale where every label reads (>= 11 px), top first.
  // Returns whether the whole width fits at that scale.
  fit() {
    const f = readableFit(this.size, this.viewSize(), this.minFont);
    this.t = { k: f.k, x: f.x, y: f.y };
    this.fitted = 'readable';
    this.apply();
    return f.fits;
  }

  // The whole drawing in the window.
  fitWhole() {
    const f = wholeFit(this.size, this.viewSize());
    this.t = { k: f.k, x: f.x, y: f.y };
    this.fitted = 'whole';
    this.apply();
  }

  // The "Fit" button: the whole drawing; pressed again, back to the readable view. It always
  // shows something else unless both are the same picture.
  toggleFit() {
    if (this.fitted === 'whole') this.fit();
    else this.fitWhole();
  }

  zoomAt(px, py, factor) {
    const k = Math.max(0.05, Math.min(6, this.t.k * factor));
    this.t.x = px - ((px - this.t.x) * k) / this.t.k;
    this.t.y = py - ((py - this.t.y) * k) / this.t.k;
    this.t.k = k;
    this.fitted = null;
    this.apply();
  }

  centerOn(box) {
    const w = this.canvas.clientWidth || 800;
    const h = this.canvas.clientHeight || 600;
    const cx = box.x + 8 + box.width / 2;
    const cy = box.y + 8 + box.height / 2;
    this.t.k = Math.max(this.t.k, 0.7);
    this.t.x = w / 2 - cx * this.t.k;
    this.t.y = h / 2 - cy * this.t.k;
    this.apply();
  }

  apply() {
    if (this.root) this.root.setAttribute('transform', `translate(${this.t.x},${this.t.y}) scale(${this.t.k})`);
    if (this.lens) {
      const s = this.miniScale();
      const w = this.canvas.clientWidth || 800;
      const h = this.canvas.clientHeight || 600;
      Object.assign(this.lens.style, { left: `${(-this.t.x / this.t.k) * s}px`,
        top: `${(-this.t.y / this.t.k) * s}px`, width: `${(w / this.t.k) * s}px`,
        height: `${(h / this.t.k) * s}px` });
    }
  }
}
