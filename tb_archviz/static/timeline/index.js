// src/common/api.js
var measurePrefix = null;
function setMeasurePrefix(prefix) {
  measurePrefix = prefix;
}
function timed(name, fn) {
  const t0 = performance.now();
  const out = fn();
  performance.measure(name, { start: t0, end: performance.now() });
  return out;
}
function routeUrl(route, params = {}) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) for (const item of v) query.append(k, String(item));
    else if (v !== void 0 && v !== null && v !== "") query.set(k, String(v));
  }
  const q = query.toString();
  const base = route.startsWith("./") || route.startsWith("../") ? route : `./${route}`;
  return q ? `${base}${base.includes("?") ? "&" : "?"}${q}` : base;
}
async function getJSON(route, params = {}) {
  const name = route.split("?")[0];
  const t0 = performance.now();
  const resp = await fetch(routeUrl(route, params), { credentials: "same-origin" });
  const text = await resp.text();
  if (measurePrefix) performance.measure(`${measurePrefix}:net:${name}`, { start: t0, end: performance.now() });
  if (!resp.ok) {
    const err = new Error(text || `${name}: HTTP ${resp.status}`);
    err.status = resp.status;
    throw err;
  }
  return measurePrefix ? timed(`${measurePrefix}:parse:${name}`, () => JSON.parse(text)) : JSON.parse(text);
}
function num(v) {
  if (typeof v === "number") return v;
  if (v === "NaN") return NaN;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  return v === null || v === void 0 ? NaN : Number(v);
}
function nums(list) {
  return Float64Array.from(list || [], num);
}
function decodeF32(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

// src/timeline/format.js
var VOCAB = { stats: {}, kinds: {} };
function setVocabulary(vocab) {
  if (vocab && vocab.stats && vocab.kinds) VOCAB = vocab;
}
function statInfo(stat, kind) {
  const fams = kind && VOCAB.stats[kind] ? [VOCAB.stats[kind]] : Object.values(VOCAB.stats);
  for (const fam of fams) {
    if (fam.stats[stat]) return fam.stats[stat];
  }
  return null;
}
function statLabel(stat, kind) {
  const info = statInfo(stat, kind);
  return info ? info.label : String(stat).replaceAll("_", " ");
}
function kindLabel(kind) {
  return VOCAB.stats[kind] && VOCAB.stats[kind].label || kind;
}
function orderedStats(kind, available) {
  const rank = (s) => {
    const info = statInfo(s, kind);
    return info && info.show > 0 ? info.show : 1e3;
  };
  return [...available].sort((a, b) => rank(a) - rank(b));
}
function featuredStats(kind, available) {
  return orderedStats(kind, available).filter((s) => {
    const info = statInfo(s, kind);
    return info && info.show > 0;
  });
}
function defaultStat(kind, available) {
  return orderedStats(kind, available)[0];
}
var GLYPHS = {
  non_finite: ["✖", "#d0021b"],
  exploding_gradients: ["▲", "#e8590c"],
  vanishing_gradients: ["▼", "#1971c2"],
  dead_units: ["●", "#495057"],
  saturated_activations: ["◆", "#9c36b5"],
  update_ratio_high: ["⇑", "#e8590c"],
  update_ratio_low: ["⇓", "#1971c2"],
  no_gradient: ["○", "#495057"],
  loss_plateau: ["▬", "#f08c00"],
  loss_divergence: ["↗", "#d0021b"],
  bad_input: ["■", "#c92a2a"],
  overfitting: ["⤴", "#e8590c"],
  training_stalled: ["▬", "#1971c2"],
  wrong_mode: ["◐", "#c92a2a"],
  symmetric_units: ["≡", "#c92a2a"],
  loss_output_mismatch: ["≠", "#d0021b"],
  precision: ["◍", "#d0021b"],
  layer_outlier: ["✱", "#e8590c"],
  redundant_bias: ["·", "#868e96"],
  gradient_accumulation: ["Σ", "#e8590c"],
  frozen_layer: ["❄", "#1971c2"],
  bad_target: ["◎", "#c92a2a"],
  vanishing_through_depth: ["▽", "#1971c2"]
};
function glyph(kind) {
  return GLYPHS[kind] || ["◇", "#343a40"];
}
function kindWords(kind) {
  const info = VOCAB.kinds[kind];
  return info ? info.label : String(kind).replaceAll("_", " ");
}
function fmtValue(v) {
  if (typeof v === "string") v = Number(v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v);
  if (v === null || v === void 0) return "—";
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}
function fmtStep(s) {
  return Number(s).toLocaleString("en-US");
}
function firstSentence(text) {
  if (!text) return "";
  const m = String(text).match(/^.*?[.!?](\s|$)/);
  return (m ? m[0] : String(text)).trim();
}

// src/common/runs.js
function byTrouble(a, b) {
  const nf = (r) => r.first && r.first.kind === "non_finite" ? 1 : 0;
  const counts = (r) => r.counts || { error: 0, warning: 0 };
  return nf(b) - nf(a) || counts(b).error - counts(a).error || counts(b).warning - counts(a).warning || a.run.localeCompare(b.run);
}
function landingRun(names, remembered, health = []) {
  if (remembered && names.includes(remembered)) return remembered;
  const worst = [...health].filter((r) => names.includes(r.run)).sort(byTrouble)[0];
  if (worst) return worst.run;
  return names.length ? names[0] : null;
}

// src/timeline/sentences.js
var WHEN_CLAUSE = / (?:since step -?[\d,]+(?: \(still at step -?[\d,]+\))?|at step -?[\d,]+|from step -?[\d,]+ to step -?[\d,]+)\.?$/;
function finiteStep(v) {
  return v !== null && v !== void 0 && Number.isFinite(Number(v));
}
function stillGoing(last, runEnd) {
  if (!finiteStep(runEnd)) return true;
  return Number(runEnd) - last <= Math.max(10, 0.02 * Number(runEnd));
}
function whenClause(a, runEnd) {
  const first = Number(a.first_step);
  const last = finiteStep(a.last_step) ? Number(a.last_step) : first;
  if (last <= first) return `at step ${fmtStep(first)}`;
  const ongoing = stillGoing(last, runEnd);
  return ongoing ? `since step ${fmtStep(first)} (still at step ${fmtStep(last)})` : `from step ${fmtStep(first)} to step ${fmtStep(last)}`;
}
function whereClause(a) {
  if (a.layer) return `in ${a.layer}`;
  if (a.tag) return `in ${a.tag}`;
  return "in the whole run";
}
function capitalised(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}
function anomalySentence(a, runEnd) {
  return `${capitalised(kindWords(a.kind))} ${whereClause(a)} ${whenClause(a, runEnd)}.`;
}
function anomalyMessage(a, runEnd) {
  const text = String(a.message || "").trim();
  if (!text) return anomalySentence(a, runEnd);
  const what = text.replace(WHEN_CLAUSE, "").replace(/[.;:,\s]+$/, "");
  return `${what} ${whenClause(a, runEnd)}.`;
}

// src/timeline/anomalies.js
function div(cls, text) {
  const d = document.createElement("div");
  if (cls) d.className = cls;
  if (text !== void 0) d.textContent = text;
  return d;
}
function span(cls, text) {
  const s = document.createElement("span");
  if (cls) s.className = cls;
  s.textContent = text;
  return s;
}
function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
function renderSummary(container, runs, selected, onPick, unread = {}) {
  container.replaceChildren();
  const ordered = [...runs].sort(byTrouble);
  for (const [run, messages] of Object.entries(unread || {})) {
    if (runs.some((r) => r.run === run)) continue;
    const line = div("summary-line warn unreadable");
    line.append(span("run-name", run), document.createTextNode(": could not be read: " + messages.join(" · ")));
    container.append(line);
  }
  if (!ordered.length) {
    container.append(div("summary-line", "No runs with training data yet. Start training with ArchVizCallback (or log a loss) and this page fills in by itself."));
    return;
  }
  for (const r of ordered) {
    const skipped = (unread || {})[r.run] || [];
    const line = div(`summary-line ${r.counts.error ? "bad" : r.counts.warning || skipped.length ? "warn" : "ok"}${r.run === selected ? " selected" : ""}`);
    line.dataset.run = r.run;
    line.append(span("run-name", r.run), document.createTextNode(": "));
    const problems = [];
    if (r.counts.error) problems.push(plural(r.counts.error, "error"));
    if (r.counts.warning) problems.push(plural(r.counts.warning, "warning"));
    if (!problems.length) {
      line.append(document.createTextNode(
        `no problems found${skipped.length ? " in what could be read" : ""}${r.max_step !== null ? ` up to step ${fmtStep(r.max_step)}` : ""}${r.health ? "." : " (only ordinary scalars logged: loss checks only)."}`
      ));
    } else {
      const f = r.first;
      line.append(span("counts", problems.join(", ")));
      if (f) {
        line.append(document.createTextNode(
          ` — first ${kindWords(f.kind)} at step ${fmtStep(f.first_step)} ${whereClause(f)}.`
        ));
        const e = r.earliest;
        if (e && e.first_step < f.first_step) {
          line.append(document.createTextNode(
            ` It started earlier: ${kindWords(e.kind)} at step ${fmtStep(e.first_step)} ${whereClause(e)}.`
          ));
        }
        if (f.remedy) line.append(span("try", ` Try: ${firstSentence(f.remedy)}`));
      }
    }
    if (skipped.length) {
      line.append(div("unreadable", `Not everything could be read: ${skipped.join(" · ")}`));
    }
    line.addEventListener("click", () => onPick(r.run));
    container.append(line);
  }
}
function renderAnomalyList(container, items, selectedKey, onPick, runEnds = {}) {
  container.replaceChildren();
  if (!items.length) {
    container.append(div("empty", "No anomalies: nothing looks wrong in this run so far."));
    return;
  }
  for (const a of items) {
    const [ch, colour] = glyph(a.kind);
    const item = div(`anomaly sev-${a.severity || "info"}${a.pinned ? " pinned" : ""}`);
    item.dataset.kind = a.kind;
    item.dataset.layer = a.layer || "";
    item.tabIndex = 0;
    if (selectedKey && selectedKey === keyOf(a)) item.classList.add("selected");
    const head = div("anomaly-head");
    const g = span("glyph", ch);
    g.style.color = colour;
    head.append(g, span("kind", kindWords(a.kind)), span(`sev ${a.severity}`, a.severity || "info"));
    if (a.pinned) head.append(span("pin", "first NaN/Inf"));
    if (a.compare) head.append(span("run-chip", a.run));
    item.append(head);
    const meta = div("anomaly-meta");
    const steps = whenClause(a, runEnds[a.run]);
    meta.append(span("layer", a.layer || a.tag || "whole run"), span("steps", steps));
    if (a.value !== void 0 && a.value !== null) {
      const thr = a.threshold !== void 0 && a.threshold !== null ? ` (threshold ${fmtValue(a.threshold)})` : "";
      meta.append(span("value", `${a.stat ? a.stat + " " : ""}${fmtValue(a.value)}${thr}`));
    }
    item.append(meta);
    if (a.message) item.append(div("message", anomalyMessage(a, runEnds[a.run])));
    if (a.remedy) {
      const rem = div("remedy");
      rem.append(span("remedy-label", "What to try: "), document.createTextNode(a.remedy));
      item.append(rem);
    }
    const pick = () => onPick(a);
    item.addEventListener("click", pick);
    item.addEventListener("keydown", (e) => {
      if (e.key === "Enter") pick();
    });
    container.append(item);
  }
}
function keyOf(a) {
  return [a.run, a.kind, a.layer, a.tag, a.first_step].join("|");
}

// src/common/dom.js
var SVG_NS = "http://www.w3.org/2000/svg";
function html(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === void 0 || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k in node && typeof v !== "string") node[k] = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === void 0 || c === false) continue;
    node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return node;
}
function svgEl(parent, name, attrs = {}, text) {
  const e = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== void 0) e.textContent = text;
  if (parent) parent.append(e);
  return e;
}

