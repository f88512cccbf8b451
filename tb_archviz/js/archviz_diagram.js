var ArchvizDiagram = (() => {
  var __defProp = Object.defineProperty;
  var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
  var __getOwnPropNames = Object.getOwnPropertyNames;
  var __hasOwnProp = Object.prototype.hasOwnProperty;
  var __export = (target, all) => {
    for (var name in all)
      __defProp(target, name, { get: all[name], enumerable: true });
  };
  var __copyProps = (to, from, except, desc) => {
    if (from && typeof from === "object" || typeof from === "function") {
      for (let key of __getOwnPropNames(from))
        if (!__hasOwnProp.call(to, key) && key !== except)
          __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
    }
    return to;
  };
  var __toCommonJS = (mod) => __copyProps(__defProp({}, "__esModule", { value: true }), mod);

  // src/diagram/index.js
  var index_exports = {};
  __export(index_exports, {
    LAYOUT_OPTIONS: () => LAYOUT_OPTIONS,
    TYPE_FAMILIES: () => TYPE_FAMILIES,
    absolutize: () => absolutize,
    allRepeatKeys: () => allRepeatKeys,
    buildElkGraph: () => buildElkGraph,
    buildTree: () => buildTree,
    callSiteOf: () => callSiteOf,
    defaultState: () => defaultState,
    deviceLanes: () => deviceLanes,
    exportDiagram: () => exportDiagram,
    exportVolumes: () => exportVolumes,
    foldGraph: () => foldGraph,
    formatCount: () => formatCount,
    formatShape: () => formatShape,
    h: () => h,
    hparamText: () => hparamText,
    isContainer: () => isContainer,
    layoutView: () => layoutView,
    legendItems: () => legendItems,
    liftEdges: () => liftEdges,
    outputShape: () => outputShape,
    renderDiagram: () => renderDiagram,
    repeatMembers: () => repeatMembers,
    reveal: () => reveal,
    search: () => search,
    shortName: () => shortName,
    stateFor: () => stateFor,
    toSvgString: () => toSvgString,
    toggle: () => toggle,
    typeFamily: () => typeFamily,
    typeLine: () => typeLine
  });

  // src/diagram/fold.js
  var ROOT = "";
  function buildTree(record) {
    const nodes = /* @__PURE__ */ new Map();
    const modules = record && record.modules || [];
    for (const m of modules) {
      nodes.set(m.name, {
        id: m.name,
        kind: "module",
        module: m,
        parent: m.parent,
        children: [],
        depth: 0
      });
    }
    if (!nodes.has(ROOT)) {
      nodes.set(ROOT, {
        id: ROOT,
        kind: "module",
        parent: null,
        children: [],
        depth: 0,
        module: {
          name: ROOT,
          class: record && record.model_class || "Model",
          leaf: false,
          params: record && record.totals ? { total: record.totals.parameters } : {}
        }
      });
    }
    for (const m of modules) {
      if (m.name === ROOT) continue;
      const parent = nodes.has(m.parent) ? m.parent : ROOT;
      nodes.get(m.name).parent = parent;
      nodes.get(parent).children.push(m.name);
    }
    for (const op of record && record.ops || []) {
      const scope = nodes.has(op.scope) ? op.scope : ROOT;
      nodes.set(op.id, { id: op.id, kind: "op", op, parent: scope, children: [], depth: 0 });
      nodes.get(scope).children.push(op.id);
    }
    const edges = record && record.edges || [];
    const callOrder = /* @__PURE__ */ new Map();
    for (const e of edges) {
      for (const end of [e.src, e.dst]) {
        if (nodes.has(end)) continue;
        if (/^(input|output):/.test(end)) {
          nodes.set(end, {
            id: end,
            kind: end.startsWith("input") ? "input" : "output",
            parent: ROOT,
            children: [],
            depth: 1,
            shape: e.shape
          });
          nodes.get(ROOT).children.push(end);
          continue;
        }
        const base = callSiteOf(end);
        const of = base !== null && nodes.get(base);
        if (of && of.kind === "module" && base !== ROOT) {
          nodes.set(end, {
            id: end,
            kind: "module",
            module: of.module,
            callOf: base,
            parent: of.parent,
            children: [],
            depth: 0
          });
          nodes.get(of.parent).children.push(end);
        }
      }
    }
    const orderOf = (id) => {
      const n = nodes.get(id);
      if (n.callOf !== void 0) return callOrder.get(id) ?? orderOf(n.callOf);
      const o = n.kind === "module" ? n.module.order : n.kind === "op" ? n.op.order : null;
      return o === null || o === void 0 ? Infinity : o;
    };
    for (const e of edges) {
      const n = nodes.get(e.dst);
      const src = nodes.get(e.src);
      if (!n || n.callOf === void 0 || !src || src.callOf !== void 0) continue;
      const o = orderOf(e.src);
      if (Number.isFinite(o) && !(callOrder.get(e.dst) >= o + 0.5)) callOrder.set(e.dst, o + 0.5);
    }
    const endpoints = /* @__PURE__ */ new Set();
    for (const e of edges) {
      for (const end of [e.src, e.dst]) {
        endpoints.add(end);
        const base = callSiteOf(end);
        if (base !== null) endpoints.add(base);
      }
    }
    for (const n of nodes.values()) {
      if (n.kind === "module" && n.id !== ROOT && n.callOf === void 0 && n.children.length && endpoints.has(n.id)) {
        n.inner = n.children;
        n.children = [];
      }
    }
    const markInside = (id, top) => {
      for (const c of [...nodes.get(id).children, ...nodes.get(id).inner || []]) {
        nodes.get(c).inside = top;
        markInside(c, top);
      }
    };
    const findLeafBlocks = (id) => {
      const n = nodes.get(id);
      if (n.inner) markInside(id, id);
      for (const c of n.children) findLeafBlocks(c);
    };
    findLeafBlocks(ROOT);
    const setDepth = (id, d) => {
      const n = nodes.get(id);
      n.depth = d;
      for (const c of n.children) setDepth(c, d + 1);
    };
    setDepth(ROOT, 0);
    for (const n of nodes.values()) {
      const idx = new Map(n.children.map((c, i) => [c, i]));
      n.children.sort((a, b) => orderOf(a) - orderOf(b) || idx.get(a) - idx.get(b));
    }
    let maxDepth = 0;
    for (const n of nodes.values()) {
      if (n.children.length === 0 && n.inside === void 0) maxDepth = Math.max(maxDepth, n.depth);
    }
    return { nodes, record, maxDepth };
  }
  function callSiteOf(id) {
    const i = String(id).lastIndexOf("#");
    return i > 0 && /^\d+$/.test(String(id).slice(i + 1)) ? String(id).slice(0, i) : null;
  }
  function isContainer(tree, id) {
    const n = tree.nodes.get(id);
    return !!n && n.kind === "module" && n.children.length > 0;
  }
  function repeatGroups(tree, parentId) {
    const groups = /* @__PURE__ */ new Map();
    for (const c of tree.nodes.get(parentId).children) {
      const n = tree.nodes.get(c);
      const r = n.kind === "module" && n.callOf === void 0 && n.module.repeat;
      if (r && r.group !== void 0 && r.group !== null) {
        const key = `repeat:${parentId}|${r.group}`;
        if (!groups.has(key)) groups.set(key, []);
        groups.get(key).push(c);
      }
    }
    for (const [k, members] of groups) if (members.length < 2) groups.delete(k);
    return groups;
  }
  function repeatMembers(tree, key) {
    const bar = key.lastIndexOf("|");
    const parent = key.slice("repeat:".length, bar);
    if (!tree.nodes.has(parent)) return [];
    return repeatGroups(tree, parent).get(key) || [];
  }
  function defaultState(tree, target = 45) {
    let depth = 1;
    for (let d = 1; d <= Math.max(1, tree.maxDepth); d++) {
      const count = foldGraph(tree, { depth: d }).nodes.length;
      if (d > 1 && count > target) break;
      depth = d;
    }
    const keys = allRepeatKeys(tree);
    let unfolded = [];
    if (keys.length && foldGraph(tree, { depth, unfolded: keys }).nodes.length <= target) {
      unfolded = keys;
      while (depth < tree.maxDepth && foldGraph(tree, { depth: depth + 1, unfolded: keys }).nodes.length <= target) depth += 1;
    }
    return { depth, expanded: [], collapsed: [], unfolded };
  }
  function allRepeatKeys(tree) {
    const keys = [];
    for (const n of tree.nodes.values()) {
      if (n.children.length > 1) keys.push(...repeatGroups(tree, n.id).keys());
    }
    return keys;
  }
  function isOpen(state, n) {
    if (n.id === ROOT) return true;
    if ((state.collapsed || []).includes(n.id)) return false;
    if ((state.expanded || []).includes(n.id)) return true;
    return n.depth < (state.depth || 1);
  }
  function foldGraph(tree, state) {
    state = state || {};
    const unfolded = new Set(state.unfolded || []);
    const out = [];
    const rep = /* @__PURE__ */ new Map();
    const visit = (id, parentVisible) => {
      const n = tree.nodes.get(id);
      const container = n.children.length > 0 && n.kind === "module";
      const open = container && isOpen(state, n);
      if (id !== ROOT) {
        out.push({ id, kind: n.kind, parent: parentVisible, open, depth: n.depth });
        rep.set(id, id);
      }
      if (!container) {
        if (n.inner) markHidden(tree, id, id, rep);
        return;
      }
      if (!open) {
        markHidden(tree, id, id, rep);
        return;
      }
      const here = id === ROOT ? null : id;
      const groups = repeatGroups(tree, id);
      const folded = /* @__PURE__ */ new Map();
      for (const [key, members] of groups) {
        if (!unfolded.has(key)) for (const m of members) folded.set(m, key);
      }
      const emitted = /* @__PURE__ */ new Set();
      for (const c of n.children) {
        const key = folded.get(c);
        if (key === void 0) {
          visit(c, here);
          continue;
        }
        if (!emitted.has(key)) {
          emitted.add(key);
          const members = groups.get(key);
          out.push({
            id: key,
            kind: "repeat",
            parent: here,
            open: false,
            members,
            count: members.length,
            depth: n.depth + 1
          });
          rep.set(key, key);
        }
        rep.set(c, key);
        markHidden(tree, c, key, rep);
      }
    };
    visit(ROOT, null);
    return { nodes: out, edges: liftEdges(tree, rep), rep };
  }
  function markHidden(tree, id, visible, rep) {
    const n = tree.nodes.get(id);
    for (const c of n.inner ? [...n.children, ...n.inner] : n.children) {
      rep.set(c, visible);
      markHidden(tree, c, visible, rep);
    }
  }
  var KIND_RANK = { residual: 2, concat: 1, data: 0 };
  function liftEdges(tree, rep) {
    const merged = /* @__PURE__ */ new Map();
    for (const e of tree.record && tree.record.edges || []) {
      const s = rep.get(e.src);
      const d = rep.get(e.dst);
      if (s === void 0 || d === void 0 || s === d) continue;
      const key = `${s}\0${d}`;
      const kind = d === e.dst ? e.kind || "data" : "data";
      const prev = merged.get(key);
      if (!prev) {
        merged.set(key, {
          src: s,
          dst: d,
          shape: e.shape || null,
          dtype: e.dtype || null,
          kind,
          n: 1,
          devices: [e.src_device, e.dst_device]
        });
      } else {
        prev.n += 1;
        if ((KIND_RANK[kind] || 0) > (KIND_RANK[prev.kind] || 0)) prev.kind = kind;
      }
    }
    return [...merged.values()];
  }
  function toggle(tree, state, id) {
    const s = {
      depth: state.depth,
      expanded: [...state.expanded || []],
      collapsed: [...state.collapsed || []],
      unfolded: [...state.unfolded || []]
    };
    if (id.startsWith("repeat:")) {
      const members = repeatMembers(tree, id);
      if (s.unfolded.includes(id)) {
        s.unfolded = s.unfolded.filter((x) => x !== id);
        s.collapsed = s.collapsed.filter((x) => !members.includes(x));
        s.expanded = s.expanded.filter((x) => !members.includes(x));
      } else {
        s.unfolded = [...s.unfolded, id];
        for (const m of members) {
          const n2 = tree.nodes.get(m);
          if (n2.children.length && isOpen(state, n2) && !s.collapsed.includes(m)) s.collapsed.push(m);
        }
      }
      return s;
    }
    const n = tree.nodes.get(id);
    if (!n || n.children.length === 0 || n.kind !== "module") return s;
    const open = isOpen(state, n);
    s.expanded = s.expanded.filter((x) => x !== id);
    s.collapsed = s.collapsed.filter((x) => x !== id);
    if (open) s.collapsed.push(id);
    else s.expanded.push(id);
    return s;
  }
  function reveal(tree, state, id) {
    let s = {
      depth: state.depth,
      expanded: [...state.expanded || []],
      collapsed: [...state.collapsed || []],
      unfolded: [...state.unfolded || []]
    };
    let n = tree.nodes.get(id);
    if (n && n.inside !== void 0) n = tree.nodes.get(n.inside);
    if (!n) return s;
    const chain = [];
    while (n && n.parent !== null && n.parent !== void 0) {
      chain.push(n);
      n = tree.nodes.get(n.parent);
    }
    for (const c of chain) {
      const p = tree.nodes.get(c.parent);
      if (p.id !== ROOT && !isOpen(s, p)) s = toggle(tree, s, p.id);
      const r = c.kind === "module" && c.module.repeat;
      if (r && r.group !== null && r.group !== void 0) {
        const key = `repeat:${p.id}|${r.group}`;
        if (!s.unfolded.includes(key)) s.unfolded.push(key);
      }
    }
    return s;
  }
  function search(tree, query) {
    const q = String(query || "").trim().toLowerCase();
    if (!q) return [];
    const hits = [];
    const seen = /* @__PURE__ */ new Set();
    for (const n of tree.nodes.values()) {
      if (n.kind !== "module" || n.id === ROOT || n.callOf !== void 0) continue;
      const m = n.module;
      if (n.id.toLowerCase().includes(q) || String(m.class || "").toLowerCase().includes(q)) {
        const shown = n.inside === void 0 ? n.id : n.inside;
        if (!seen.has(shown)) {
          seen.add(shown);
          hits.push(shown);
        }
      }
    }
    return hits;
  }

  // src/diagram/labels.js
  function formatCount(n) {
    if (n === null || n === void 0 || !isFinite(n)) return "";
    const a = Math.abs(n);
    const fmt = (v, s) => {
      const r = v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
      return r.replace(/\.0+$|(\.\d*?)0+$/, "$1") + s;
    };
    if (a >= 1e9) return fmt(n / 1e9, "B");
    if (a >= 1e6) return fmt(n / 1e6, "M");
    if (a >= 1e3) return fmt(n / 1e3, "K");
    return String(n);
  }
  function formatShape(shape, dropBatch = true) {
    if (!Array.isArray(shape)) return "";
    const dims = dropBatch && shape.length >= 2 ? shape.slice(1) : shape;
    if (dims.length === 0) return "scalar";
    return dims.map((d) => d === null || d === void 0 ? "?" : String(d)).join("×");
  }
  function pair(v) {
    if (Array.isArray(v)) return v;
    if (v === void 0 || v === null) return null;
    return [v];
  }
  function same(v) {
    return Array.isArray(v) && v.every((x) => x === v[0]);
  }
  function kernel(v) {
    const p = pair(v);
    if (!p) return "";
    return p.join("×");
  }
  function strideText(v) {
    const p = pair(v);
    if (!p || p.every((x) => x === 1)) return "";
    return "s" + (same(p) ? p[0] : p.join("×"));
  }
  function dilationText(v) {
    const p = pair(v);
    if (!p || p.every((x) => x === 1)) return "";
    return "d" + (same(p) ? p[0] : p.join("×"));
  }
  var CONV = /^(Lazy)?Conv(Transpose)?[123]d$/;
  var POOL = /^(Max|Avg|LP|Fractional)Pool[123]d$/;
  var ADAPTIVE = /^Adaptive(Max|Avg)Pool[123]d$/;
  var NORM_BN = /^(Lazy)?(BatchNorm|InstanceNorm|SyncBatchNorm)[123]?d?$/;
  var RNN = /^(LSTM|GRU|RNN)$/;
  var RNN_CELL = /^(LSTMCell|GRUCell|RNNCell)$/;
  function hparamText(cls, h2) {
    h2 = h2 || {};
    const parts = [];
    if (CONV.test(cls)) {
      const head = [kernel(h2.kernel_size), strideText(h2.stride), dilationText(h2.dilation)].filter(Boolean).join(" ");
      const groups = h2.groups && h2.groups > 1 ? h2.groups === h2.in_channels ? " dw" : ` g${h2.groups}` : "";
      const io = h2.in_channels !== void 0 ? `${h2.in_channels}→${h2.out_channels}` : "";
      return [head + groups, io].filter(Boolean).join(", ");
    }
    if (cls === "Linear" || cls === "LazyLinear" || cls === "Bilinear") {
      if (h2.in_features !== void 0) return `${h2.in_features}→${h2.out_features}`;
      return h2.out_features !== void 0 ? `→${h2.out_features}` : "";
    }
    if (cls === "MultiheadAttention") {
      if (h2.num_heads !== void 0) parts.push(`${h2.num_heads} heads`);
      if (h2.embed_dim !== void 0) parts.push(`d=${h2.embed_dim}`);
      return parts.join(", ");
    }
    if (cls === "TransformerEncoderLayer" || cls === "TransformerDecoderLayer") {
      if (h2.d_model !== void 0) parts.push(`d=${h2.d_model}`);
      if (h2.nhead !== void 0) parts.push(`${h2.nhead} heads`);
      if (h2.dim_feedforward !== void 0) parts.push(`ff ${h2.dim_feedforward}`);
      return parts.join(", ");
    }
    if (RNN.test(cls) || RNN_CELL.test(cls)) {
      if (h2.hidden_size !== void 0) parts.push(String(h2.hidden_size));
      if (h2.num_layers !== void 0 && h2.num_layers > 1) parts.push(`${h2.num_layers} layers`);
      if (h2.bidirectional) parts.push("bidir");
      return parts.join(", ");
    }
    if (cls === "Embedding" || cls === "EmbeddingBag") {
      return h2.num_embeddings !== void 0 ? `${h2.num_embeddings}×${h2.embedding_dim}` : "";
    }
    if (NORM_BN.test(cls)) return h2.num_features !== void 0 ? String(h2.num_features) : "";
    if (cls === "LayerNorm" || cls === "RMSNorm") {
      const s = pair(h2.normalized_shape);
      return s ? s.join("×") : "";
    }
    if (cls === "GroupNorm") {
      return h2.num_groups !== void 0 ? `${h2.num_groups} groups, ${h2.num_channels}` : "";
    }
    if (POOL.test(cls)) {
      return [kernel(h2.kernel_size), strideText(h2.stride)].filter(Boolean).join(" ");
    }
    if (ADAPTIVE.test(cls)) {
      const s = pair(h2.output_size);
      return s ? "→" + s.map((x) => x === null ? "*" : x).join("×") : "";
    }
    if (/^Dropout[123]?d?$|^AlphaDropout$/.test(cls)) return h2.p !== void 0 ? String(h2.p) : "";
    if (cls === "LeakyReLU" && h2.negative_slope !== void 0) return `α=${h2.negative_slope}`;
    if (cls === "Flatten" || cls === "Unflatten" || cls === "Identity") return "";
    if (cls === "Upsample" && h2.scale_factor !== void 0) return `×${h2.scale_factor}`;
    return "";
  }
  function typeLine(mod) {
    const text = hparamText(mod.class || "", mod.hparams);
    return text ? `${mod.class} ${text}` : mod.class || "";
  }
  function shortName(name) {
    if (!name) return "";
    const i = name.lastIndexOf(".");
    return i < 0 ? name : name.slice(i + 1);
  }
  function outputShape(mod) {
    const io = mod && mod.io && mod.io[0];
    const out = io && io.outputs && io.outputs[0];
    return out ? out.shape : null;
  }
  var TYPE_FAMILIES = [
    ["conv", "Convolution"],
    ["linear", "Linear"],
    ["attention", "Attention"],
    ["recurrent", "Recurrent"],
    ["embedding", "Embedding"],
    ["norm", "Normalization"],
    ["activation", "Activation"],
    ["pool", "Pooling"],
    ["dropout", "Dropout"],
    ["container", "Block"],
    ["other", "Other"]
  ];
  function typeFamily(cls, leaf = true) {
    if (!leaf) return "container";
    if (/Conv/.test(cls)) return "conv";
    if (/Linear|Bilinear/.test(cls)) return "linear";
    if (/Attention|Transformer/.test(cls)) return "attention";
    if (/^(LSTM|GRU|RNN)(Cell)?$/.test(cls)) return "recurrent";
    if (/Embedding/.test(cls)) return "embedding";
    if (/Norm/.test(cls)) return "norm";
    if (/ReLU|GELU|SiLU|Sigmoid|Tanh|Softmax|Softplus|Mish|ELU|Hardswish|Hardtanh|PReLU|Swish|Softsign|Threshold|GLU|LogSoftmax/.test(cls)) return "activation";
    if (/Pool/.test(cls)) return "pool";
    if (/Dropout/.test(cls)) return "dropout";
    return "other";
  }

  // src/diagram/measure.js
  var NARROW = new Set("il.,:;|!'`ijtf1 ()[]-/\\".split(""));
  var WIDE = new Set("mwMW@%".split(""));
  function textWidth(text, size) {
    let w = 0;
    for (const ch of String(text)) {
      if (NARROW.has(ch)) w += 0.3;
      else if (WIDE.has(ch)) w += 0.86;
      else if (ch >= "A" && ch <= "Z") w += 0.67;
      else if (ch >= "0" && ch <= "9") w += 0.56;
      else if (ch >= "a" && ch <= "z") w += 0.52;
      else w += 0.62;
    }
    return Math.ceil(w * size);
  }

  // src/diagram/style.js
  var FONT = "Helvetica, Arial, sans-serif";
  var SIZE = { name: 11, type: 10, meta: 9, edge: 8.5, header: 10.5 };
  var FAMILY_COLORS = {
    conv: ["#dbeafe", "#2563eb"],
    linear: ["#dcfce7", "#15803d"],
    attention: ["#f5d0fe", "#a21caf"],
    recurrent: ["#ffedd5", "#c2410c"],
    embedding: ["#fef9c3", "#a16207"],
    norm: ["#e0e7ff", "#4f46e5"],
    activation: ["#f1f5f9", "#475569"],
    pool: ["#ccfbf1", "#0f766e"],
    dropout: ["#f5f5f4", "#78716c"],
    container: ["#f8fafc", "#64748b"],
    other: ["#f3f4f6", "#4b5563"]
  };
  var DEVICE_COLORS = [
    ["#dbeafe", "#1d4ed8"],
    ["#fee2e2", "#b91c1c"],
    ["#dcfce7", "#15803d"],
    ["#fef3c7", "#b45309"],
    ["#ede9fe", "#6d28d9"],
    ["#cffafe", "#0e7490"]
  ];
  var EDGE_COLORS = {
    data: "#475569",
    residual: "#c2410c",
    concat: "#7c3aed",
    crossDevice: "#dc2626"
  };
  function ramp(t) {
    const x = Math.max(0, Math.min(1, isFinite(t) ? t : 0));
    const a = [248, 250, 252];
    const b = [30, 64, 175];
    const c = a.map((v, i) => Math.round(v + (b[i] - v) * x));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  }
  function familyOf(tree, vnode) {
    if (vnode.kind === "repeat") {
      const first = tree.nodes.get(vnode.members[0]);
      return typeFamily(first.module.class || "", first.children.length === 0);
    }
    const n = tree.nodes.get(vnode.id);
    if (!n || n.kind !== "module") return "other";
    return typeFamily(n.module.class || "", n.children.length === 0);
  }

  // src/diagram/boxes.js
  var OP_SYMBOLS = {
    add: "+",
    iadd: "+",
    sub: "−",
    cat: "‖",
    concat: "‖",
    stack: "‖",
    mul: "×",
    matmul: "@",
    bmm: "@",
    einsum: "Σ"
  };
  var OP_SHORT = {
    scaled_dot_product_attention: "SDPA",
    layer_norm: "layer norm",
    group_norm: "group norm",
    batch_norm: "batch norm",
    cross_entropy: "cross entropy"
  };
  var OP_MAX_CHARS = 14;
  function opSymbol(op) {
    if (!op) return "?";
    if (OP_SYMBOLS[op]) return OP_SYMBOLS[op];
    const name = OP_SHORT[op] || op;
    return name.length > OP_MAX_CHARS ? name.slice(0, OP_MAX_CHARS - 1) + "…" : name;
  }
  function paramsText(params) {
    const total = params && (params.total ?? params.own);
    return total ? `${formatCount(total)} params` : "";
  }
  function repeatSummary(tree, n) {
    const kids = (n.children || []).map((id) => tree.nodes.get(id)).filter((c) => c && c.kind === "module" && c.module && c.callOf === void 0);
    if (kids.length < 2 || kids.length !== n.children.length) return "";
    const r = kids[0].module.repeat;
    if (!r || !kids.every((c) => c.module.repeat && c.module.repeat.group === r.group)) return "";
    return `${typeLine(kids[0].module)} ×${kids.length}`;
  }
  function nodeLines(tree, v) {
    if (v.kind === "repeat") {
      const first = tree.nodes.get(v.members[0]).module;
      const last = tree.nodes.get(v.members[v.members.length - 1]).module;
      const each = first.params && first.params.total || 0;
      const meta2 = [
        each ? `${formatCount(each * v.count)} params` : "",
        formatShape(outputShape(last))
      ].filter(Boolean).join(" · ");
      return [
        { text: `${typeLine(first)} ×${v.count}`, size: SIZE.name, weight: "bold", role: "name" },
        { text: `${shortName(first.name)} … ${shortName(last.name)}`, size: SIZE.type, role: "type" },
        meta2 ? { text: meta2, size: SIZE.meta, role: "meta" } : null
      ].filter(Boolean);
    }
    const n = tree.nodes.get(v.id);
    if (v.kind === "op") {
      const glyph = !!OP_SYMBOLS[n.op.op];
      return [{
        text: opSymbol(n.op.op),
        size: glyph ? 13 : SIZE.type,
        weight: "bold",
        role: "name",
        title: n.op.op,
        glyph
      }];
    }
    if (v.kind === "input" || v.kind === "output") {
      const word = v.kind === "input" ? "input" : "output";
      const suffix = v.id.slice(v.id.indexOf(":") + 1);
      const label = suffix && suffix !== "0" ? `${word} ${suffix}` : word;
      return [
        { text: label, size: SIZE.type, weight: "bold", role: "name" },
        { text: formatShape(n.shape), size: SIZE.meta, role: "meta" }
      ];
    }
    const m = n.module;
    const name = shortName(m.name);
    const type = !v.open && repeatSummary(tree, n) || typeLine(m);
    const lines = [];
    if (v.open) {
      lines.push({ text: `${name} · ${m.class}`, size: SIZE.header, weight: "bold", role: "name" });
      return lines;
    }
    lines.push({ text: name || m.class, size: SIZE.name, weight: "bold", role: "name" });
    if (type && type !== name) lines.push({ text: type, size: SIZE.type, role: "type" });
    const meta = [paramsText(m.params), formatShape(outputShape(m))].filter(Boolean).join(" · ");
    if (meta) lines.push({ text: meta, size: SIZE.meta, role: "meta" });
    return lines;
  }
  var PAD_X = 8;
  var PAD_Y = 5;
  var LINE_GAP = 2;
  var OP_SIZE = 20;
  var HEADER = 22;
  function nodeSize(lines, kind) {
    if (kind === "op") {
      if (lines[0].glyph !== false) return { width: OP_SIZE, height: OP_SIZE };
      const w2 = textWidth(lines[0].text, lines[0].size) + 12;
      return { width: Math.max(OP_SIZE + 2, w2), height: OP_SIZE - 2 };
    }
    const w = Math.max(...lines.map((l) => textWidth(l.text, l.size)));
    const h2 = lines.reduce((a, l) => a + l.size + LINE_GAP, 0) - LINE_GAP;
    const minW = kind === "input" || kind === "output" ? 60 : 72;
    return { width: Math.max(minW, w + 2 * PAD_X), height: h2 + 2 * PAD_Y + 1 };
  }
  function edgeLabel(edge) {
    return edge.shape ? formatShape(edge.shape) : "";
  }

  // src/diagram/elkgraph.js
  var LAYOUT_OPTIONS = {
    "elk.algorithm": "layered",
    "elk.direction": "DOWN",
    "elk.hierarchyHandling": "INCLUDE_CHILDREN",
    "elk.edgeRouting": "ORTHOGONAL",
    "elk.spacing.nodeNode": "16",
    "elk.layered.spacing.nodeNodeBetweenLayers": "14",
    "elk.layered.spacing.edgeNodeBetweenLayers": "6",
    "elk.spacing.edgeNode": "10",
    "elk.spacing.edgeEdge": "6",
    "elk.spacing.edgeLabel": "2",
    "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
    "elk.layered.nodePlacement.strategy": "NETWORK_SIMPLEX",
    "elk.edgeLabels.placement": "CENTER",
    "elk.layered.edgeLabels.sideSelection": "ALWAYS_DOWN",
    "elk.padding": "[top=12,left=12,bottom=12,right=12]"
  };
  var CONTAINER_PADDING = `[top=${HEADER + 6},left=10,bottom=10,right=10]`;
  function buildElkGraph(tree, folded, opts = {}) {
    const info = /* @__PURE__ */ new Map();
    const elkNodes = /* @__PURE__ */ new Map();
    const root = {
      id: "__root__",
      layoutOptions: { ...LAYOUT_OPTIONS, ...opts.layoutOptions || {} },
      children: [],
      edges: []
    };
    const parentOf = /* @__PURE__ */ new Map();
    const lanes = opts.colorMode === "device" ? deviceLanes(tree, folded) : null;
    const columns = lanes && lanes.orientation === "columns";
    const byId = new Map(folded.nodes.map((v) => [v.id, v]));
    if (lanes && !columns) {
      root.layoutOptions["elk.partitioning.activate"] = "true";
      const gutter = Math.max(...lanes.devices.map((d) => textWidth(d, SIZE.header))) + 20;
      root.layoutOptions["elk.padding"] = `[top=12,left=${Math.ceil(gutter)},bottom=12,right=12]`;
    }
    if (columns) {
      root.layoutOptions["elk.separateConnectedComponents"] = "false";
      root.layoutOptions["elk.spacing.nodeNode"] = String(LANE_GAP);
      lanes.devices.forEach((d, i) => {
        const w = textWidth(d, SIZE.header) + 24;
        const lane = { id: laneId(i), children: [], edges: [], layoutOptions: {
          "elk.padding": `[top=${LANE_HEADER},left=12,bottom=12,right=12]`,
          "elk.nodeSize.minimum": `(${w}, ${LANE_HEADER + 20})`,
          "elk.nodeSize.constraints": "[MINIMUM_SIZE]"
        } };
        elkNodes.set(lane.id, lane);
        parentOf.set(lane.id, null);
        root.children.push(lane);
      });
    }
    for (const v of folded.nodes) {
      if (columns && v.open && !lanes.openOf.has(v.id)) continue;
      const lines = nodeLines(tree, v);
      info.set(v.id, { lines, vnode: v });
      const el = { id: v.id };
      if (v.open) {
        el.children = [];
        el.edges = [];
        el.layoutOptions = { "elk.padding": CONTAINER_PADDING };
        const headerW = Math.max(...lines.map((l) => textWidth(l.text, l.size))) + 20;
        el.layoutOptions["elk.nodeSize.minimum"] = `(${headerW}, ${HEADER + 20})`;
        el.layoutOptions["elk.nodeSize.constraints"] = "[MINIMUM_SIZE]";
      } else {
        Object.assign(el, nodeSize(lines, v.kind));
      }
      let parent = v.parent;
      if (columns) {
        while (parent !== null && !lanes.openOf.has(parent)) parent = byId.get(parent).parent;
        if (parent === null) parent = laneId(v.open ? lanes.openOf.get(v.id) : lanes.of.get(v.id));
      } else if (lanes) {
        if (v.open) el.layoutOptions["elk.partitioning.activate"] = "true";
        if (lanes.of.has(v.id)) {
          el.layoutOptions = { ...el.layoutOptions || {}, "elk.partitioning.partition": String(lanes.of.get(v.id)) };
        }
      }
      elkNodes.set(v.id, el);
      parentOf.set(v.id, parent);
      (parent === null ? root : elkNodes.get(parent)).children.push(el);
    }
    const ancestors = (id) => {
      const chain = [];
      let p = parentOf.get(id);
      while (p !== null && p !== void 0) {
        chain.push(p);
        p = parentOf.get(p);
      }
      return chain;
    };
    const labelled = /* @__PURE__ */ new Set();
    const laneEdges = [];
    folded.edges.forEach((e, i) => {
      if (!elkNodes.has(e.src) || !elkNodes.has(e.dst)) return;
      if (columns && lanes.of.get(e.src) !== lanes.of.get(e.dst)) {
        laneEdges.push({ edge: e, from: lanes.of.get(e.src), to: lanes.of.get(e.dst) });
        return;
      }
      const up = new Set(ancestors(e.src));
      const lca = ancestors(e.dst).find((a) => up.has(a));
      const container = lca === void 0 ? root : elkNodes.get(lca);
      const edge = { id: `e${i}`, sources: [e.src], targets: [e.dst] };
      const text = opts.edgeLabels === false ? "" : edgeLabel(e);
      if (text && !labelled.has(e.src) && folded.nodes.length < 400) {
        labelled.add(e.src);
        edge.labels = [{
          id: `e${i}l`,
          text,
          width: textWidth(text, SIZE.edge) + 4,
          height: SIZE.edge + 3
        }];
      }
      container.edges.push(edge);
      info.set(edge.id, { edge: e, container: lca === void 0 ? null : lca });
    });
    if (lanes) info.lanes = lanes;
    if (columns) info.laneEdges = laneEdges;
    return { graph: root, info };
  }
  var LANE_HEADER = 28;
  var LANE_GAP = 44;
  var laneId = (i) => `__lane:${i}`;
  function ranks(folded) {
    const succ = new Map(folded.nodes.map((v) => [v.id, []]));
    const indeg = new Map(folded.nodes.map((v) => [v.id, 0]));
    for (const e of folded.edges) {
      if (!succ.has(e.src) || !indeg.has(e.dst) || e.src === e.dst) continue;
      succ.get(e.src).push(e.dst);
      indeg.set(e.dst, indeg.get(e.dst) + 1);
    }
    const rank = /* @__PURE__ */ new Map();
    const queue = [...indeg].filter(([, d]) => d === 0).map(([id]) => id);
    for (const id of queue) rank.set(id, 0);
    while (queue.length) {
      const id = queue.shift();
      for (const s of succ.get(id)) {
        rank.set(s, Math.max(rank.get(s) ?? 0, rank.get(id) + 1));
        indeg.set(s, indeg.get(s) - 1);
        if (indeg.get(s) === 0) queue.push(s);
      }
    }
    return rank;
  }
  function deviceLanes(tree, folded) {
    const devOf = /* @__PURE__ */ new Map();
    for (const v of folded.nodes) {
      if (v.open) continue;
      const ids = v.kind === "repeat" ? v.members : [v.id];
      const devs = /* @__PURE__ */ new Set();
      for (const id of ids) {
        const n = tree.nodes.get(id);
        for (const d of n && n.module && n.module.devices || []) devs.add(d);
      }
      if (devs.size === 1) devOf.set(v.id, [...devs][0]);
    }
    const devices = [...new Set(devOf.values())].sort();
    if (devices.length < 2) return null;
    const of = new Map([...devOf].map(([id, d]) => [id, devices.indexOf(d)]));
    const byId = new Map(folded.nodes.map((v) => [v.id, v]));
    for (let pass = 0; pass < 3; pass++) {
      for (const e of folded.edges) {
        if (!of.has(e.dst) && of.has(e.src)) {
          const v = byId.get(e.dst);
          if (v && !v.open) of.set(e.dst, of.get(e.src));
        }
      }
    }
    for (const e of folded.edges) if (!of.has(e.src) && of.has(e.dst) && /^input:/.test(e.src)) of.set(e.src, of.get(e.dst));
    const rank = ranks(folded);
    const span = devices.map(() => [Infinity, -Infinity]);
    for (const [id, lane] of of) {
      if (!devOf.has(id) || !rank.has(id)) continue;
      span[lane][0] = Math.min(span[lane][0], rank.get(id));
      span[lane][1] = Math.max(span[lane][1], rank.get(id));
    }
    const order = devices.map((_, i) => i).filter((i) => isFinite(span[i][0])).sort((a, b) => span[a][0] - span[b][0]);
    let sequential = true;
    for (let k = 1; k < order.length; k++) {
      if (span[order[k]][0] <= span[order[k - 1]][1]) sequential = false;
    }
    const pos = new Map(order.map((lane, k) => [lane, k]));
    for (const e of folded.edges) {
      const a = of.get(e.src);
      const b = of.get(e.dst);
      if (a !== void 0 && b !== void 0 && a !== b && (pos.get(a) ?? 0) > (pos.get(b) ?? 0)) sequential = false;
    }
    const orientation = sequential ? "bands" : "columns";
    if (!sequential) {
      for (const v of folded.nodes) if (!v.open && !of.has(v.id)) of.set(v.id, 0);
    }
    const inside = /* @__PURE__ */ new Map();
    for (const v of folded.nodes) {
      if (v.open) continue;
      for (let p = v.parent; p !== null && p !== void 0; p = byId.get(p).parent) {
        if (!inside.has(p)) inside.set(p, /* @__PURE__ */ new Set());
        inside.get(p).add(of.has(v.id) ? of.get(v.id) : -1);
      }
    }
    const openOf = /* @__PURE__ */ new Map();
    for (const [id, set] of inside) if (set.size === 1 && !set.has(-1)) openOf.set(id, [...set][0]);
    return { devices, of, openOf, orientation };
  }
  function alignLanes(laid, info) {
    const lanes = (laid.children || []).filter((c) => c.id.startsWith("__lane:"));
    if (!lanes.length) return;
    const top = Math.min(...lanes.map((l) => l.y || 0));
    for (const l of lanes) l.y = top;
    const where = /* @__PURE__ */ new Map();
    const walk = (el, oy, lane, outer) => {
      for (const c of el.children || []) {
        const y = oy + (c.y || 0);
        where.set(c.id, { y, height: c.height, lane, outer: outer || c });
        walk(c, y, lane, outer || c);
      }
    };
    for (const l of lanes) walk(l, l.y, l, null);
    const shift = /* @__PURE__ */ new Map();
    for (const { edge } of info.laneEdges) {
      const a = where.get(edge.src);
      const b = where.get(edge.dst);
      if (!a || !b) continue;
      const outerTop = where.get(b.outer.id).y;
      const need = a.y + a.height + 24 - outerTop;
      if (outerTop - b.lane.y > LANE_HEADER + 40) continue;
      shift.set(b.lane, Math.max(shift.get(b.lane) || 0, need));
    }
    for (const [lane, dy] of shift) {
      if (dy <= 0) continue;
      for (const c of lane.children || []) c.y = (c.y || 0) + dy;
      for (const e of lane.edges || []) {
        for (const sec of e.sections || []) {
          for (const p of [sec.startPoint, ...sec.bendPoints || [], sec.endPoint]) p.y += dy;
        }
        for (const lab of e.labels || []) if (lab.y !== void 0) lab.y += dy;
      }
      lane.height += dy;
    }
    const bottom = Math.max(...lanes.map((l) => l.y + l.height));
    laid.height = Math.max(laid.height || 0, bottom + 12);
  }
  function laneRoutes(nodes, info) {
    const boxes = [...info].filter(([id, m]) => m && m.vnode && nodes.has(id)).map(([id, m]) => m.vnode.open ? { ...nodes.get(id), height: HEADER + 6 } : nodes.get(id));
    const clear = (y, x0, x1, dir) => {
      const lo = Math.min(x0, x1);
      const hi = Math.max(x0, x1);
      for (let guard = 0; guard < 50; guard++) {
        const hit = boxes.find((b) => b.x < hi && b.x + b.width > lo && b.y - 3 < y && b.y + b.height + 3 > y);
        if (!hit) return y;
        y = dir > 0 ? hit.y + hit.height + 5 : hit.y - 5;
      }
      return y;
    };
    const perGap = /* @__PURE__ */ new Map();
    const out = [];
    for (const { edge, from, to } of info.laneEdges || []) {
      const a = nodes.get(edge.src);
      const b = nodes.get(edge.dst);
      const la = nodes.get(laneId(from));
      const lb = nodes.get(laneId(to));
      if (!a || !b || !la || !lb) continue;
      const key = `${Math.min(from, to)}|${Math.max(from, to)}`;
      const k = perGap.get(key) || 0;
      perGap.set(key, k + 1);
      const gap = la.x < lb.x ? (la.x + la.width + lb.x) / 2 : (lb.x + lb.width + la.x) / 2;
      const gx = gap + (k % 2 ? 1 : -1) * Math.ceil(k / 2) * 5;
      const sx = a.x + a.width / 2;
      const sy = a.y + a.height;
      const tx = b.x + b.width / 2;
      const ty = b.y;
      const y1 = clear(sy + 7, sx, gx, 1);
      const y2 = clear(ty - 7, gx, tx, -1);
      out.push({ edge, lane: true, label: null, points: [
        { x: sx, y: sy },
        { x: sx, y: y1 },
        { x: gx, y: y1 },
        { x: gx, y: y2 },
        { x: tx, y: y2 },
        { x: tx, y: ty }
      ] });
    }
    return out;
  }
  function absolutize(laid, info) {
    const nodes = /* @__PURE__ */ new Map();
    const edges = [];
    const walk = (el, ox, oy) => {
      for (const c of el.children || []) {
        const x = ox + (c.x || 0);
        const y = oy + (c.y || 0);
        nodes.set(c.id, { x, y, width: c.width, height: c.height });
        walk(c, x, y);
      }
    };
    if (info.laneEdges) alignLanes(laid, info);
    walk(laid, 0, 0);
    const collect = (el, ox, oy) => {
      for (const e of el.edges || []) {
        const meta = info.get(e.id);
        const box = e.container && nodes.get(e.container);
        const ex = box ? box.x : e.container === laid.id ? 0 : ox;
        const ey = box ? box.y : e.container === laid.id ? 0 : oy;
        for (const s of e.sections || []) {
          const pts = [s.startPoint, ...s.bendPoints || [], s.endPoint].map((p) => ({ x: p.x + ex, y: p.y + ey }));
          const lab = (e.labels || [])[0];
          edges.push({
            edge: meta.edge,
            points: pts,
            label: lab && lab.x !== void 0 ? {
              text: lab.text,
              x: lab.x + ex,
              y: lab.y + ey,
              width: lab.width,
              height: lab.height
            } : null
          });
        }
      }
      for (const c of el.children || []) {
        if (c.children) {
          const abs = nodes.get(c.id);
          collect(c, abs.x, abs.y);
        }
      }
    };
    collect(laid, 0, 0);
    if (info.laneEdges) edges.push(...laneRoutes(nodes, info));
    return { nodes, edges, width: laid.width || 0, height: laid.height || 0 };
  }

  // src/diagram/render.js
  function h(tag, attrs, ...children) {
    return { tag, attrs: attrs || {}, children: children.flat().filter((c) => c !== null && c !== void 0 && c !== false) };
  }
  var ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  var esc = (s) => String(s).replace(/[&<>"']/g, (c) => ESC[c]);
  function toSvgString(el) {
    if (typeof el === "string" || typeof el === "number") return esc(el);
    const attrs = Object.entries(el.attrs).filter(([, v]) => v !== null && v !== void 0).map(([k, v]) => ` ${k}="${esc(v)}"`).join("");
    if (!el.children.length) return `<${el.tag}${attrs}/>`;
    return `<${el.tag}${attrs}>${el.children.map(toSvgString).join("")}</${el.tag}>`;
  }
  function nodeDevices(tree, v) {
    const ids = v.kind === "repeat" ? v.members : [v.id];
    const out = /* @__PURE__ */ new Set();
    for (const id of ids) {
      const n = tree.nodes.get(id);
      for (const d of n && n.module && n.module.devices || []) out.add(d);
    }
    return [...out].sort();
  }
  function nodeParams(tree, v) {
    if (v.kind === "repeat") {
      return v.members.reduce((a, id) => a + ((tree.nodes.get(id).module.params || {}).total || 0), 0);
    }
    const n = tree.nodes.get(v.id);
    return n && n.module && n.module.params && n.module.params.total || 0;
  }
  function nodeColors(tree, v, opts, ctx) {
    const mode = opts.colorMode || "type";
    if (v.kind === "op") return ["#ffffff", "#334155"];
    if (v.kind === "input" || v.kind === "output") return ["#ffffff", "#334155"];
    if (mode === "params" && !v.open) {
      const p = nodeParams(tree, v);
      const t = p > 0 ? Math.log10(p + 1) / Math.log10(ctx.maxParams + 1) : 0;
      return [ramp(t * 0.85), t > 0.55 ? "#1e3a8a" : "#64748b", t > 0.6 ? "#ffffff" : null];
    }
    if (mode === "device") {
      const devs = nodeDevices(tree, v);
      if (devs.length === 1) return DEVICE_COLORS[ctx.devices.indexOf(devs[0]) % DEVICE_COLORS.length];
      return v.open ? ["#ffffff", "#94a3b8"] : ["#f3f4f6", "#6b7280"];
    }
    if (mode === "value" && !v.open) {
      const n = tree.nodes.get(v.id);
      let val = ctx.blockValues.get(v.id);
      if (val === void 0 && n && n.callOf !== void 0) val = ctx.blockValues.get(n.callOf);
      if (val === void 0 || val === null) return ["#ffffff", "#cbd5e1"];
      if (!isFinite(val)) return BAD_VALUE;
      return [ramp(valueT(val, ctx) * 0.85), "#475569", valueT(val, ctx) > 0.7 ? "#ffffff" : null];
    }
    if (v.open) return ["#ffffff", "#94a3b8"];
    return FAMILY_COLORS[familyOf(tree, v)];
  }
  var BAD_VALUE = ["#fecaca", "#dc2626", "#7f1d1d"];
  function worse(a, b) {
    if (a === void 0) return b;
    if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
    if (!isFinite(a)) return a;
    if (!isFinite(b)) return b;
    return Math.max(a, b);
  }
  function valueT(val, ctx) {
    const [lo, hi] = ctx.valueRange;
    if (ctx.valueLog) return (Math.log10(Math.max(val, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
    return hi > lo ? (val - lo) / (hi - lo) : 0.5;
  }
  function blockValuesOf(folded, values) {
    const out = /* @__PURE__ */ new Map();
    for (const [name, raw] of Object.entries(values || {})) {
      const val = typeof raw === "string" ? Number(raw) : raw;
      if (typeof val !== "number") continue;
      const vis = folded.rep ? folded.rep.get(name) : name;
      if (vis === void 0) continue;
      out.set(vis, worse(out.get(vis), val));
    }
    return out;
  }
  function colorContext(tree, folded, opts) {
    let maxParams = 1;
    const devices = /* @__PURE__ */ new Set();
    for (const v of folded.nodes) {
      if (!v.open) maxParams = Math.max(maxParams, nodeParams(tree, v));
      for (const d of nodeDevices(tree, v)) devices.add(d);
    }
    const blockValues = blockValuesOf(folded, opts.values);
    const closed = new Set(folded.nodes.filter((v) => !v.open).map((v) => v.id));
    const vals = [...blockValues].filter(([id, x]) => closed.has(id) && isFinite(x)).map(([, x]) => x);
    const lo = vals.length ? Math.min(...vals) : 0;
    const hi = vals.length ? Math.max(...vals) : 1;
    return {
      maxParams,
      devices: [...devices].sort(),
      blockValues,
      valueRange: [lo, hi],
      valueLog: lo > 0 && hi / lo >= 100,
      valueBad: [...blockValues].some(([id, x]) => closed.has(id) && !isFinite(x))
    };
  }
  function edgeDevicesDiffer(tree, folded, e) {
    const a = folded.nodes.find((v) => v.id === e.src);
    const b = folded.nodes.find((v) => v.id === e.dst);
    if (!a || !b) return false;
    const da = nodeDevices(tree, a);
    const db = nodeDevices(tree, b);
    return da.length === 1 && db.length === 1 && da[0] !== db[0];
  }
  function crossesDevices(tree, folded, geo, e) {
    const lanes = geo.info && geo.info.lanes;
    if (lanes && lanes.of.has(e.src) && lanes.of.has(e.dst)) return lanes.of.get(e.src) !== lanes.of.get(e.dst);
    return edgeDevicesDiffer(tree, folded, e);
  }
  function pathOf(points) {
    return points.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(" ");
  }
  function textLines(lines, x, y, width, height, color) {
    const total = lines.reduce((a, l) => a + l.size + LINE_GAP, 0) - LINE_GAP;
    let cy = y + (height - total) / 2;
    return lines.map((l) => {
      cy += l.size;
      const t = h("text", {
        x: (x + width / 2).toFixed(1),
        y: (cy - 1.5).toFixed(1),
        "text-anchor": "middle",
        "font-size": l.size,
        "font-weight": l.weight || null,
        fill: l.role === "meta" ? color ? color : "#475569" : color || "#0f172a",
        class: `label-${l.role}`
      }, l.text);
      cy += LINE_GAP;
      return t;
    });
  }
  function renderDiagram(tree, folded, geo, opts = {}) {
    const ctx = colorContext(tree, folded, opts);
    const margin = 8;
    const legend = opts.legend ? legendItems(tree, folded, opts, ctx) : [];
    const legendRows = layoutLegend(legend, Math.max(geo.width, 260));
    const legendH = legendRows.length ? legendRows.length * 18 + 6 : 0;
    const width = Math.ceil(Math.max(geo.width, legendRows.length ? 260 : 0) + 2 * margin);
    const height = Math.ceil(geo.height + 2 * margin + legendH);
    const byId = new Map(folded.nodes.map((v) => [v.id, v]));
    const diff = opts.diff || {};
    const highlight = opts.highlight || /* @__PURE__ */ new Set();
    const containers = [];
    const blocks = [];
    for (const v of folded.nodes) {
      const box = geo.nodes.get(v.id);
      if (!box) continue;
      const [fill, stroke, textColor] = nodeColors(tree, v, opts, ctx);
      const cls = ["node", `kind-${v.kind}`, v.open ? "open" : "closed"];
      let strokeColor = stroke;
      let strokeWidth = v.open ? 1 : 1.2;
      if (diff.added && diff.added.has(v.id)) {
        strokeColor = "#16a34a";
        strokeWidth = 3;
        cls.push("diff-added");
      }
      if (diff.changed && diff.changed.has(v.id)) {
        strokeColor = "#d97706";
        strokeWidth = 3;
        cls.push("diff-changed");
      }
      if (highlight.has(v.id)) {
        cls.push("highlight");
      }
      if (opts.selected === v.id) {
        strokeColor = "#e11d48";
        strokeWidth = 2.5;
        cls.push("selected");
      }
      const g = h("g", {
        class: cls.join(" "),
        "data-id": v.id,
        transform: `translate(${box.x.toFixed(1)},${box.y.toFixed(1)})`
      });
      const lines = geo.info.get(v.id).lines;
      if (v.kind === "op") {
        const l = lines[0];
        if (l.title) g.children.push(h("title", null, l.title));
        if (box.width > box.height) {
          g.children.push(h("rect", {
            width: box.width,
            height: box.height,
            rx: box.height / 2,
            fill,
            stroke: strokeColor,
            "stroke-width": strokeWidth
          }));
        } else {
          const r = box.width / 2;
          g.children.push(h("circle", { cx: r, cy: r, r, fill, stroke: strokeColor, "stroke-width": strokeWidth }));
        }
        g.children.push(h("text", {
          x: (box.width / 2).toFixed(1),
          y: (box.height / 2 + l.size * 0.35).toFixed(1),
          "text-anchor": "middle",
          "font-size": l.size,
          "font-weight": "bold",
          fill: "#0f172a",
          class: "label-name"
        }, l.text));
        blocks.push(g);
        continue;
      }
      if (v.kind === "repeat") {
        for (const off of [6, 3]) {
          g.children.push(h("rect", {
            x: off,
            y: off,
            width: box.width,
            height: box.height,
            rx: 4,
            fill,
            stroke,
            "stroke-width": 0.8,
            opacity: 0.9
          }));
        }
      }
      const rx = v.kind === "input" || v.kind === "output" ? box.height / 2 : v.open ? 6 : 4;
      if (highlight.has(v.id)) {
        g.children.push(h("rect", {
          x: -4,
          y: -4,
          width: box.width + 8,
          height: box.height + 8,
          rx: rx + 3,
          fill: "none",
          stroke: "#f59e0b",
          "stroke-width": 3,
          class: "halo"
        }));
      }
      g.children.push(h("rect", {
        width: box.width,
        height: box.height,
        rx,
        fill,
        stroke: strokeColor,
        "stroke-width": strokeWidth,
        "stroke-dasharray": v.open ? "4 3" : null
      }));
      if (v.open) {
        g.children.push(h("text", {
          x: 8,
          y: PAD_Y + lines[0].size + 2,
          "font-size": lines[0].size,
          "font-weight": "bold",
          fill: "#334155",
          class: "label-name"
        }, lines[0].text));
        containers.push(g);
      } else {
        g.children.push(...textLines(lines, 0, 0, box.width, box.height, textColor));
        blocks.push(g);
      }
    }
    const edgeEls = [];
    const labelEls = [];
    for (const item of geo.edges) {
      const e = item.edge;
      const cross = opts.colorMode === "device" && crossesDevices(tree, folded, geo, e);
      const color = cross ? EDGE_COLORS.crossDevice : EDGE_COLORS[e.kind] || EDGE_COLORS.data;
      edgeEls.push(h("path", {
        d: pathOf(item.points),
        fill: "none",
        stroke: color,
        "stroke-width": cross ? 2.4 : e.kind === "residual" ? 1.6 : 1.1,
        "stroke-dasharray": e.kind === "residual" ? "5 3" : null,
        "marker-end": `url(#arrow-${cross ? "crossDevice" : e.kind in EDGE_COLORS ? e.kind : "data"})`,
        class: `edge edge-${e.kind}${cross ? " cross-device" : ""}`,
        "data-src": e.src,
        "data-dst": e.dst
      }));
      if (item.label) {
        const lab = item.label;
        labelEls.push(h(
          "g",
          { class: "edge-label" },
          h("rect", {
            x: lab.x.toFixed(1),
            y: lab.y.toFixed(1),
            width: lab.width,
            height: lab.height,
            fill: "#ffffff",
            opacity: 0.9
          }),
          h("text", {
            x: (lab.x + lab.width / 2).toFixed(1),
            y: (lab.y + lab.height - 2.5).toFixed(1),
            "text-anchor": "middle",
            "font-size": SIZE.edge,
            fill: "#475569"
          }, lab.text)
        ));
      }
    }
    const markers = Object.entries(EDGE_COLORS).map(([k, c]) => h("marker", {
      id: `arrow-${k}`,
      viewBox: "0 0 10 10",
      refX: 9,
      refY: 5,
      markerWidth: 7,
      markerHeight: 7,
      orient: "auto-start-reverse"
    }, h("path", { d: "M0 1 L10 5 L0 9 z", fill: c })));
    void byId;
    return h(
      "svg",
      {
        xmlns: "http://www.w3.org/2000/svg",
        width,
        height,
        viewBox: `0 0 ${width} ${height}`,
        "font-family": FONT,
        class: "archviz-diagram"
      },
      h("defs", null, ...markers),
      opts.background === false ? null : h("rect", { width, height, fill: "#ffffff", class: "background" }),
      h(
        "g",
        { transform: `translate(${margin},${margin})`, class: "viewport" },
        opts.colorMode === "device" ? laneBands(folded, geo, ctx, false) : null,
        h("g", { class: "containers" }, ...containers),
        h("g", { class: "edges" }, ...edgeEls),
        h("g", { class: "blocks" }, ...blocks),
        h("g", { class: "edge-labels" }, ...labelEls),
        opts.colorMode === "device" ? laneBands(folded, geo, ctx, true) : null
      ),
      legendRows.length ? drawLegend(legendRows, margin, height - legendH + 4) : null
    );
  }
  function laneBands(folded, geo, ctx, labels) {
    const lanes = geo.info && geo.info.lanes;
    if (!lanes) return null;
    const g = h("g", { class: labels ? "lane-labels" : "lanes" });
    const columns = lanes.orientation === "columns";
    const tallest = columns ? Math.max(0, ...lanes.devices.map((d, i) => (geo.nodes.get(laneId(i)) || { height: 0 }).height)) : 0;
    lanes.devices.forEach((d, i) => {
      let box;
      if (columns) {
        const b = geo.nodes.get(laneId(i));
        if (!b) return;
        box = { x: b.x, y: b.y, width: b.width, height: tallest };
      } else {
        let y0 = Infinity;
        let y1 = -Infinity;
        for (const [id, lane] of [...lanes.of, ...lanes.openOf || []]) {
          const b = geo.nodes.get(id);
          if (lane !== i || !b) continue;
          y0 = Math.min(y0, b.y);
          y1 = Math.max(y1, b.y + b.height);
        }
        if (!isFinite(y0)) return;
        box = { x: 0, y: y0 - 4, width: geo.width, height: y1 - y0 + 8 };
      }
      const [fill, stroke] = DEVICE_COLORS[ctx.devices.indexOf(d) % DEVICE_COLORS.length] || DEVICE_COLORS[0];
      g.children.push(labels ? h("text", {
        class: "lane-label",
        "data-device": d,
        x: (box.x + (columns ? 10 : 4)).toFixed(1),
        y: (box.y + (columns ? 18 : 14)).toFixed(1),
        "font-size": SIZE.header,
        "font-weight": "bold",
        fill: stroke
      }, d) : h("rect", {
        class: "lane",
        "data-device": d,
        "data-orientation": lanes.orientation,
        x: box.x.toFixed(1),
        y: box.y.toFixed(1),
        width: box.width.toFixed(1),
        height: box.height.toFixed(1),
        rx: columns ? 6 : 0,
        fill,
        opacity: 0.35,
        stroke,
        "stroke-dasharray": "2 3"
      }));
    });
    return g;
  }
  function legendItems(tree, folded, opts, ctx) {
    const mode = opts.colorMode || "type";
    if (mode === "type") {
      const present = new Set(folded.nodes.filter((v) => v.kind === "module" || v.kind === "repeat").filter((v) => !v.open).map((v) => familyOf(tree, v)));
      const items = TYPE_FAMILIES.filter(([k]) => present.has(k)).map(([k, label]) => [...FAMILY_COLORS[k], label]);
      if (folded.edges.some((e) => e.kind === "residual")) items.push(["none", EDGE_COLORS.residual, "residual path"]);
      return items;
    }
    if (mode === "device") {
      return ctx.devices.map((d, i) => [...DEVICE_COLORS[i % DEVICE_COLORS.length], d]).concat([["none", EDGE_COLORS.crossDevice, "cross-device"]]);
    }
    if (mode === "params") return [[ramp(0.05), "#64748b", "few params"], [ramp(0.85), "#1e3a8a", "most params"]];
    if (mode === "value") {
      const [lo, hi] = ctx.valueRange;
      const label = opts.valueLabel ? `${opts.valueLabel}: ` : "";
      const items = [];
      for (const t of [0, 0.5, 1]) {
        const v = ctx.valueLog ? 10 ** (Math.log10(lo) + t * (Math.log10(hi) - Math.log10(lo))) : lo + t * (hi - lo);
        items.push([ramp(t * 0.85), "#475569", (t === 0 ? label : "") + formatValue(v) + (t === 0.5 && ctx.valueLog ? " (log scale)" : "")]);
      }
      if (ctx.valueBad) items.push([BAD_VALUE[0], BAD_VALUE[1], "NaN / Inf"]);
      items.push(["#ffffff", "#cbd5e1", "not measured"]);
      return items;
    }
    return [];
  }
  function formatValue(v) {
    if (!isFinite(v)) return String(v);
    if (v === 0) return "0";
    const a = Math.abs(v);
    if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
    return String(Number(v.toPrecision(3)));
  }
  function layoutLegend(items, maxWidth) {
    const rows = [];
    let row = [];
    let x = 0;
    for (const item of items) {
      const w = 26 + textWidth(item[2], 9.5);
      if (row.length && x + w > maxWidth) {
        rows.push(row);
        row = [];
        x = 0;
      }
      row.push([x, item]);
      x += w;
    }
    if (row.length) rows.push(row);
    return rows;
  }
  function drawLegend(rows, x0, y0) {
    const g = h("g", { class: "legend", transform: `translate(${x0},${y0})` });
    rows.forEach((row, r) => {
      const y = r * 18;
      for (const [x, [fill, stroke, text]] of row) {
        if (fill === "none") {
          g.children.push(h("line", {
            x1: x,
            y1: y + 7,
            x2: x + 16,
            y2: y + 7,
            stroke,
            "stroke-width": 2,
            "stroke-dasharray": "5 3"
          }));
        } else {
          g.children.push(h("rect", { x, y: y + 1, width: 16, height: 12, rx: 2, fill, stroke }));
        }
        g.children.push(h("text", { x: x + 20, y: y + 11, "font-size": 9.5, fill: "#334155" }, text));
      }
    });
    return g;
  }

  // src/views/volumes_layout.js
  function mapOf(shape) {
    if (!Array.isArray(shape) || shape.length < 2) return null;
    if (shape.length === 4) return { c: shape[1], h: shape[2], w: shape[3] };
    if (shape.length === 3) return { c: shape[1], h: shape[2], w: 1 };
    if (shape.length === 5) return { c: shape[1], h: shape[3], w: shape[4] };
    if (shape.length === 2) return { c: shape[1], h: 1, w: 1, vector: true };
    return null;
  }
  function dimsLabel(d) {
    return d.vector ? `${d.c}` : `${d.h}×${d.w}×${d.c}`;
  }
  function sameDims(a, b) {
    return a && b && a.c === b.c && a.h === b.h && a.w === b.w;
  }
  function logSize(n, lo, step, hi) {
    return Math.min(hi, lo + step * Math.log2(Math.max(1, n)));
  }
  function firstOutput(node) {
    const io = node.io && node.io[0];
    const out = io ? io.outputs : node.outputs;
    return out && out.length ? out[0].shape : null;
  }
  function firstInput(node) {
    const io = node.io && node.io[0];
    const inp = io ? io.inputs : node.inputs;
    return inp && inp.length ? inp[0].shape : null;
  }
  function featureMaps(record) {
    const mods = new Map((record.modules || []).map((m) => [m.name, m]));
    const nodes = [];
    (record.inputs || []).forEach((t, i) => {
      const d = mapOf(t.shape);
      if (d && !d.vector) nodes.push({ id: `input:${i}`, cls: "input", order: -1, dims: d });
    });
    const idOrder = (id) => {
      const base = id.split("#")[0];
      const m = mods.get(base);
      return m ? m.order : null;
    };
    for (const m of record.modules || []) {
      if (!m.leaf || m.order === null || m.order === void 0) continue;
      nodes.push({
        id: m.name,
        cls: m.class,
        order: m.order,
        dims: mapOf(firstOutput(m)),
        inDims: mapOf(firstInput(m)),
        module: m.name
      });
    }
    for (const op of record.ops || []) {
      nodes.push({
        id: op.id,
        cls: op.op,
        order: op.order,
        dims: mapOf(firstOutput(op)),
        inDims: mapOf(firstInput(op)),
        module: op.scope,
        op: true
      });
    }
    const known = new Set(nodes.map((n) => n.id));
    for (const e of record.edges || []) {
      for (const id of [e.src, e.dst]) {
        if (!known.has(id) && id.includes("#") && mods.has(id.split("#")[0])) {
          const m = mods.get(id.split("#")[0]);
          known.add(id);
          nodes.push({
            id,
            cls: m.class,
            order: (idOrder(id) ?? 0) + 0.5,
            dims: mapOf(firstOutput(m)),
            inDims: mapOf(firstInput(m)),
            module: m.name
          });
        }
      }
    }
    return nodes;
  }
  function volumeLayout(record, opts = {}) {
    const all = featureMaps(record);
    const byId = new Map(all.map((n) => [n.id, n]));
    const preds = new Map(all.map((n) => [n.id, []]));
    for (const e of record.edges || []) {
      if (byId.has(e.src) && byId.has(e.dst)) preds.get(e.dst).push(e.src);
    }
    const anyMap = all.some((n) => n.dims && !n.dims.vector);
    if (!anyMap) return { boxes: [], edges: [], width: 0, height: 0 };
    const lastMapOrder = Math.max(...all.filter((n) => n.dims && !n.dims.vector).map((n) => n.order));
    const keep = (n) => {
      if (!n.dims) return false;
      if (n.id.startsWith("input:")) return true;
      if (n.dims.vector && n.order < lastMapOrder) return false;
      const fam = n.op ? n.cls === "cat" || n.cls === "concat" || n.cls === "stack" ? "concat" : "op" : typeFamily(n.cls, true);
      if (fam === "conv" || fam === "pool" || fam === "linear" || fam === "concat") return true;
      return !sameDims(n.dims, n.inDims);
    };
    const kept = new Set(all.filter(keep).map((n) => n.id));
    const sorted = [...all].sort((a, b) => a.order - b.order);
    const anc = /* @__PURE__ */ new Map();
    for (const n of sorted) {
      const set = /* @__PURE__ */ new Set();
      for (const p of preds.get(n.id)) {
        if (kept.has(p)) set.add(p);
        else for (const q of anc.get(p) || []) set.add(q);
      }
      anc.set(n.id, set);
    }
    const boxes = sorted.filter((n) => kept.has(n.id));
    const rank = /* @__PURE__ */ new Map();
    for (const b of boxes) {
      let r = 0;
      for (const p of anc.get(b.id)) r = Math.max(r, (rank.get(p) ?? 0) + 1);
      rank.set(b.id, r);
    }
    const edges = [];
    for (const b of boxes) for (const p of anc.get(b.id)) edges.push({ src: p, dst: b.id });
    const gap = opts.gap ?? 34;
    const geo = boxes.map((b) => {
      const d = b.dims;
      const thick = d.vector ? 6 : logSize(d.c, 4, 5, 48);
      const hgt = d.vector ? logSize(d.c, 20, 12, 150) : logSize(d.h, 14, 18, 150);
      const dep = d.vector ? 6 : logSize(d.w, 10, 9, 80) * 0.6;
      return { ...b, rank: rank.get(b.id), thick, hgt, dep, label: dimsLabel(d) };
    });
    const cols = [];
    for (const g of geo) (cols[g.rank] = cols[g.rank] || []).push(g);
    let x = 20;
    const top = 30;
    let height = 0;
    const stackH = (col) => col.reduce((s, g) => s + g.hgt + g.dep + 44, 0);
    const tallest = Math.max(...cols.filter(Boolean).map(stackH));
    for (const col of cols.filter(Boolean)) {
      const colW = Math.max(...col.map((g) => g.thick + g.dep), 40);
      let y = top + (tallest - stackH(col)) / 2;
      for (const g of col) {
        g.x = x + (colW - g.thick - g.dep) / 2;
        g.y = y + g.dep;
        y += g.hgt + g.dep + 44;
      }
      height = Math.max(height, y);
      x += colW + gap;
    }
    return { boxes: geo, edges, width: x, height: height + 10 };
  }

  // src/views/volumes_draw.js
  function volumeColors(cls) {
    if (cls === "input") return ["#f1f5f9", "#334155"];
    return FAMILY_COLORS[typeFamily(cls, true)] || FAMILY_COLORS.other;
  }
  function volumesContent(lay) {
    const at = new Map(lay.boxes.map((b) => [b.id, b]));
    const edges = h("g", { class: "edges" });
    for (const e of lay.edges) {
      const a = at.get(e.src);
      const b = at.get(e.dst);
      const x1 = a.x + a.thick + a.dep / 2;
      const y1 = a.y + a.hgt / 2 - a.dep / 2;
      const x2 = b.x;
      const y2 = b.y + b.hgt / 2;
      const mx = (x1 + x2) / 2;
      edges.children.push(h("path", {
        class: "edge",
        "data-src": e.src,
        "data-dst": e.dst,
        d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`,
        fill: "none",
        stroke: "#94a3b8",
        "stroke-width": 1.2
      }));
    }
    const boxes = h("g", { class: "boxes" });
    for (const b of lay.boxes) {
      const [fillc, stroke] = volumeColors(b.cls);
      const { x, y, thick: t, hgt: hh, dep: d } = b;
      boxes.children.push(h(
        "g",
        { class: "volume", "data-id": b.id, "data-dims": b.label },
        h("title", null, `${b.id} (${b.cls}) ${b.label}`),
        h("polygon", {
          class: "side",
          points: `${x + t},${y} ${x + t + d},${y - d} ${x + t + d},${y - d + hh} ${x + t},${y + hh}`,
          fill: fillc,
          stroke,
          "stroke-width": 0.8,
          "fill-opacity": 0.75
        }),
        h("polygon", {
          class: "top",
          points: `${x},${y} ${x + d},${y - d} ${x + t + d},${y - d} ${x + t},${y}`,
          fill: fillc,
          stroke,
          "stroke-width": 0.8
        }),
        h("rect", { class: "front", x, y, width: t, height: hh, fill: fillc, stroke, "stroke-width": 1 }),
        h("text", { class: "dims", x: x + (t + d) / 2, y: y + hh + 14, "text-anchor": "middle", "font-size": 10, fill: "#0f172a" }, b.label),
        h("text", { class: "cls", x: x + (t + d) / 2, y: y + hh + 26, "text-anchor": "middle", "font-size": 9, fill: "#64748b" }, b.cls)
      ));
    }
    return [edges, boxes];
  }
  function volumesSvg(lay, opts = {}) {
    const titleH = opts.title ? 22 : 0;
    const w = Math.ceil(lay.width);
    const hgt = Math.ceil(lay.height + titleH);
    return h(
      "svg",
      {
        xmlns: "http://www.w3.org/2000/svg",
        width: w,
        height: hgt,
        viewBox: `0 0 ${w} ${hgt}`,
        "font-family": FONT,
        class: "archviz-view volumes"
      },
      h("rect", { class: "background", x: 0, y: 0, width: w, height: hgt, fill: "#ffffff" }),
      opts.title ? h("text", { class: "title", x: 12, y: 16, "font-size": 12, "font-weight": "bold", fill: "#0f172a" }, opts.title) : null,
      h("g", { transform: `translate(0,${titleH})` }, ...volumesContent(lay))
    );
  }

  // src/diagram/index.js
  var now = () => typeof performance !== "undefined" ? performance.now() : Date.now();
  async function layoutView(elk, tree, state, opts = {}) {
    const t0 = now();
    const folded = foldGraph(tree, state);
    const t1 = now();
    const { graph, info } = buildElkGraph(tree, folded, opts);
    const t2 = now();
    const laid = await elk.layout(graph);
    const t3 = now();
    const geo = absolutize(laid, info);
    geo.info = info;
    const el = renderDiagram(tree, folded, geo, opts);
    const t4 = now();
    const timings = { foldMs: t1 - t0, graphMs: t2 - t1, elkMs: t3 - t2, renderMs: t4 - t3 };
    return { tree, state, folded, geo, el, timings };
  }
  function stateFor(tree, depth) {
    const auto = defaultState(tree);
    if (depth === null || depth === void 0) return auto;
    return { ...auto, depth: Math.max(1, Math.min(depth, Math.max(1, tree.maxDepth))) };
  }
  async function exportDiagram(elk, record, opts = {}) {
    const tree = buildTree(record);
    const state = opts.state || stateFor(tree, opts.depth);
    const view = await layoutView(elk, tree, state, { legend: true, ...opts });
    const nodes = view.folded.nodes.map((v) => ({
      ...v,
      ...view.geo.nodes.get(v.id),
      lines: view.geo.info.get(v.id).lines.map((l) => l.text)
    }));
    return {
      svg: toSvgString(view.el),
      state,
      maxDepth: tree.maxDepth,
      nodes,
      edges: view.folded.edges,
      routes: view.geo.edges.map((e) => ({ src: e.edge.src, dst: e.edge.dst, points: e.points })),
      width: view.geo.width,
      height: view.geo.height
    };
  }
  function exportVolumes(record, opts = {}) {
    const lay = volumeLayout(record);
    if (!lay.boxes.length) return { svg: null, boxes: [], edges: [], width: 0, height: 0 };
    const title = opts.title === void 0 ? record.model_class || null : opts.title;
    return {
      svg: toSvgString(volumesSvg(lay, { title })),
      boxes: lay.boxes.map((b) => ({ id: b.id, label: b.label, cls: b.cls, module: b.module || null })),
      edges: lay.edges,
      width: lay.width,
      height: lay.height
    };
  }
  return __toCommonJS(index_exports);
})();