// src/timeline/curves.js
var PANELS = [
  { title: "loss", names: ["loss", "val_loss"], colours: ["#1c7ed6", "#f76707"] },
  { title: "total gradient norm", names: ["grad_norm"], colours: ["#2b8a3e"] },
  { title: "learning rate", names: ["lr"], colours: ["#862e9c"] }
];
var PANEL_H = 74;
function makeAxis(width, left, s0, s1) {
  const right = 12;
  const span2 = Math.max(1, s1 - s0);
  const inner = Math.max(10, width - left - right);
  return {
    width,
    left,
    s0,
    s1,
    pxPerStep: inner / span2,
    x: (s) => left + (s - s0) / span2 * inner,
    stepAt: (px) => s0 + (px - left) / inner * span2
  };
}
function drawStepAxis(svg2, axis) {
  svg2.replaceChildren();
  svg2.setAttribute("width", axis.width);
  svg2.setAttribute("height", 22);
  svgEl(svg2, "line", { x1: axis.left, x2: axis.x(axis.s1), y1: 2, y2: 2, stroke: "#adb5bd" });
  const n = Math.max(2, Math.floor((axis.width - axis.left) / 110));
  const raw = (axis.s1 - axis.s0) / n;
  const mag = 10 ** Math.floor(Math.log10(Math.max(1, raw)));
  const stride = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  for (let s = Math.ceil(axis.s0 / stride) * stride; s <= axis.s1; s += stride) {
    const x = axis.x(s);
    svgEl(svg2, "line", { x1: x, x2: x, y1: 2, y2: 6, stroke: "#868e96" });
    svgEl(svg2, "text", { x, y: 17, "text-anchor": "middle", class: "tick" }, fmtStep(s));
  }
  svgEl(svg2, "text", { x: axis.left - 8, y: 17, "text-anchor": "end", class: "tick" }, "step");
}
function yScale(series, top, bottom) {
  let lo = Infinity, hi = -Infinity, pos = Infinity;
  for (const s of series) {
    for (const arr of [s.min, s.max]) {
      for (const v of arr) {
        if (Number.isFinite(v)) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
          if (v > 0) pos = Math.min(pos, v);
        }
      }
    }
  }
  if (!Number.isFinite(lo)) return null;
  const log = lo > 0 && hi / pos > 100;
  const f = log ? Math.log10 : (v) => v;
  let a = f(log ? pos : lo), b = f(hi);
  const constant = a === b;
  if (constant) {
    const pad = Math.abs(a) / 2 || 1;
    a -= pad;
    b += pad;
  }
  const span2 = b - a;
  const y = (v) => bottom - (f(Math.max(v, log ? pos : -Infinity)) - a) / span2 * (bottom - top);
  return { y, log, lo: log ? pos : lo, hi, constant };
}
function valueLabels(ys) {
  const hi = `${fmtValue(ys.hi)}${ys.log ? " (log scale)" : ""}`;
  if (ys.constant || fmtValue(ys.lo) === fmtValue(ys.hi)) return [{ text: `${fmtValue(ys.hi)} (constant)`, at: "top" }];
  return [{ text: hi, at: "top" }, { text: fmtValue(ys.lo), at: "bottom" }];
}
function drawCurves(svg2, axis, runs, anomalies, step, runEnd) {
  svg2.replaceChildren();
  const height = PANELS.length * PANEL_H;
  svg2.setAttribute("width", axis.width);
  svg2.setAttribute("height", height);
  PANELS.forEach((panel, p) => {
    const top = p * PANEL_H + 14, bottom = (p + 1) * PANEL_H - 6;
    const series = [];
    for (const r of runs) {
      panel.names.forEach((name, i) => {
        const c = r.curves.find((cc) => cc.name === name);
        if (c) {
          series.push({
            run: r.run,
            name,
            dashed: r.dashed,
            colour: panel.colours[i],
            step: nums(c.step),
            min: nums(c.min),
            max: nums(c.max),
            source: c.source
          });
        }
      });
    }
    svgEl(svg2, "rect", {
      x: axis.left,
      y: top,
      width: axis.x(axis.s1) - axis.left,
      height: bottom - top,
      fill: "#fcfcfd",
      stroke: "#e9ecef"
    });
    const label = svgEl(svg2, "text", {
      x: axis.left - 8,
      y: top + 10,
      "text-anchor": "end",
      class: "panel-title"
    }, panel.title);
    const ys = yScale(series, top + 2, bottom - 2);
    if (!ys) {
      const text = panelNote(series);
      svgEl(svg2, "text", {
        x: axis.left + 8,
        y: (top + bottom) / 2 + 4,
        class: series.length ? "panel-note nonfinite" : "muted"
      }, text);
      for (const s of series) drawSeries(svg2, axis, null, s, top);
      return;
    }
    for (const label2 of valueLabels(ys)) {
      svgEl(svg2, "text", {
        x: axis.left + 4,
        y: label2.at === "top" ? top + 10 : bottom - 3,
        class: "tick value-label"
      }, label2.text);
    }
    series.forEach((s, i) => {
      drawSeries(svg2, axis, ys, s, top);
      const name = `${s.name === "val_loss" ? "val" : s.name === "loss" ? "train" : "value"}${runs.length > 1 ? ` · ${s.run}` : ""}`;
      const ly = top + 24 + i * 12;
      if (ly > bottom + 4) return;
      svgEl(svg2, "line", {
        x1: axis.left - 30,
        x2: axis.left - 10,
        y1: ly - 3,
        y2: ly - 3,
        stroke: s.colour,
        "stroke-width": 2,
        "stroke-dasharray": s.dashed ? "4 3" : "none"
      });
      svgEl(svg2, "text", { x: axis.left - 34, y: ly, "text-anchor": "end", class: "tick" }, name);
    });
    label.setAttribute("data-series", series.map((s) => s.name).join(","));
    if (p === 0) {
      for (const a of anomalies.filter((an) => !an.layer)) {
        const [ch, colour] = glyph(a.kind);
        const x = axis.x(a.first_step);
        svgEl(svg2, "line", {
          x1: x,
          x2: x,
          y1: top,
          y2: bottom,
          stroke: colour,
          "stroke-dasharray": "3 2"
        });
        const t = svgEl(svg2, "text", {
          x,
          y: bottom - 3,
          "text-anchor": "middle",
          fill: colour,
          class: "glyph"
        }, ch);
        svgEl(t, "title", {}, anomalySentence(a, runEnd));
      }
    }
  });
  const nf = anomalies.find((a) => a.kind === "non_finite");
  if (nf) {
    const x = axis.x(nf.first_step);
    svgEl(svg2, "line", { x1: x, x2: x, y1: 0, y2: height, stroke: "#d0021b", "stroke-width": 1.5 });
    svgEl(
      svg2,
      "text",
      { x: x + 4, y: 10, fill: "#d0021b", class: "tick" },
      `first NaN/Inf · step ${fmtStep(nf.first_step)}`
    );
  }
  if (step !== null && step !== void 0) {
    const x = axis.x(step);
    svgEl(svg2, "line", { x1: x, x2: x, y1: 0, y2: height, stroke: "#000", "stroke-dasharray": "4 3" });
  }
}
function panelNote(series) {
  if (!series.length) return "not logged in this run";
  const names = series.map((s) => s.name).join(", ");
  return `every logged value is NaN/Inf (${names}): red marks show where`;
}
function seriesGeometry(axis, ys, s) {
  const n = s.step.length;
  let band = "", line = "";
  let open = false;
  const bands = [], nonfinite = [];
  let lower = [];
  const flush = () => {
    if (lower.length) bands.push(band + " L" + lower.reverse().join(" L") + " Z");
    band = "";
    lower = [];
  };
  for (let i = 0; i < n; i++) {
    const x = axis.x(s.step[i]).toFixed(1);
    const hi = s.max[i], lo = s.min[i];
    if (!ys || !Number.isFinite(hi) || !Number.isFinite(lo)) {
      open = false;
      flush();
      nonfinite.push(Number(x));
      continue;
    }
    const yh = ys.y(hi).toFixed(1), yl = ys.y(lo).toFixed(1);
    line += `${open ? " L" : " M"}${x},${yh}`;
    band += `${band ? " L" : "M"}${x},${yh}`;
    lower.push(`${x},${yl}`);
    open = true;
  }
  flush();
  return { bands, line: line.trim(), nonfinite };
}
function drawSeries(svg2, axis, ys, s, top) {
  const g = seriesGeometry(axis, ys, s);
  for (const x of g.nonfinite) {
    svgEl(svg2, "line", { x1: x, x2: x, y1: top, y2: top + 6, stroke: "#d0021b", "stroke-width": 2 });
  }
  for (const d of g.bands) {
    svgEl(svg2, "path", { d, fill: s.colour, "fill-opacity": 0.18, stroke: "none" });
  }
  if (g.line) {
    svgEl(svg2, "path", {
      d: g.line,
      fill: "none",
      stroke: s.colour,
      "stroke-width": 1.4,
      "stroke-dasharray": s.dashed ? "5 3" : "none",
      class: `curve curve-${s.name}`
    });
  }
}

// src/timeline/scale.js
var RAMP = [
  [13, 8, 135],
  [84, 2, 163],
  [139, 10, 165],
  [185, 50, 137],
  [219, 92, 104],
  [244, 136, 73],
  [254, 188, 43],
  [240, 249, 33]
];
var DIVERGING = [
  [33, 102, 172],
  [103, 169, 207],
  [209, 229, 240],
  [247, 247, 247],
  [253, 219, 199],
  [239, 138, 98],
  [178, 24, 43]
];
var NONFINITE_RGB = [255, 0, 153];
var EMPTY_RGB = [233, 236, 239];
function ramp(stops, t) {
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i], b = stops[i + 1];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}
function makeScale(lo, hi, posMin) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    return {
      kind: "empty",
      rgb: (v) => Number.isNaN(v) || !Number.isFinite(v) ? NONFINITE_RGB : EMPTY_RGB,
      ticks: [],
      lo: 0,
      hi: 1,
      toT: () => 0
    };
  }
  let scale;
  if (lo < 0 && hi > 0) {
    const m = Math.max(-lo, hi);
    scale = { kind: "diverging", lo: -m, hi: m, toT: (v) => (v + m) / (2 * m), stops: DIVERGING };
  } else if (lo >= 0 && posMin > 0 && hi / posMin > 100) {
    const a = Math.log10(posMin), b = Math.log10(hi);
    scale = {
      kind: "log",
      lo: posMin,
      hi,
      toT: (v) => v <= 0 ? 0 : (Math.log10(v) - a) / (b - a || 1),
      stops: RAMP
    };
  } else {
    const span2 = hi - lo || 1;
    scale = { kind: "linear", lo, hi, toT: (v) => (v - lo) / span2, stops: RAMP };
  }
  scale.rgb = (v) => Number.isNaN(v) || !Number.isFinite(v) ? NONFINITE_RGB : ramp(scale.stops, scale.toT(v));
  scale.ramp = (t) => ramp(scale.stops, t);
  scale.ticks = ticks(scale);
  return scale;
}
function ticks(scale) {
  if (scale.kind === "log") {
    const out = [];
    for (let e = Math.ceil(Math.log10(scale.lo)); e <= Math.floor(Math.log10(scale.hi)); e++) {
      out.push(10 ** e);
    }
    if (out.length > 6) {
      const stride = Math.ceil(out.length / 6);
      return out.filter((_, i) => i % stride === 0);
    }
    return out.length ? out : [scale.lo, scale.hi];
  }
  const n = 4;
  return Array.from({ length: n + 1 }, (_, i) => scale.lo + (scale.hi - scale.lo) * i / n);
}

// src/timeline/heatmap.js
function buildTree(rows) {
  const root = { path: "", label: "", children: [], rows: [], depth: -1 };
  const nodes = /* @__PURE__ */ new Map([["", root]]);
  rows.forEach((name, i) => {
    const parts = name.split(".");
    let parent = root;
    for (let d = 0; d < parts.length - 1; d++) {
      const path = parts.slice(0, d + 1).join(".");
      let node = nodes.get(path);
      if (!node) {
        node = { path, label: parts[d], children: [], rows: [], depth: d };
        nodes.set(path, node);
        parent.children.push(node);
      }
      parent = node;
    }
    parent.children.push({ row: i, label: parts[parts.length - 1], depth: parts.length - 1 });
  });
  const collect = (node) => {
    for (const c of node.children) {
      if (c.row !== void 0) node.rows.push(c.row);
      else node.rows.push(...collect(c));
    }
    return node.rows;
  };
  collect(root);
  const squash = (node) => {
    node.children = node.children.map((c) => {
      if (c.row !== void 0) return c;
      while (c.children.length === 1 && c.children[0].row === void 0) {
        const only = c.children[0];
        c = { ...only, label: `${c.label}.${only.label}`, depth: c.depth };
      }
      squash(c);
      return c;
    });
  };
  squash(root);
  return root;
}
function visibleLines(tree, collapsed) {
  const out = [];
  const walk = (node) => {
    for (const c of node.children) {
      if (c.row !== void 0) {
        out.push({ label: c.label, depth: c.depth, rows: [c.row], group: null });
      } else {
        const folded = collapsed.has(c.path);
        out.push({ label: c.label, depth: c.depth, rows: c.rows, group: c, folded });
        if (!folded) walk(c);
      }
    }
  };
  walk(tree);
  return out;
}
function rowHeight(n) {
  return n > 80 ? 9 : n > 40 ? 12 : 16;
}
var Heatmap = class {
  constructor(container, { onSelect, onScrub, onFold }) {
    this.onSelect = onSelect;
    this.onFold = onFold;
    this.onScrub = onScrub;
    this.wrap = document.createElement("div");
    this.wrap.className = "hm-wrap";
    this.canvas = document.createElement("canvas");
    this.canvas.className = "hm-canvas";
    this.tooltip = document.createElement("div");
    this.tooltip.className = "tooltip";
    this.tooltip.hidden = true;
    this.legend = document.createElementNS(SVG_NS, "svg");
    this.legend.setAttribute("class", "legend");
    this.wrap.append(this.canvas, this.tooltip);
    container.append(this.legend, this.wrap);
    this.collapsed = /* @__PURE__ */ new Set();
    this.treeKey = null;
    this.anomalies = [];
    this.step = null;
    this.selectedLayer = null;
    this.canvas.addEventListener("mousemove", (e) => this._hover(e));
    this.canvas.addEventListener("mouseleave", () => {
      this.tooltip.hidden = true;
    });
    this.canvas.addEventListener("click", (e) => this._click(e));
  }
  setData(data) {
    this.data = data;
    this.cols = data.first_step.length;
    this.nrows = data.rows.length;
    this.max = timed("tl:decode", () => decodeF32(data.max));
    this.min = data.min ? decodeF32(data.min) : null;
    const key = data.rows.join("\n");
    if (key !== this.treeKey) {
      this.treeKey = key;
      this.tree = buildTree(data.rows);
    }
    this.collapsed = new Set(data.folded || []);
    this.lineIndex = new Map(data.lines.map((l, i) => [l.group === void 0 ? `r${l.row}` : `g${l.group}`, i]));
    timed("tl:scale", () => {
      this.scale = makeScale(num(data.finite_min), num(data.finite_max), num(data.positive_min));
      this._drawLegend();
    });
    timed("tl:layout", () => this._layout());
  }
  /** The minimum plane of the same request (planes=min), for the tooltip. */
  setMin(data) {
    if (!this.data || data.min === void 0 || data.lines.length !== this.data.lines.length || data.first_step.length !== this.cols || data.stat !== this.data.stat || data.kind !== this.data.kind || data.run !== this.data.run || (data.folded || []).join("\n") !== (this.data.folded || []).join("\n")) return;
    this.min = decodeF32(data.min);
    this._layout();
  }
  setAnomalies(anomalies, runEnd) {
    this.anomalies = anomalies || [];
    this.runEnd = runEnd;
  }
  setAxis(axis) {
    this.axis = axis;
  }
  setStep(step) {
    this.step = step;
  }
  setSelectedLayer(layer) {
    this.selectedLayer = layer;
  }
  _lines() {
    return visibleLines(this.tree, this.collapsed);
  }
  _layout() {
    this.lines = this._lines();
    const C = this.cols, L = this.data.lines.length;
    for (const line of this.lines) {
      const li = this.lineIndex.get(line.group ? `g${line.group.path}` : `r${line.rows[0]}`);
      const mx = new Float32Array(C).fill(-Infinity);
      const mn = this.min ? new Float32Array(C).fill(NaN) : null;
      if (li !== void 0) {
        for (let c = 0; c < C; c++) mx[c] = this.max[c * L + li];
        if (mn) for (let c = 0; c < C; c++) mn[c] = this.min[c * L + li];
      }
      line.max = mx;
      line.min = mn;
      line.layers = new Set(line.rows.map((r) => this.data.layers[r]));
      line.names = line.rows.map((r) => this.data.rows[r]);
    }
    this.rowH = rowHeight(this.lines.length);
  }
  _markers() {
    const out = [];
    for (const a of this.anomalies) {
      if (!a.layer) continue;
      let best = -1, bestScore = -1;
      this.lines.forEach((line, i) => {
        let score = -1;
        if (line.group === null && line.layers.has(a.layer)) score = 3;
        else if (line.group && line.folded && line.layers.has(a.layer)) score = 2;
        else if (line.group && line.folded && a.layer.startsWith(line.group.path + ".")) score = 1;
        else if (line.group && line.group.path && a.layer.startsWith(line.group.path + ".") && !line.layers.has(a.layer)) score = 0.5 + line.group.path.length / 1e4;
        if (score > bestScore) {
          best = i;
          bestScore = score;
        }
      });
      if (best >= 0) out.push({ line: best, a });
    }
    return out;
  }
  draw() {
    if (!this.data || !this.axis) return;
    timed("tl:draw", () => this._draw());
    if (!this.painted) {
      this.painted = true;
      performance.mark("tl:first-heatmap-paint");
    }
  }
  _draw() {
    const ax = this.axis;
    const dpr = window.devicePixelRatio || 1;
    const W = ax.width, H = Math.max(this.lines.length * this.rowH, 20);
    const Wd = Math.round(W * dpr), Hd = Math.round(H * dpr);
    this.canvas.width = Wd;
    this.canvas.height = Hd;
    this.canvas.style.width = `${W}px`;
    this.canvas.style.height = `${H}px`;
    const g = this.canvas.getContext("2d");
    const first = this.data.first_step, last = this.data.last_step;
    const xs = new Int32Array(this.cols + 1);
    for (let c = 0; c < this.cols; c++) xs[c] = Math.round(ax.x(first[c]) * dpr);
    xs[this.cols] = this.cols ? Math.round((ax.x(last[this.cols - 1]) + Math.max(2, ax.pxPerStep || 0)) * dpr) : 0;
    const img = g.createImageData(Wd, Hd);
    const px = new Uint32Array(img.data.buffer);
    const pack = (rgb) => (255 << 24 | (rgb[2] | 0) << 16 | (rgb[1] | 0) << 8 | (rgb[0] | 0)) >>> 0;
    px.fill(pack([255, 255, 255]));
    const groupBg = pack([241, 243, 245]);
    const empty = pack(EMPTY_RGB);
    const left = Math.round(ax.left * dpr);
    const line = new Uint32Array(Wd);
    const rh = this.rowH;
    const val = new Float32Array(Wd);
    const has = new Uint8Array(Wd);
    this.lines.forEach((ln, i) => {
      const open = ln.group && !ln.folded;
      line.fill(open ? groupBg : pack([255, 255, 255]));
      has.fill(0);
      for (let c = 0; c < this.cols; c++) {
        const v = ln.max[c];
        const x0 = Math.max(left, xs[c]), x1 = Math.min(Wd, Math.max(xs[c + 1], x0 + 1));
        for (let x = x0; x < x1; x++) {
          const cur = val[x];
          if (!has[x] || Number.isNaN(v) || !Number.isNaN(cur) && v > cur) {
            val[x] = v;
            has[x] = 1;
          }
        }
      }
      let prev = NaN, prevColour = 0, prevSet = false;
      for (let x = left; x < Wd; x++) {
        if (!has[x]) continue;
        const v = val[x];
        if (!prevSet || !(v === prev || Number.isNaN(v) && Number.isNaN(prev))) {
          prevColour = v === -Infinity ? empty : pack(this.scale.rgb(v));
          prev = v;
          prevSet = true;
        }
        line[x] = prevColour;
      }
      const inset = open ? 3 : 0.5;
      const y0 = Math.round((i * rh + inset) * dpr), y1 = Math.round(((i + 1) * rh - inset) * dpr);
      if (open) {
        const band = new Uint32Array(Wd).fill(pack([255, 255, 255]));
        band.fill(groupBg, left, Wd);
        for (let y = Math.round(i * rh * dpr); y < Math.round((i + 1) * rh * dpr); y++) {
          px.set(band, y * Wd);
        }
      }
      for (let y = y0; y < y1 && y < Hd; y++) px.set(line, y * Wd);
    });
    g.putImageData(img, 0, 0);
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.lines.forEach((line2, i) => {
      const y = i * rh;
      const selected = this.selectedLayer && line2.layers.has(this.selectedLayer) && !line2.group;
      g.fillStyle = selected ? "#e7f5ff" : "#ffffff";
      g.fillRect(0, y, ax.left - 4, rh);
      g.fillStyle = line2.group ? "#212529" : "#343a40";
      g.font = `${line2.group ? "600 " : ""}${rh > 13 ? 12 : rh > 10 ? 10 : 8}px system-ui, sans-serif`;
      g.textBaseline = "middle";
      const indent = 4 + Math.min(line2.depth, 8) * 10;
      const text = line2.group ? `${line2.folded ? "▸" : "▾"} ${line2.label} (${line2.rows.length})` : line2.label;
      g.fillText(text, indent, y + rh / 2, ax.left - indent - 8);
    });
    for (const { line: line2, a } of this._markers()) {
      const [ch, colour] = glyph(a.kind);
      const y = line2 * rh;
      const x0 = ax.x(a.first_step), x1 = ax.x(a.last_step ?? a.first_step);
      g.fillStyle = colour;
      g.fillRect(x0, y + rh - 3, Math.max(2, x1 - x0), 2);
      g.font = `bold ${rh - 2}px system-ui, sans-serif`;
      g.textAlign = "center";
      g.lineWidth = 3;
      g.strokeStyle = "#ffffff";
      g.strokeText(ch, x0, y + rh / 2);
      g.fillText(ch, x0, y + rh / 2);
      g.textAlign = "start";
    }
    if (this.step !== null && this.step !== void 0) {
      const x = ax.x(this.step);
      g.strokeStyle = "#000000";
      g.lineWidth = 1;
      g.setLineDash([4, 3]);
      g.beginPath();
      g.moveTo(x + 0.5, 0);
      g.lineTo(x + 0.5, H);
      g.stroke();
      g.setLineDash([]);
    }
  }
  _drawLegend() {
    const svg2 = this.legend;
    svg2.replaceChildren();
    const W = 420, H = 38;
    svg2.setAttribute("width", W + 20);
    svg2.setAttribute("height", H);
    const s = this.scale;
    const add = (name, attrs, text) => svgEl(svg2, name, attrs, text);
    const title = s.kind === "empty" ? `${statLabel(this.data.stat, this.data.kind)}: no finite value in this run` : `${statLabel(this.data.stat, this.data.kind)} (${s.kind === "log" ? "log scale" : s.kind === "diverging" ? "signed" : "linear"}, bucket maximum)`;
    const x0 = 14, w = 230, y = 16;
    add("text", { x: x0, y: 11, class: "legend-title" }, title);
    for (let i = 0; i < 60; i++) {
      const rgb = s.ramp ? s.ramp(i / 59) : EMPTY_RGB;
      add("rect", {
        x: x0 + w * i / 60,
        y,
        width: w / 60 + 0.5,
        height: 10,
        fill: `rgb(${rgb.map((v) => v | 0).join(",")})`
      });
    }
    for (const t of s.ticks) {
      const tx = x0 + w * Math.min(1, Math.max(0, s.toT(t)));
      add("line", { x1: tx, x2: tx, y1: y + 10, y2: y + 13, stroke: "#495057" });
      add("text", { x: tx, y: y + 21, class: "legend-tick", "text-anchor": "middle" }, fmtValue(t));
    }
    add("rect", {
      x: 262,
      y,
      width: 12,
      height: 10,
      fill: `rgb(${NONFINITE_RGB.join(",")})`
    });
    add("text", { x: 278, y: y + 9, class: "legend-tick" }, "NaN / Inf");
    add("rect", {
      x: 340,
      y,
      width: 12,
      height: 10,
      fill: `rgb(${EMPTY_RGB.join(",")})`,
      stroke: "#ced4da"
    });
    add("text", { x: 356, y: y + 9, class: "legend-tick" }, "no data");
  }
  _pick(e) {
    const rect = this.canvas.getBoundingClientRect();
    const x = e.clientX - rect.left, y = e.clientY - rect.top;
    const line = Math.floor(y / this.rowH);
    if (!this.lines || line < 0 || line >= this.lines.length) return null;
    let col = -1;
    if (x >= this.axis.left) {
      const step = this.axis.stepAt(x);
      const first = this.data.first_step;
      let lo = 0, hi = this.cols - 1;
      while (lo < hi) {
        const mid = lo + hi + 1 >> 1;
        if (first[mid] <= step) lo = mid;
        else hi = mid - 1;
      }
      col = lo;
    }
    return { x, y, line, col };
  }
  _hover(e) {
    const p = this._pick(e);
    if (!p) {
      this.tooltip.hidden = true;
      return;
    }
    const line = this.lines[p.line];
    const tip = this.tooltip;
    tip.replaceChildren();
    const add = (cls, text) => {
      const d = document.createElement("div");
      d.className = cls;
      d.textContent = text;
      tip.append(d);
      return d;
    };
    add("tt-title", line.group ? `${line.group.path} (${line.rows.length} rows)` : line.names[0]);
    if (!line.group && line.layers.size) add("tt-sub", `module ${[...line.layers][0]}`);
    if (p.col >= 0) {
      const c = p.col;
      const a = this.data.first_step[c], b = this.data.last_step[c];
      add("tt-sub", a === b ? `step ${fmtStep(a)}` : `steps ${fmtStep(a)}–${fmtStep(b)}`);
      const mx = line.max[c];
      add("tt-val", `${statLabel(this.data.stat, this.data.kind)}: max ${mx === -Infinity ? "—" : fmtValue(mx)}, min ${line.min ? fmtValue(line.min[c]) : "…"}`);
      for (const { line: li, a: an } of this._markers()) {
        if (li === p.line && Math.abs(this.axis.x(an.first_step) - p.x) < 8) {
          add("tt-anomaly", `${glyph(an.kind)[0]} ${anomalyMessage(an, this.runEnd)}`);
        }
      }
      add("tt-hint", line.group && line.folded ? "click to unfold" : "click to open this layer");
    } else if (line.group) {
      add("tt-hint", line.folded ? "click to unfold" : "click to fold");
    }
    tip.hidden = false;
    const wrapW = this.wrap.clientWidth;
    const left = p.x + 16 + 280 > wrapW ? Math.max(0, p.x - 296) : p.x + 16;
    tip.style.left = `${left}px`;
    tip.style.top = `${p.y + 12}px`;
  }
  _click(e) {
    const p = this._pick(e);
    if (!p) return;
    const line = this.lines[p.line];
    if (line.group && (p.col < 0 || line.folded)) {
      const folded = new Set(this.collapsed);
      if (folded.has(line.group.path)) folded.delete(line.group.path);
      else folded.add(line.group.path);
      this.onFold([...folded]);
      return;
    }
    if (p.col < 0) return;
    const step = this.data.last_step[p.col];
    const layer = this.data.layers[line.rows[0]];
    this.onSelect({ layer, row: line.names[0], step });
  }
};

// src/common/host.js
var STEP_KEY = "tb_archviz.step";
var FOCUS_KEY = "tb_archviz.focus";
var ARCHITECTURE_PLUGIN = "archviz_graph";
var TIMELINE_PLUGIN = "archviz_health";
function listenForReload(onReload) {
  if (window.parent === window) return;
  const channel = new MessageChannel();
  channel.port1.onmessage = (event) => {
    let msg = null;
    try {
      msg = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!msg || msg.isReply) return;
    if (msg.type === "experimental.DataReloaded") onReload();
    channel.port1.postMessage(JSON.stringify({
      type: msg.type,
      id: msg.id,
      payload: null,
      error: null,
      isReply: true
    }));
  };
  window.parent.postMessage("experimental.bootstrap", "*", [channel.port2]);
}
function readSharedStep() {
  try {
    const v = JSON.parse(window.localStorage.getItem(STEP_KEY));
    if (v && typeof v === "object" && Number.isFinite(v.step)) return v;
    if (Number.isFinite(v)) return { step: v };
  } catch {
  }
  return null;
}
function writeSharedStep(run, step) {
  try {
    window.localStorage.setItem(STEP_KEY, JSON.stringify({ run, step, t: Date.now() }));
  } catch {
  }
}
function onSharedStep(fn) {
  window.addEventListener("storage", (e) => {
    if (e.key === STEP_KEY) fn(readSharedStep());
  });
}
function openInArchitecture(run, layer, step) {
  try {
    window.localStorage.setItem(FOCUS_KEY, JSON.stringify({ run, layer, step, t: Date.now() }));
  } catch {
  }
  if (window.parent !== window) {
    const dict = hashDict(window.parent.location.hash);
    dict.set("__tab__", ARCHITECTURE_PLUGIN);
    if (run) dict.set(`p.${ARCHITECTURE_PLUGIN}.run`, run);
    window.parent.location.hash = hashString(dict);
  }
}
function hashDict(hash) {
  const dict = /* @__PURE__ */ new Map();
  const parts = String(hash || "").replace(/^#/, "").split("&").filter(Boolean);
  parts.forEach((part, i) => {
    const eq = part.indexOf("=");
    if (eq < 0 && i === 0) dict.set("__tab__", decodeURIComponent(part));
    else if (eq >= 0) dict.set(decodeURIComponent(part.slice(0, eq)), decodeURIComponent(part.slice(eq + 1)));
  });
  return dict;
}
function hashString(dict) {
  const out = [];
  if (dict.has("__tab__")) out.push(encodeURIComponent(dict.get("__tab__")));
  for (const [k, v] of dict) {
    if (k !== "__tab__") out.push(`${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  }
  return `#${out.join("&")}`;
}
function topWindow() {
  try {
    if (window.parent !== window && window.parent.location.href) return window.parent;
  } catch {
  }
  return window;
}
function readUrlChoice(plugin, name) {
  const v = hashDict(topWindow().location.hash).get(`p.${plugin}.${name}`);
  return v === void 0 || v === "" ? null : v;
}
function writeUrlChoice(plugin, name, value) {
  const w = topWindow();
  const dict = hashDict(w.location.hash);
  const key = `p.${plugin}.${name}`;
  if (value === null || value === void 0 || value === "") dict.delete(key);
  else dict.set(key, String(value));
  const hash = hashString(dict);
  if (hash === w.location.hash || hash === "#" && !w.location.hash) return;
  try {
    w.history.replaceState(w.history.state, "", hash);
  } catch {
  }
}

// src/timeline/layer.js
var COLOURS = ["#1c7ed6", "#f76707", "#2b8a3e", "#ae3ec9", "#e03131", "#495057"];
var TICK_PX = 10;
function labelWidth(text, px = TICK_PX) {
  return Math.ceil(String(text).length * px * 0.62) + 2;
}
function yAxisLabels(lo, hi, pos, log) {
  const bottom = `${fmtValue(log ? pos : lo)}${log ? " log" : ""}`;
  const top = fmtValue(hi);
  if (fmtValue(log ? pos : lo) === top) return [{ text: `${top} (constant)`, at: "middle" }];
  return [{ text: top, at: "top" }, { text: bottom, at: "bottom" }];
}
function leftMargin(labels) {
  return Math.max(40, ...labels.map((l) => labelWidth(l.text) + 8));
}
function chart(data, kind, statIndex, step, width) {
  const k = data.kinds[kind];
  const H = 110, R = 8, T = 18, B = 20;
  let L = 52;
  const svg2 = document.createElementNS(SVG_NS, "svg");
  svg2.setAttribute("width", width);
  svg2.setAttribute("height", H);
  svg2.setAttribute("class", "layer-chart");
  const steps = nums(k.step);
  const s0 = steps[0], s1 = steps[steps.length - 1];
  const x = (s) => L + (s - s0) / Math.max(1, s1 - s0) * (width - L - R);
  let lo = Infinity, hi = -Infinity, pos = Infinity, nonfinite = false;
  const series = k.rows.map((row, r) => ({
    row,
    min: nums(k.min[r][statIndex]),
    max: nums(k.max[r][statIndex])
  }));
  for (const s of series) {
    for (const arr of [s.min, s.max]) {
      for (const v of arr) {
        if (Number.isFinite(v)) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
          if (v > 0) pos = Math.min(pos, v);
        } else nonfinite = true;
      }
    }
  }
  const log = Number.isFinite(lo) && lo > 0 && hi / pos > 100;
  const labels = Number.isFinite(lo) ? yAxisLabels(lo, hi, pos, log) : [];
  L = leftMargin(labels);
  svgEl(
    svg2,
    "text",
    { x: L, y: 12, class: "chart-title" },
    `${kindLabel(kind)} · ${statLabel(k.stats[statIndex], kind)}`
  );
  svgEl(svg2, "rect", {
    x: L,
    y: T,
    width: width - L - R,
    height: H - T - B,
    fill: "#fcfcfd",
    stroke: "#e9ecef"
  });
  if (!Number.isFinite(lo)) {
    svgEl(svg2, "text", { x: L + 6, y: H / 2, class: "muted" }, nonfinite ? "all NaN/Inf" : "no data");
    return svg2;
  }
  const f = log ? Math.log10 : (v) => v;
  let a = f(log ? pos : lo), b = f(hi);
  if (a === b) {
    const pad = Math.abs(a) / 2 || 1;
    a -= pad;
    b += pad;
  }
  const span2 = b - a;
  const y = (v) => H - B - (f(log ? Math.max(v, pos) : v) - a) / span2 * (H - T - B);
  const labelY = { top: T + 8, bottom: H - B, middle: (H - B + T) / 2 + 4 };
  for (const label of labels) {
    svgEl(
      svg2,
      "text",
      { x: L - 4, y: labelY[label.at], "text-anchor": "end", class: "tick y-label" },
      label.text
    );
  }
  svgEl(svg2, "text", { x: L, y: H - 6, class: "tick" }, fmtStep(s0));
  svgEl(svg2, "text", { x: width - R, y: H - 6, "text-anchor": "end", class: "tick" }, fmtStep(s1));
  series.forEach((s, i) => {
    let d = "", open = false;
    for (let j = 0; j < steps.length; j++) {
      const v = s.max[j];
      if (!Number.isFinite(v)) {
        open = false;
        svgEl(svg2, "line", {
          x1: x(steps[j]),
          x2: x(steps[j]),
          y1: T,
          y2: T + 5,
          stroke: "#d0021b",
          "stroke-width": 2
        });
        continue;
      }
      d += `${open ? " L" : " M"}${x(steps[j]).toFixed(1)},${y(v).toFixed(1)}`;
      open = true;
    }
    svgEl(svg2, "path", { d, fill: "none", stroke: COLOURS[i % COLOURS.length], "stroke-width": 1.4 });
  });
  if (step !== null && step !== void 0 && step >= s0 && step <= s1) {
    svgEl(svg2, "line", {
      x1: x(step),
      x2: x(step),
      y1: T,
      y2: H - B,
      stroke: "#000",
      "stroke-dasharray": "3 2"
    });
  }
  return svg2;
}
function notApplicable(k, i) {
  const finite = (j) => k.rows.some((_, r) => [k.min[r][j], k.max[r][j]].some(
    (arr) => (arr || []).some((v) => Number.isFinite(typeof v === "number" ? v : Number(v)))
  ));
  return !finite(i) && k.stats.some((_, j) => j !== i && finite(j));
}
function renderLayer(container, data, step, width, onArchitecture, onClose) {
  container.replaceChildren();
  const head = document.createElement("div");
  head.className = "layer-head";
  const title = document.createElement("h3");
  title.textContent = `Layer ${data.layer}`;
  const link = document.createElement("button");
  link.className = "arch-link";
  link.textContent = "Show this block in the Architecture tab →";
  link.addEventListener("click", onArchitecture);
  const close = document.createElement("button");
  close.className = "close";
  close.textContent = "Close";
  close.addEventListener("click", onClose);
  head.append(title, link, close);
  container.append(head);
  const legend = document.createElement("div");
  legend.className = "layer-legend";
  const rows = /* @__PURE__ */ new Set();
  for (const k of Object.values(data.kinds)) k.rows.forEach((r) => rows.add(r));
  [...rows].forEach((r) => {
    const s = document.createElement("span");
    s.textContent = r;
    legend.append(s);
  });
  container.append(legend);
  const grid = document.createElement("div");
  grid.className = "layer-grid";
  const per = Math.max(220, Math.floor((width - 24) / 4) - 8);
  const skipped = [];
  for (const kind of ["weights", "grads", "updates", "acts"]) {
    const k = data.kinds[kind];
    if (!k) continue;
    const wanted = featuredStats(kind, k.stats);
    const stats = wanted.length ? wanted : k.stats.slice(0, 3);
    for (const s of stats) {
      const i = k.stats.indexOf(s);
      if (notApplicable(k, i)) skipped.push(statLabel(s, kind));
      else grid.append(chart(data, kind, i, step, per));
    }
  }
  container.append(grid);
  if (skipped.length) {
    const note = document.createElement("div");
    note.className = "note not-measured";
    note.textContent = `Not measured for this layer (they do not apply to its type): ${skipped.join(", ")}.`;
    container.append(note);
  }
  const first = Object.values(data.kinds)[0];
  [...legend.children].forEach((node) => {
    const i = first.rows.indexOf(node.textContent);
    node.style.borderColor = COLOURS[(i >= 0 ? i : 0) % COLOURS.length];
  });
}

// src/timeline/overview.js
var OVERVIEW_MIN_RUNS = 10;
var PAGE = 200;
var RANK = { error: 0, warning: 1, info: 2, healthy: 3 };
function verdictOf(r) {
  const c = r.counts || {};
  return c.error ? "error" : c.warning ? "warning" : c.info ? "info" : "healthy";
}
function hparamNames(runs) {
  const names = /* @__PURE__ */ new Set();
  for (const r of runs) for (const k of Object.keys(r.hparams || {})) names.add(k);
  return [...names].sort();
}
function kindNames(runs) {
  const kinds = /* @__PURE__ */ new Set();
  for (const r of runs) for (const k of Object.keys(r.by_kind || {})) kinds.add(k);
  return [...kinds].sort();
}
function cellValue(r, key) {
  if (key === "run") return r.run;
  if (key === "verdict") return RANK[verdictOf(r)];
  if (key === "first") return r.first ? r.first.kind : null;
  if (key === "step") return r.first ? r.first.first_step : null;
  if (key === "train") return r.loss ? r.loss.train : null;
  if (key === "val") return r.loss ? r.loss.val : null;
  if (key.startsWith("kind:")) return (r.by_kind || {})[key.slice(5)] || 0;
  if (key.startsWith("hp:")) {
    const v = (r.hparams || {})[key.slice(3)];
    return v === void 0 ? null : v;
  }
  return null;
}
function compareValues(a, b) {
  const na = a === null || a === void 0, nb = b === null || b === void 0;
  if (na || nb) return na - nb;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "number") return -1;
  if (typeof b === "number") return 1;
  return String(a).localeCompare(String(b), "en", { numeric: true });
}
function sortRows(runs, key = null, dir = 1) {
  const out = [...runs];
  if (!key) return out.sort(byTrouble);
  return out.sort((a, b) => {
    const va = cellValue(a, key), vb = cellValue(b, key);
    const missing = (va === null || va === void 0) - (vb === null || vb === void 0);
    if (missing) return missing;
    return dir * compareValues(va, vb) || a.run.localeCompare(b.run);
  });
}
function filterRows(runs, { verdict = "", kind = "", text = "" } = {}) {
  const needle = text.trim().toLowerCase();
  return runs.filter((r) => {
    const v = verdictOf(r);
    if (verdict === "broken" ? !(v === "error" || v === "warning") : verdict && v !== verdict) {
      return false;
    }
    if (kind && !(r.by_kind || {})[kind]) return false;
    if (!needle) return true;
    const hay = [
      r.run,
      ...Object.entries(r.hparams || {}).map(([k, x]) => `${k}=${x}`),
      r.first ? `${r.first.kind} ${r.first.layer || ""}` : ""
    ].join(" ").toLowerCase();
    return hay.includes(needle);
  });
}
function groupRows(runs, name) {
  const groups = /* @__PURE__ */ new Map();
  for (const r of runs) {
    const v = (r.hparams || {})[name];
    const key = v === void 0 ? "\0missing" : `${typeof v}:${v}`;
    if (!groups.has(key)) groups.set(key, { value: v, label: v === void 0 ? `without ${name}` : `${name} = ${fmtHp(v)}`, runs: [] });
    groups.get(key).runs.push(r);
  }
  return [...groups.values()].sort((a, b) => {
    const ma = a.value === void 0, mb = b.value === void 0;
    return ma - mb || compareValues(a.value, b.value);
  });
}
function pageOf(groups, shown) {
  const out = [];
  let left = shown, total = 0;
  for (const g of groups) {
    total += g.runs.length;
    if (left <= 0) continue;
    out.push({ ...g, runs: g.runs.slice(0, left) });
    left -= Math.min(left, g.runs.length);
  }
  const rendered = out.reduce((n, g) => n + g.runs.length, 0);
  return { groups: out, more: total - rendered };
}
function fmtHp(v) {
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(+v.toPrecision(6));
  return String(v);
}
function fmtLoss(v) {
  return v === null || v === void 0 ? "—" : Math.abs(v) >= 1e4 || v && Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toPrecision(4);
}
function splitsFor(splits, kind) {
  return (splits || []).filter((s) => (s.kind || "") === (kind || ""));
}
function hparamChart(runs, name, isBroken) {
  const vals = runs.filter((r) => (r.hparams || {})[name] !== void 0);
  const numeric = vals.length && vals.every((r) => typeof r.hparams[name] === "number");
  if (numeric) {
    const xs = vals.map((r) => r.hparams[name]);
    const lo = Math.min(...xs), hi = Math.max(...xs);
    const log = lo > 0 && hi / lo >= 100;
    const t = (x) => log ? Math.log10(x) : x;
    const t0 = t(lo), t1 = t(hi);
    return {
      numeric: true,
      log,
      lo,
      hi,
      points: vals.map((r) => ({ run: r.run, x: t1 > t0 ? (t(r.hparams[name]) - t0) / (t1 - t0) : 0.5, broken: isBroken(r) }))
    };
  }
  const counts = /* @__PURE__ */ new Map();
  for (const r of vals) {
    const k = fmtHp(r.hparams[name]);
    const c = counts.get(k) || { value: k, broken: 0, healthy: 0 };
    if (isBroken(r)) c.broken += 1;
    else c.healthy += 1;
    counts.set(k, c);
  }
  return { numeric: false, counts: [...counts.values()].sort((a, b) => a.value.localeCompare(b.value, "en", { numeric: true })) };
}
function el(tag, cls, text) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== void 0) n.textContent = text;
  return n;
}
function svg(tag, attrs) {
  const n = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  return n;
}
function option(value, text, selected) {
  const o = html("option", { value });
  o.textContent = text;
  o.selected = Boolean(selected);
  return o;
}
var Overview = class {
  constructor(container, onOpen) {
    this.root = container;
    this.onOpen = onOpen;
    this.state = {
      sort: null,
      dir: 1,
      verdict: "",
      kind: "",
      text: "",
      group: "",
      shown: PAGE,
      split: ""
    };
    this.runs = [];
    this.splits = [];
    this.splitBox = el("div", "ov-splits");
    this.splitBox.id = "overview-splits";
    this.charts = el("div", "ov-charts");
    this.controls = el("div", "ov-controls");
    this.count = el("span", "ov-count");
    this.table = el("table", "ov-table");
    this.table.id = "overview-table";
    this.moreBtn = el("button", "ov-more", "show more");
    this.moreBtn.addEventListener("click", () => {
      this.state.shown += PAGE;
      this.renderTable();
    });
    this.verdictSel = html("select", { "aria-label": "verdict filter" });
    this.verdictSel.append(
      option("", "any verdict"),
      option("broken", "broken (error or warning)"),
      option("error", "error"),
      option("warning", "warning"),
      option("healthy", "healthy")
    );
    this.kindSel = html("select", { "aria-label": "kind filter", id: "overview-kind" });
    this.textIn = html("input", {
      type: "search",
      placeholder: "filter runs, lr=0.1, layer…",
      "aria-label": "text filter"
    });
    this.groupSel = html("select", { "aria-label": "group by", id: "overview-group" });
    this.splitSel = html("select", {
      "aria-label": "which settings break training for",
      id: "overview-split-kind"
    });
    const lbl = (text, x) => {
      const l = html("label");
      l.append(text, x);
      return l;
    };
    this.controls.append(
      lbl("Show ", this.verdictSel),
      lbl(" with ", this.kindSel),
      this.textIn,
      lbl(" group by ", this.groupSel),
      this.count
    );
    const head = el("div", "ov-head");
    head.append(
      el("h2", null, "Which settings break training"),
      lbl(" for ", this.splitSel)
    );
    const scroll = el("div", "ov-scroll");
    scroll.append(this.table);
    this.root.replaceChildren(
      head,
      this.splitBox,
      this.charts,
      this.controls,
      scroll,
      this.moreBtn
    );
    this.verdictSel.addEventListener("change", () => this.set({ verdict: this.verdictSel.value }));
    this.kindSel.addEventListener("change", () => this.set({ kind: this.kindSel.value }));
    this.textIn.addEventListener("input", () => this.set({ text: this.textIn.value }));
    this.groupSel.addEventListener("change", () => this.set({ group: this.groupSel.value }));
    this.splitSel.addEventListener("change", () => {
      this.state.split = this.splitSel.value;
      this.renderSplits();
    });
  }
  set(change) {
    Object.assign(this.state, change, { shown: PAGE });
    this.renderTable();
  }
  setData(runs, splits) {
    this.runs = runs;
    this.splits = splits || [];
    this.hps = hparamNames(runs);
    this.kinds = kindNames(runs);
    if (this.state.split === "" && !splitsFor(this.splits, "").length && this.splits.length) {
      this.state.split = this.splits[0].kind || "";
    }
    this.kindSel.replaceChildren(
      option("", "any kind", !this.state.kind),
      ...this.kinds.map((k) => option(k, k, k === this.state.kind))
    );
    this.groupSel.replaceChildren(
      option("", "(none)", !this.state.group),
      ...this.hps.map((k) => option(k, k, k === this.state.group))
    );
    this.splitSel.replaceChildren(
      option("", "any warning or error", !this.state.split),
      ...this.kinds.map((k) => option(k, k, k === this.state.split))
    );
    this.renderSplits();
    this.renderTable();
  }
  renderSplits() {
    const kind = this.state.split;
    const found = splitsFor(this.splits, kind);
    this.splitBox.replaceChildren(...found.map((s) => {
      const p = el("p", "ov-split", s.split[0].toUpperCase() + s.split.slice(1) + ".");
      p.dataset.hparam = s.hparam;
      return p;
    }));
    if (!this.hps.length) {
      this.splitBox.append(el("p", "ov-nosplit", "These runs logged no hyperparameters (Lightning: save_hyperparameters / log_hyperparams)."));
    }
    const isBroken = kind ? (r) => Boolean((r.by_kind || {})[kind]) : (r) => ["error", "warning"].includes(verdictOf(r));
    this.charts.replaceChildren(...this.hps.map((name) => this.chart(name, isBroken)));
  }
  chart(name, isBroken) {
    const g = hparamChart(this.runs, name, isBroken);
    const box = el("div", "ov-chart");
    box.dataset.hparam = name;
    box.append(el("div", "ov-chart-title", name + (g.log ? " (log scale)" : "")));
    const W = 260, H = 54;
    const s = svg("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}` });
    if (g.numeric) {
      s.append(svg("line", { x1: 8, x2: W - 8, y1: 34, y2: 34, stroke: "#adb5bd" }));
      const rows = /* @__PURE__ */ new Map();
      for (const p of g.points) {
        const x = Math.round(8 + p.x * (W - 16));
        const k = `${x}:${p.broken}`;
        const n = rows.get(k) || 0;
        rows.set(k, n + 1);
        if (n >= 4) continue;
        const c = svg("circle", {
          cx: x,
          cy: (p.broken ? 24 : 44) - Math.min(n, 3) * 3,
          r: 4,
          fill: p.broken ? "#e03131" : "#40c057",
          "fill-opacity": 0.7
        });
        const t = svg("title", {});
        t.textContent = `${p.run}: ${p.broken ? "broken" : "healthy"}`;
        c.append(t);
        s.append(c);
      }
      for (const [v, anchor, x] of [[g.lo, "start", 8], [g.hi, "end", W - 8]]) {
        const t = svg("text", { x, y: 52, "font-size": 10, "text-anchor": anchor, fill: "#495057" });
        t.textContent = fmtHp(v);
        s.append(t);
      }
    } else {
      const n = g.counts.length || 1, bw = (W - 16) / n;
      const max = Math.max(1, ...g.counts.map((c) => c.broken + c.healthy));
      g.counts.forEach((c, i) => {
        const x = 8 + i * bw, hb = c.broken / max * 34, hh = c.healthy / max * 34;
        s.append(
          svg("rect", { x: x + 2, y: 40 - hb - hh, width: bw - 4, height: hh, fill: "#40c057" }),
          svg("rect", { x: x + 2, y: 40 - hb, width: bw - 4, height: hb, fill: "#e03131" })
        );
        const t = svg("text", {
          x: x + bw / 2,
          y: 52,
          "font-size": 10,
          "text-anchor": "middle",
          fill: "#495057"
        });
        t.textContent = `${c.value} (${c.broken}/${c.broken + c.healthy})`;
        s.append(t);
      });
    }
    box.append(s);
    return box;
  }
  columns() {
    return [
      ["verdict", "verdict"],
      ["run", "run"],
      ["first", "first problem"],
      ["step", "step"],
      ...this.hps.map((k) => [`hp:${k}`, k]),
      ["train", "train loss"],
      ["val", "val loss"],
      ...this.kinds.map((k) => [`kind:${k}`, k])
    ];
  }
  renderTable() {
    const st = this.state;
    const rows = sortRows(filterRows(this.runs, st), st.sort, st.dir);
    const groups = st.group ? groupRows(rows, st.group) : [{ value: null, label: null, runs: rows }];
    const page = pageOf(groups, st.shown);
    const cols = this.columns();
    const headRow = el("tr");
    for (const [key, label] of cols) {
      const th = el("th", null, label + (st.sort === key ? st.dir > 0 ? " ▲" : " ▼" : ""));
      th.dataset.key = key;
      th.title = "sort by " + label;
      th.addEventListener("click", () => {
        if (st.sort === key) st.dir = -st.dir;
        else {
          st.sort = key;
          st.dir = 1;
        }
        st.shown = PAGE;
        this.renderTable();
      });
      headRow.append(th);
    }
    const thead = el("thead");
    thead.append(headRow);
    const tbody = el("tbody");
    for (const g of page.groups) {
      if (g.label !== null) {
        const tr = el("tr", "ov-group");
        const td = el("td", null, `${g.label}: ${g.runs.length === groups.find((x) => x.label === g.label).runs.length ? "" : "first "}${g.runs.length} run${g.runs.length === 1 ? "" : "s"}`);
        td.colSpan = cols.length;
        tr.append(td);
        tbody.append(tr);
      }
      for (const r of g.runs) tbody.append(this.row(r, cols));
    }
    this.table.replaceChildren(thead, tbody);
    this.count.textContent = `${rows.length.toLocaleString("en-US")} of ${this.runs.length.toLocaleString("en-US")} runs`;
    this.moreBtn.hidden = page.more <= 0;
    this.moreBtn.textContent = `show ${Math.min(PAGE, page.more)} more (${page.more} left)`;
  }
  row(r, cols) {
    const v = verdictOf(r);
    const tr = el("tr", `ov-row ${v}`);
    tr.dataset.run = r.run;
    for (const [key] of cols) {
      let text;
      if (key === "verdict") text = v;
      else if (key === "run") text = r.run;
      else if (key === "first") text = r.first ? r.first.kind + (r.first.layer ? ` · ${r.first.layer}` : "") : "";
      else if (key === "step") text = r.first && r.first.first_step !== null && r.first.first_step !== void 0 ? r.first.first_step.toLocaleString("en-US") : "";
      else if (key === "train" || key === "val") text = fmtLoss(cellValue(r, key));
      else if (key.startsWith("kind:")) text = String(cellValue(r, key) || "");
      else {
        const x = cellValue(r, key);
        text = x === null ? "" : fmtHp(x);
      }
      const td = el("td", key === "verdict" ? "verdict" : null, text);
      tr.append(td);
    }
    tr.addEventListener("click", () => this.onOpen(r.run));
    return tr;
  }
};

// src/timeline/index.js
var POLL_MS = 15e3;
var LABEL_W = 190;
function option2(value, text, selected) {
  const o = html("option", { value });
  o.textContent = text;
  o.selected = Boolean(selected);
  return o;
}
var TimelineApp = class {
  constructor(root) {
    this.root = root;
    this.state = {
      run: null,
      compare: "",
      kind: "grads",
      stat: null,
      layer: null,
      step: null,
      anomalyKey: null
    };
    this.runs = [];
    this.seq = 0;
    this._build();
  }
  _build() {
    const css = html("link", { rel: "stylesheet", href: new URL("./style.css", import.meta.url).href });
    document.head.append(css);
    this.status = html("span", { class: "status" });
    this.runSel = html("select", { id: "run-select", "aria-label": "run" });
    this.cmpSel = html("select", { id: "compare-select", "aria-label": "compare with" });
    this.kindSel = html("select", { id: "kind-select", "aria-label": "statistics kind" });
    this.statSel = html("select", { id: "stat-select", "aria-label": "statistic" });
    const title = html("h1");
    title.textContent = "Anomaly Timeline";
    const lbl = (text, el2) => {
      const l = html("label");
      l.append(text, el2);
      return l;
    };
    this.allBtn = html("button", { id: "all-runs", type: "button" });
    this.allBtn.textContent = "All runs";
    this.allBtn.hidden = true;
    this.allBtn.addEventListener("click", () => this.showOverview(true));
    this.runPick = html(
      "span",
      { class: "run-pick" },
      lbl("Run ", this.runSel),
      lbl(" Compare with ", this.cmpSel)
    );
    const bar = html("div", { class: "bar" }, title, this.allBtn, this.runPick, this.status);
    this.overviewBox = html("div", { class: "overview", id: "overview" });
    this.overviewBox.hidden = true;
    this.overview = new Overview(this.overviewBox, (run) => {
      this.showOverview(false);
      writeUrlChoice(TIMELINE_PLUGIN, "run", run);
      if (run === this.state.run) this.refreshRun();
      else this.selectRun(run);
    });
    this.mode = null;
    this.summary = html("div", { class: "summary", id: "summary" });
    this.curvesSvg = document.createElementNS(SVG_NS, "svg");
    this.curvesSvg.setAttribute("class", "curves");
    this.curvesSvg.id = "curves";
    this.axisSvg = document.createElementNS(SVG_NS, "svg");
    this.axisSvg.setAttribute("class", "step-axis");
    this.scrub = html("input", {
      type: "range",
      id: "step-scrubber",
      min: "0",
      max: "1",
      step: "1",
      "aria-label": "step"
    });
    this.scrubLabel = html("span", { class: "scrub-label" });
    const hmControls = html(
      "div",
      { class: "hm-controls" },
      lbl("Show ", this.kindSel),
      lbl(" statistic ", this.statSel)
    );
    this.hmHost = html("div", { class: "heatmap", id: "heatmap" });
    this.hmNote = html("div", { class: "note" });
    this.folds = {};
    this.heatmap = new Heatmap(this.hmHost, {
      onSelect: (sel) => this.selectLayer(sel.layer, sel.step),
      onFold: (folded) => {
        this.folds[this.state.kind] = folded;
        this.refreshHeatmap();
      }
    });
    hmControls.append(this.heatmap.legend);
    this.left = html(
      "div",
      { class: "timeline" },
      this.curvesSvg,
      hmControls,
      this.hmHost,
      this.axisSvg,
      html("div", { class: "scrubber" }, this.scrub, this.scrubLabel),
      this.hmNote
    );
    this.list = html("div", { class: "anomaly-list", id: "anomaly-list" });
    const listBox = html("div", { class: "side" }, html("h2"), this.list);
    listBox.firstChild.textContent = "Anomalies (first occurrence first)";
    this.layerBox = html("div", { class: "layer-view", id: "layer-view" });
    this.layerBox.hidden = true;
    this.main = html("div", { class: "main" }, this.left, listBox);
    this.root.append(bar, this.overviewBox, this.summary, this.main, this.layerBox);
    this.runSel.addEventListener("change", () => this.selectRun(this.runSel.value));
    this.cmpSel.addEventListener("change", () => {
      this.state.compare = this.cmpSel.value;
      this.refreshRun();
    });
    this.kindSel.addEventListener("change", () => {
      this.state.kind = this.kindSel.value;
      this.state.stat = null;
      this.refreshHeatmap();
    });
    this.statSel.addEventListener("change", () => {
      this.state.stat = this.statSel.value;
      this.refreshHeatmap();
    });
    this.scrub.addEventListener("input", () => {
      this.setStep(Number(this.scrub.value), true);
    });
    onSharedStep((v) => {
      if (v) this.setStep(v.step, false);
    });
    let resizeTimer = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => this.redraw(), 150);
    });
  }
  width() {
    return Math.max(480, this.left.clientWidth || 800);
  }
  /** Step columns to ask for: one per device pixel of the cell area (at most 2 per CSS px). */
  columns() {
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    return Math.min(4e3, Math.max(50, Math.floor((this.width() - LABEL_W - 12) * dpr)));
  }
  async start() {
    const shared = readSharedStep();
    if (shared) this.state.step = shared.step;
    setVocabulary(await getJSON("registry"));
    await this.refreshRuns();
    listenForReload(() => this.reload());
    this.timer = setInterval(() => {
      if (!document.hidden) this.reload();
    }, POLL_MS);
  }
  setStatus(text, bad = false) {
    this.status.textContent = text;
    this.status.classList.toggle("bad", bad);
  }
  async reload() {
    try {
      await this.refreshRuns();
    } catch (err) {
      this.setStatus(`reload failed: ${err.message}`, true);
    }
  }
  async refreshRuns() {
    const data = await getJSON("runs");
    this.runs = data.runs;
    const names = this.runs.map((r) => r.run);
    const remembered = names.includes(readUrlChoice(TIMELINE_PLUGIN, "run"));
    if (!names.includes(this.state.run)) {
      this.state.run = landingRun(names, readUrlChoice(TIMELINE_PLUGIN, "run"), this.runs);
    }
    if (this.state.compare && !names.includes(this.state.compare)) this.state.compare = "";
    this.runSel.replaceChildren(...this.runs.map((r) => option2(
      r.run,
      r.run,
      r.run === this.state.run
    )));
    this.cmpSel.replaceChildren(
      option2("", "(none)", !this.state.compare),
      ...this.runs.filter((r) => r.run !== this.state.run).map((r) => option2(r.run, r.run, r.run === this.state.compare))
    );
    const sweep = this.runs.length >= OVERVIEW_MIN_RUNS;
    this.allBtn.hidden = !sweep;
    if (this.mode === null) this.mode = sweep && !remembered ? "overview" : "run";
    if (sweep) this.overview.setData(this.runs, data.splits);
    else this.mode = "run";
    if (!sweep) {
      renderSummary(
        this.summary,
        this.runs,
        this.state.run,
        (run) => this.selectRun(run),
        data.problems
      );
    } else {
      this.summary.replaceChildren();
    }
    this.summary.hidden = sweep;
    this.setStatus(`updated ${(/* @__PURE__ */ new Date()).toLocaleTimeString()}`);
    this._showMode();
    if (this.mode === "run") await this.refreshRun();
  }
  /** The runs overview (true) or the selected run's timeline (false). */
  showOverview(on) {
    this.mode = on ? "overview" : "run";
    this._showMode();
    if (!on) window.scrollTo(0, 0);
  }
  _showMode() {
    const ov = this.mode === "overview";
    this.overviewBox.hidden = !ov;
    this.runPick.hidden = ov;
    this.allBtn.disabled = ov;
    this.main.hidden = ov;
    if (ov) this.layerBox.hidden = true;
  }
  selectRun(run) {
    if (run === this.state.run) return;
    this.state.run = run;
    writeUrlChoice(TIMELINE_PLUGIN, "run", run);
    this.state.layer = null;
    this.state.anomalyKey = null;
    if (this.state.compare === run) this.state.compare = "";
    this.layerBox.hidden = true;
    this.runSel.value = run;
    this.refreshRuns();
  }
  runInfo(run) {
    return this.runs.find((r) => r.run === run);
  }
  /** The run's last logged step (a range reaching it is still going on), or null. */
  runEnd(run) {
    const info = this.runInfo(run);
    return info && info.max_step !== void 0 ? info.max_step : null;
  }
  async refreshRun() {
    const run = this.state.run;
    if (!run) {
      this.left.hidden = true;
      return;
    }
    this.left.hidden = false;
    const seq = ++this.seq;
    const cols = this.columns();
    const wanted = [run, this.state.compare].filter(Boolean);
    if (this.shownRun !== run) {
      this.folds = {};
      this.heatmapData = null;
      this.anomalies = this.compareAnomalies = this.curves = null;
      this.shownRun = run;
    }
    const heatmap = this.refreshHeatmap();
    const anomalies = Promise.all(wanted.map((r) => getJSON("anomalies", { run: r }))).then((anoms) => {
      if (seq !== this.seq) return;
      this.anomalies = anoms[0].anomalies.map((a) => ({ ...a, run }));
      this.compareAnomalies = anoms[1] ? anoms[1].anomalies.map((a) => ({
        ...a,
        run: wanted[1],
        compare: true
      })) : [];
      this._renderList();
      this.redraw();
    });
    const curves = Promise.all(wanted.map((r) => getJSON("curves", { run: r, columns: cols }))).then((data) => {
      if (seq !== this.seq) return;
      this.curves = data.map((c, i) => ({ run: wanted[i], curves: c.curves, dashed: i > 0 }));
      this.redraw();
    });
    await Promise.all([heatmap, anomalies, curves]);
  }
  _kinds() {
    const info = this.runInfo(this.state.run);
    return info ? info.kinds : {};
  }
  async refreshHeatmap() {
    const seq = this.hmSeq = (this.hmSeq || 0) + 1;
    const kinds = this._kinds();
    const available = ["grads", "weights", "updates", "acts"].filter((k) => kinds[k]);
    this.kindSel.replaceChildren(...available.map((k) => option2(
      k,
      kindLabel(k),
      k === this.state.kind
    )));
    if (!available.length) {
      this.heatmapData = null;
      this.hmHost.hidden = true;
      this.kindSel.parentElement.parentElement.hidden = true;
      this.hmNote.textContent = "This run has only ordinary scalars (no per-layer statistics): the curves and the loss checks above are all there is. Add ArchVizCallback to the Trainer to see every layer.";
      this.redraw();
      return;
    }
    this.hmHost.hidden = false;
    this.kindSel.parentElement.parentElement.hidden = false;
    if (!available.includes(this.state.kind)) this.state.kind = available[0];
    this.kindSel.value = this.state.kind;
    const stats = kinds[this.state.kind];
    if (!stats.includes(this.state.stat)) {
      this.state.stat = defaultStat(this.state.kind, stats);
    }
    this.statSel.replaceChildren(...orderedStats(this.state.kind, stats).map((s) => option2(
      s,
      statLabel(s, this.state.kind),
      s === this.state.stat
    )));
    const folded = this.folds[this.state.kind];
    const params = {
      run: this.state.run,
      kind: this.state.kind,
      stat: this.state.stat,
      columns: this.columns(),
      lines: folded ? "folded" : "auto",
      fold: folded
    };
    const data = await getJSON("heatmap", { ...params, planes: "max" });
    if (seq !== this.hmSeq) return;
    getJSON("heatmap", { ...params, fold: data.folded, lines: "folded", planes: "min" }).then((mins) => {
      if (this.heatmapData === data) this.heatmap.setMin(mins);
    }).catch(() => {
    });
    this.heatmapData = data;
    this.heatmap.setData(data);
    this.folds[this.state.kind] = data.folded;
    const n = data.steps_total.toLocaleString("en-US");
    this.hmNote.textContent = data.sampled ? `Showing a sample of ${n} logged steps (an older run, larger than one read, written without the statistics summary); anomaly markers are exact.` : data.level > 1 ? `${data.rows.length} rows × about ${n} logged steps, read from the per-${data.level}-step summary; each cell is the largest value in its step range, so one bad step is never hidden.` : `${data.rows.length} rows × ${n} logged steps; each cell is the largest value in its step range, so one bad step is never hidden.`;
    this.redraw();
    if (this.state.layer) this.openLayer(false);
  }
  stepRange() {
    let s0 = Infinity, s1 = -Infinity;
    const d = this.heatmapData;
    if (d && d.first_step.length) {
      s0 = Math.min(s0, d.first_step[0]);
      s1 = Math.max(s1, d.last_step[d.last_step.length - 1]);
    }
    for (const r of this.curves || []) {
      for (const c of r.curves) {
        if (c.step.length) {
          s0 = Math.min(s0, c.step[0]);
          s1 = Math.max(s1, c.step[c.step.length - 1]);
        }
      }
    }
    if (!Number.isFinite(s0)) {
      s0 = 0;
      s1 = 1;
    }
    return [s0, s1];
  }
  redraw() {
    if (!this.state.run) return;
    const [s0, s1] = this.stepRange();
    this.axis = makeAxis(this.width(), LABEL_W, s0, s1);
    this.scrub.min = String(s0);
    this.scrub.max = String(s1);
    this.scrub.style.marginLeft = `${LABEL_W}px`;
    this.scrub.style.width = `${this.axis.x(s1) - LABEL_W}px`;
    if (this.state.step !== null) this.scrub.value = String(this.state.step);
    this.scrubLabel.textContent = this.state.step === null ? "drag to pick a step" : `step ${Number(this.state.step).toLocaleString("en-US")}`;
    const all = [...this.anomalies || [], ...this.compareAnomalies || []];
    drawCurves(
      this.curvesSvg,
      this.axis,
      this.curves || [],
      this.anomalies || [],
      this.state.step,
      this.runEnd(this.state.run)
    );
    drawStepAxis(this.axisSvg, this.axis);
    if (this.heatmapData) {
      this.heatmap.setAxis(this.axis);
      this.heatmap.setAnomalies(all.filter((a) => !a.compare), this.runEnd(this.state.run));
      this.heatmap.setStep(this.state.step);
      this.heatmap.setSelectedLayer(this.state.layer);
      this.heatmap.draw();
    }
  }
  setStep(step, publish) {
    this.state.step = step;
    if (publish) writeSharedStep(this.state.run, step);
    this.redraw();
    if (this.layerData) this._drawLayer();
  }
  _renderList() {
    const items = [...this.anomalies, ...this.compareAnomalies];
    items.sort((a, b) => (b.pinned && !b.compare) - (a.pinned && !a.compare) || (a.first_step ?? 0) - (b.first_step ?? 0));
    renderAnomalyList(this.list, items, this.state.anomalyKey, (a) => {
      this.state.anomalyKey = keyOf(a);
      if (a.compare) {
        this.selectRun(a.run);
        return;
      }
      this._renderList();
      if (a.layer) this.selectLayer(a.layer, a.first_step);
      else this.setStep(a.first_step, true);
    }, Object.fromEntries(this.runs.map((r) => [r.run, r.max_step])));
  }
  selectLayer(layer, step) {
    this.state.layer = layer;
    if (step !== void 0 && step !== null) {
      this.state.step = step;
      writeSharedStep(this.state.run, step);
    }
    this.redraw();
    this.openLayer(true);
  }
  async openLayer(scroll) {
    const run = this.state.run, layer = this.state.layer;
    try {
      this.layerData = await getJSON("layer", { run, layer, columns: 400 });
    } catch (err) {
      this.layerData = null;
      this.layerBox.hidden = false;
      this.layerBox.replaceChildren(html("div", { class: "empty" }));
      this.layerBox.firstChild.textContent = `No statistics for ${layer}: ${err.message}`;
      return;
    }
    if (run !== this.state.run || layer !== this.state.layer) return;
    this._drawLayer();
    if (scroll) this.layerBox.scrollIntoView({ behavior: "smooth", block: "nearest" });
  }
  _drawLayer() {
    this.layerBox.hidden = false;
    renderLayer(
      this.layerBox,
      this.layerData,
      this.state.step,
      this.root.clientWidth || 1e3,
      () => openInArchitecture(this.state.run, this.state.layer, this.state.step),
      () => {
        this.state.layer = null;
        this.layerData = null;
        this.layerBox.hidden = true;
        this.redraw();
      }
    );
  }
};
async function render() {
  setMeasurePrefix("tl");
  const root = html("div", { class: "tl-root", id: "timeline-root" });
  document.body.append(root);
  const app = new TimelineApp(root);
  window.__timeline = app;
  try {
    await app.start();
    root.dataset.ready = "true";
  } catch (err) {
    const box = html("div", { class: "error" });
    box.textContent = `Could not load the anomaly timeline: ${err.message}`;
    root.prepend(box);
    root.dataset.ready = "error";
  }
}
export {
  render
};
