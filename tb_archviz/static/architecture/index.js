var __create = Object.create;
var __defProp = Object.defineProperty;
var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __getProtoOf = Object.getPrototypeOf;
var __hasOwnProp = Object.prototype.hasOwnProperty;
var __require = /* @__PURE__ */ ((x) => typeof require !== "undefined" ? require : typeof Proxy !== "undefined" ? new Proxy(x, {
  get: (a, b) => (typeof require !== "undefined" ? require : a)[b]
}) : x)(function(x) {
  if (typeof require !== "undefined") return require.apply(this, arguments);
  throw Error('Dynamic require of "' + x + '" is not supported');
});
var __commonJS = (cb, mod) => function __require2() {
  return mod || (0, cb[__getOwnPropNames(cb)[0]])((mod = { exports: {} }).exports, mod), mod.exports;
};
var __copyProps = (to, from, except, desc) => {
  if (from && typeof from === "object" || typeof from === "function") {
    for (let key of __getOwnPropNames(from))
      if (!__hasOwnProp.call(to, key) && key !== except)
        __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
  }
  return to;
};
var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
  // If the importer is in node compatibility mode or this is not an ESM
  // file that has been converted to a CommonJS file using a Babel-
  // compatible transform (i.e. "__esModule" has not been set), then set
  // "default" to the CommonJS "module.exports" for node compatibility.
  isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
  mod
));

// node_modules/elkjs/lib/elk-api.js
var require_elk_api = __commonJS({
  "node_modules/elkjs/lib/elk-api.js"(exports, module) {
    (function(f) {
      if (typeof exports === "object" && typeof module !== "undefined") {
        module.exports = f();
      } else if (typeof define === "function" && define.amd) {
        define([], f);
      } else {
        var g;
        if (typeof window !== "undefined") {
          g = window;
        } else if (typeof global !== "undefined") {
          g = global;
        } else if (typeof self !== "undefined") {
          g = self;
        } else {
          g = this;
        }
        g.ELK = f();
      }
    })(function() {
      var define2, module2, exports2;
      return (/* @__PURE__ */ (function() {
        function r(e, n, t) {
          function o(i2, f) {
            if (!n[i2]) {
              if (!e[i2]) {
                var c = "function" == typeof __require && __require;
                if (!f && c) return c(i2, true);
                if (u) return u(i2, true);
                var a = new Error("Cannot find module '" + i2 + "'");
                throw a.code = "MODULE_NOT_FOUND", a;
              }
              var p = n[i2] = { exports: {} };
              e[i2][0].call(p.exports, function(r2) {
                var n2 = e[i2][1][r2];
                return o(n2 || r2);
              }, p, p.exports, r, e, n, t);
            }
            return n[i2].exports;
          }
          for (var u = "function" == typeof __require && __require, i = 0; i < t.length; i++) o(t[i]);
          return o;
        }
        return r;
      })())({ 1: [function(require2, module3, exports3) {
        "use strict";
        Object.defineProperty(exports3, "__esModule", {
          value: true
        });
        exports3["default"] = void 0;
        function _typeof(o) {
          "@babel/helpers - typeof";
          return _typeof = "function" == typeof Symbol && "symbol" == typeof Symbol.iterator ? function(o2) {
            return typeof o2;
          } : function(o2) {
            return o2 && "function" == typeof Symbol && o2.constructor === Symbol && o2 !== Symbol.prototype ? "symbol" : typeof o2;
          }, _typeof(o);
        }
        function _classCallCheck(a, n) {
          if (!(a instanceof n)) throw new TypeError("Cannot call a class as a function");
        }
        function _defineProperties(e, r) {
          for (var t = 0; t < r.length; t++) {
            var o = r[t];
            o.enumerable = o.enumerable || false, o.configurable = true, "value" in o && (o.writable = true), Object.defineProperty(e, _toPropertyKey(o.key), o);
          }
        }
        function _createClass(e, r, t) {
          return r && _defineProperties(e.prototype, r), t && _defineProperties(e, t), Object.defineProperty(e, "prototype", { writable: false }), e;
        }
        function _toPropertyKey(t) {
          var i = _toPrimitive(t, "string");
          return "symbol" == _typeof(i) ? i : i + "";
        }
        function _toPrimitive(t, r) {
          if ("object" != _typeof(t) || !t) return t;
          var e = t[Symbol.toPrimitive];
          if (void 0 !== e) {
            var i = e.call(t, r || "default");
            if ("object" != _typeof(i)) return i;
            throw new TypeError("@@toPrimitive must return a primitive value.");
          }
          return ("string" === r ? String : Number)(t);
        }
        var ELK2 = exports3["default"] = /* @__PURE__ */ (function() {
          function ELK3() {
            var _this = this;
            var _ref = arguments.length > 0 && arguments[0] !== void 0 ? arguments[0] : {}, _ref$defaultLayoutOpt = _ref.defaultLayoutOptions, defaultLayoutOptions = _ref$defaultLayoutOpt === void 0 ? {} : _ref$defaultLayoutOpt, _ref$algorithms = _ref.algorithms, algorithms = _ref$algorithms === void 0 ? ["layered", "stress", "mrtree", "radial", "force", "disco", "sporeOverlap", "sporeCompaction", "rectpacking"] : _ref$algorithms, workerFactory = _ref.workerFactory, workerUrl = _ref.workerUrl;
            _classCallCheck(this, ELK3);
            this.defaultLayoutOptions = defaultLayoutOptions;
            this.initialized = false;
            if (typeof workerUrl === "undefined" && typeof workerFactory === "undefined") {
              throw new Error("Cannot construct an ELK without both 'workerUrl' and 'workerFactory'.");
            }
            var factory = workerFactory;
            if (typeof workerUrl !== "undefined" && typeof workerFactory === "undefined") {
              factory = function factory2(url) {
                return new Worker(url);
              };
            }
            var worker = factory(workerUrl);
            if (typeof worker.postMessage !== "function") {
              throw new TypeError("Created worker does not provide the required 'postMessage' function.");
            }
            this.worker = new PromisedWorker(worker);
            this.worker.postMessage({
              cmd: "register",
              algorithms
            }).then(function(r) {
              return _this.initialized = true;
            })["catch"](console.err);
          }
          return _createClass(ELK3, [{
            key: "layout",
            value: function layout(graph) {
              var _ref2 = arguments.length > 1 && arguments[1] !== void 0 ? arguments[1] : {}, _ref2$layoutOptions = _ref2.layoutOptions, layoutOptions = _ref2$layoutOptions === void 0 ? this.defaultLayoutOptions : _ref2$layoutOptions, _ref2$logging = _ref2.logging, logging = _ref2$logging === void 0 ? false : _ref2$logging, _ref2$measureExecutio = _ref2.measureExecutionTime, measureExecutionTime = _ref2$measureExecutio === void 0 ? false : _ref2$measureExecutio;
              if (!graph) {
                return Promise.reject(new Error("Missing mandatory parameter 'graph'."));
              }
              return this.worker.postMessage({
                cmd: "layout",
                graph,
                layoutOptions,
                options: {
                  logging,
                  measureExecutionTime
                }
              });
            }
          }, {
            key: "knownLayoutAlgorithms",
            value: function knownLayoutAlgorithms() {
              return this.worker.postMessage({
                cmd: "algorithms"
              });
            }
          }, {
            key: "knownLayoutOptions",
            value: function knownLayoutOptions() {
              return this.worker.postMessage({
                cmd: "options"
              });
            }
          }, {
            key: "knownLayoutCategories",
            value: function knownLayoutCategories() {
              return this.worker.postMessage({
                cmd: "categories"
              });
            }
          }, {
            key: "terminateWorker",
            value: function terminateWorker() {
              if (this.worker) this.worker.terminate();
            }
          }]);
        })();
        var PromisedWorker = /* @__PURE__ */ (function() {
          function PromisedWorker2(worker) {
            var _this2 = this;
            _classCallCheck(this, PromisedWorker2);
            if (worker === void 0) {
              throw new Error("Missing mandatory parameter 'worker'.");
            }
            this.resolvers = {};
            this.worker = worker;
            this.worker.onmessage = function(answer) {
              setTimeout(function() {
                _this2.receive(_this2, answer);
              }, 0);
            };
          }
          return _createClass(PromisedWorker2, [{
            key: "postMessage",
            value: function postMessage(msg) {
              var id = this.id || 0;
              this.id = id + 1;
              msg.id = id;
              var self2 = this;
              return new Promise(function(resolve, reject) {
                self2.resolvers[id] = function(err, res) {
                  if (err) {
                    self2.convertGwtStyleError(err);
                    reject(err);
                  } else {
                    resolve(res);
                  }
                };
                self2.worker.postMessage(msg);
              });
            }
          }, {
            key: "receive",
            value: function receive(self2, answer) {
              var json = answer.data;
              var resolver = self2.resolvers[json.id];
              if (resolver) {
                delete self2.resolvers[json.id];
                if (json.error) {
                  resolver(json.error);
                } else {
                  resolver(null, json.data);
                }
              }
            }
          }, {
            key: "terminate",
            value: function terminate() {
              if (this.worker) {
                this.worker.terminate();
              }
            }
          }, {
            key: "convertGwtStyleError",
            value: function convertGwtStyleError(err) {
              if (!err) {
                return;
              }
              var javaException = err["__java$exception"];
              if (javaException) {
                if (javaException.cause && javaException.cause.backingJsObject) {
                  err.cause = javaException.cause.backingJsObject;
                  this.convertGwtStyleError(err.cause);
                }
                delete err["__java$exception"];
              }
            }
          }]);
        })();
      }, {}], 2: [function(require2, module3, exports3) {
        "use strict";
        var ELK2 = require2("./elk-api.js")["default"];
        Object.defineProperty(module3.exports, "__esModule", {
          value: true
        });
        module3.exports = ELK2;
        ELK2["default"] = ELK2;
      }, { "./elk-api.js": 1 }] }, {}, [2])(2);
    });
  }
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
  const setDepth2 = (id, d) => {
    const n = nodes.get(id);
    n.depth = d;
    for (const c of n.children) setDepth2(c, d + 1);
  };
  setDepth2(ROOT, 0);
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
function hparamText(cls, h3) {
  h3 = h3 || {};
  const parts = [];
  if (CONV.test(cls)) {
    const head = [kernel(h3.kernel_size), strideText(h3.stride), dilationText(h3.dilation)].filter(Boolean).join(" ");
    const groups = h3.groups && h3.groups > 1 ? h3.groups === h3.in_channels ? " dw" : ` g${h3.groups}` : "";
    const io = h3.in_channels !== void 0 ? `${h3.in_channels}→${h3.out_channels}` : "";
    return [head + groups, io].filter(Boolean).join(", ");
  }
  if (cls === "Linear" || cls === "LazyLinear" || cls === "Bilinear") {
    if (h3.in_features !== void 0) return `${h3.in_features}→${h3.out_features}`;
    return h3.out_features !== void 0 ? `→${h3.out_features}` : "";
  }
  if (cls === "MultiheadAttention") {
    if (h3.num_heads !== void 0) parts.push(`${h3.num_heads} heads`);
    if (h3.embed_dim !== void 0) parts.push(`d=${h3.embed_dim}`);
    return parts.join(", ");
  }
  if (cls === "TransformerEncoderLayer" || cls === "TransformerDecoderLayer") {
    if (h3.d_model !== void 0) parts.push(`d=${h3.d_model}`);
    if (h3.nhead !== void 0) parts.push(`${h3.nhead} heads`);
    if (h3.dim_feedforward !== void 0) parts.push(`ff ${h3.dim_feedforward}`);
    return parts.join(", ");
  }
  if (RNN.test(cls) || RNN_CELL.test(cls)) {
    if (h3.hidden_size !== void 0) parts.push(String(h3.hidden_size));
    if (h3.num_layers !== void 0 && h3.num_layers > 1) parts.push(`${h3.num_layers} layers`);
    if (h3.bidirectional) parts.push("bidir");
    return parts.join(", ");
  }
  if (cls === "Embedding" || cls === "EmbeddingBag") {
    return h3.num_embeddings !== void 0 ? `${h3.num_embeddings}×${h3.embedding_dim}` : "";
  }
  if (NORM_BN.test(cls)) return h3.num_features !== void 0 ? String(h3.num_features) : "";
  if (cls === "LayerNorm" || cls === "RMSNorm") {
    const s = pair(h3.normalized_shape);
    return s ? s.join("×") : "";
  }
  if (cls === "GroupNorm") {
    return h3.num_groups !== void 0 ? `${h3.num_groups} groups, ${h3.num_channels}` : "";
  }
  if (POOL.test(cls)) {
    return [kernel(h3.kernel_size), strideText(h3.stride)].filter(Boolean).join(" ");
  }
  if (ADAPTIVE.test(cls)) {
    const s = pair(h3.output_size);
    return s ? "→" + s.map((x) => x === null ? "*" : x).join("×") : "";
  }
  if (/^Dropout[123]?d?$|^AlphaDropout$/.test(cls)) return h3.p !== void 0 ? String(h3.p) : "";
  if (cls === "LeakyReLU" && h3.negative_slope !== void 0) return `α=${h3.negative_slope}`;
  if (cls === "Flatten" || cls === "Unflatten" || cls === "Identity") return "";
  if (cls === "Upsample" && h3.scale_factor !== void 0) return `×${h3.scale_factor}`;
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
  const h3 = lines.reduce((a, l) => a + l.size + LINE_GAP, 0) - LINE_GAP;
  const minW = kind === "input" || kind === "output" ? 60 : 72;
  return { width: Math.max(minW, w + 2 * PAD_X), height: h3 + 2 * PAD_Y + 1 };
}
function edgeLabel(edge2) {
  return edge2.shape ? formatShape(edge2.shape) : "";
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
    const edge2 = { id: `e${i}`, sources: [e.src], targets: [e.dst] };
    const text = opts.edgeLabels === false ? "" : edgeLabel(e);
    if (text && !labelled.has(e.src) && folded.nodes.length < 400) {
      labelled.add(e.src);
      edge2.labels = [{
        id: `e${i}l`,
        text,
        width: textWidth(text, SIZE.edge) + 4,
        height: SIZE.edge + 3
      }];
    }
    container.edges.push(edge2);
    info.set(edge2.id, { edge: e, container: lca === void 0 ? null : lca });
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
  for (const { edge: edge2 } of info.laneEdges) {
    const a = where.get(edge2.src);
    const b = where.get(edge2.dst);
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
  const clear2 = (y, x0, x1, dir) => {
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
  for (const { edge: edge2, from, to } of info.laneEdges || []) {
    const a = nodes.get(edge2.src);
    const b = nodes.get(edge2.dst);
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
    const y1 = clear2(sy + 7, sx, gx, 1);
    const y2 = clear2(ty - 7, gx, tx, -1);
    out.push({ edge: edge2, lane: true, label: null, points: [
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
    const [fill2, stroke, textColor] = nodeColors(tree, v, opts, ctx);
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
          fill: fill2,
          stroke: strokeColor,
          "stroke-width": strokeWidth
        }));
      } else {
        const r = box.width / 2;
        g.children.push(h("circle", { cx: r, cy: r, r, fill: fill2, stroke: strokeColor, "stroke-width": strokeWidth }));
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
          fill: fill2,
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
      fill: fill2,
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
    const [fill2, stroke] = DEVICE_COLORS[ctx.devices.indexOf(d) % DEVICE_COLORS.length] || DEVICE_COLORS[0];
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
      fill: fill2,
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
  let row2 = [];
  let x = 0;
  for (const item of items) {
    const w = 26 + textWidth(item[2], 9.5);
    if (row2.length && x + w > maxWidth) {
      rows.push(row2);
      row2 = [];
      x = 0;
    }
    row2.push([x, item]);
    x += w;
  }
  if (row2.length) rows.push(row2);
  return rows;
}
function drawLegend(rows, x0, y0) {
  const g = h("g", { class: "legend", transform: `translate(${x0},${y0})` });
  rows.forEach((row2, r) => {
    const y = r * 18;
    for (const [x, [fill2, stroke, text]] of row2) {
      if (fill2 === "none") {
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
        g.children.push(h("rect", { x, y: y + 1, width: 16, height: 12, rx: 2, fill: fill2, stroke }));
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

// src/common/api.js
var measurePrefix = null;
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

// src/common/dom.js
var SVG_NS = "http://www.w3.org/2000/svg";
function toDom(el) {
  if (typeof el === "string" || typeof el === "number") return document.createTextNode(String(el));
  const node = document.createElementNS(SVG_NS, el.tag);
  for (const [k, v] of Object.entries(el.attrs)) {
    if (v !== null && v !== void 0) node.setAttribute(k, String(v));
  }
  for (const c of el.children) node.appendChild(toDom(c));
  return node;
}
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
function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

// src/common/host.js
var STEP_KEY = "tb_archviz.step";
var FOCUS_KEY = "tb_archviz.focus";
var ARCHITECTURE_PLUGIN = "archviz_graph";
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
function readFocus() {
  try {
    const raw = window.localStorage.getItem(FOCUS_KEY);
    const f = raw ? JSON.parse(raw) : null;
    return f && typeof f.layer === "string" ? f : null;
  } catch {
    return null;
  }
}
function onFocus(fn) {
  window.addEventListener("storage", (e) => {
    if (e.key === FOCUS_KEY) fn(readFocus());
  });
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

// src/tab/details.js
function row(k, v) {
  return html("tr", {}, html("th", {}, k), html("td", {}, v));
}
function ioText(t) {
  return `${t.path ?? ""} ${formatShape(t.shape, false)} ${t.dtype || ""} ${t.device || ""}`.trim();
}
function showDetails(panel, tree, id, record) {
  clear(panel);
  if (!id) {
    panel.appendChild(html("p", { class: "hint" }, "Click a block to see what was captured; click a container or a ×N block to open it."));
    return;
  }
  let ids = [id];
  if (id.startsWith("repeat:")) {
    const parent = id.slice(7, id.indexOf("|"));
    ids = tree.nodes.get(parent).children.filter((c) => {
      const m2 = tree.nodes.get(c).module;
      return m2 && m2.repeat && `repeat:${parent}|${m2.repeat.group}` === id;
    });
    panel.appendChild(html("h3", {}, `${ids.length} repeated blocks`));
  }
  const n = tree.nodes.get(ids[0]);
  if (!n) return;
  if (n.kind === "op") {
    panel.appendChild(html("h3", {}, `${n.op.op} (${n.id})`));
    const t2 = html(
      "table",
      {},
      row("scope", n.op.scope || "(root)"),
      ...(n.op.inputs || []).map((x, i) => row(`input ${i}`, ioText(x))),
      ...(n.op.outputs || []).map((x, i) => row(`output ${i}`, ioText(x)))
    );
    panel.appendChild(t2);
    return;
  }
  if (n.kind !== "module") {
    panel.appendChild(html("h3", {}, n.id));
    panel.appendChild(html("p", {}, formatShape(n.shape, false)));
    return;
  }
  const m = n.module;
  panel.appendChild(html("h3", {}, m.name || "(root)"));
  panel.appendChild(html("p", { class: "type" }, typeLine(m)));
  const p = m.params || {};
  const t = html(
    "table",
    {},
    row("class", m.type || m.class || ""),
    row("params", `${formatCount(p.total ?? 0)} total · ${formatCount(p.own ?? 0)} own · ${formatCount(p.trainable ?? 0)} trainable · ${formatCount(p.frozen ?? 0)} frozen`),
    row("FLOPs", m.flops === null || m.flops === void 0 ? "unknown" : formatCount(m.flops)),
    row("calls", String(m.calls ?? 0)),
    row("devices", (m.devices || []).join(", ") || "—")
  );
  if (m.aliases && m.aliases.length) t.appendChild(row("also named", m.aliases.join(", ")));
  const ties = (record && record.ties || []).filter((g) => g.some((x) => x.startsWith(m.name + ".")));
  if (ties.length) t.appendChild(row("tied", ties.map((g) => g.join(" = ")).join("; ")));
  if (n.inner && n.inner.length) {
    t.appendChild(row("contains", n.inner.map((c) => {
      const x = tree.nodes.get(c);
      return x.kind === "module" ? `${c.slice(m.name.length + 1)} (${typeLine(x.module)})` : `${x.op.op} (${c})`;
    }).join("; ")));
  }
  if (m.repeat) t.appendChild(row("repeat", `${m.repeat.group} #${m.repeat.index} of ${m.repeat.count}`));
  panel.appendChild(t);
  const hp = m.hparams || {};
  if (Object.keys(hp).length) {
    panel.appendChild(html("h4", {}, "hyperparameters"));
    panel.appendChild(html("table", {}, ...Object.entries(hp).map(([k, v]) => row(k, typeof v === "object" ? JSON.stringify(v) : String(v)))));
  }
  (m.io || []).forEach((call, i) => {
    panel.appendChild(html("h4", {}, `call ${i + 1}`));
    panel.appendChild(html(
      "table",
      {},
      ...(call.inputs || []).map((x) => row("in", ioText(x))),
      ...(call.outputs || []).map((x) => row("out", ioText(x)))
    ));
  });
  if (m.extra_repr) panel.appendChild(html("pre", {}, m.extra_repr));
}

// src/tab/diff.js
function diffRecords(record, other, tree, rep) {
  const before = new Map(other.modules.map((m) => [m.name, m]));
  const now2 = new Set(record.modules.map((m) => m.name));
  const added = /* @__PURE__ */ new Set();
  const changed = /* @__PURE__ */ new Set();
  for (const m of record.modules) {
    const b = before.get(m.name);
    if (!b) added.add(m.name);
    else if ((m.leaf || (tree.nodes.get(m.name) || {}).inner) && (b.struct_hash !== m.struct_hash || b.class !== m.class || JSON.stringify(b.hparams || {}) !== JSON.stringify(m.hparams || {}) || ((b.params || {}).total ?? 0) !== ((m.params || {}).total ?? 0))) changed.add(m.name);
  }
  const removed = other.modules.filter((m) => !now2.has(m.name)).map((m) => m.name);
  for (const id of [...added, ...changed]) {
    const r = rep(id);
    if (r && r !== id) changed.add(r);
  }
  return { added, changed, removed };
}

// src/tab/elk.js
var import_elk_api = __toESM(require_elk_api(), 1);
function makeElk() {
  const workerUrl = new URL("./elk-worker.min.js", import.meta.url).href;
  return new import_elk_api.default({ workerUrl });
}
function warmUpElk(elk, onDone) {
  const box = (id) => ({ id, width: 40, height: 20 });
  const graph = {
    id: "warm",
    layoutOptions: LAYOUT_OPTIONS,
    edges: [
      { id: "w1", sources: ["a"], targets: ["b"] },
      { id: "w2", sources: ["b"], targets: ["c1"] },
      { id: "w3", sources: ["c1"], targets: ["c2"] },
      { id: "w4", sources: ["a"], targets: ["c2"] }
    ],
    children: [box("a"), box("b"), { id: "c", children: [box("c1"), box("c2")] }]
  };
  const t0 = performance.now();
  elk.layout(graph).then(() => onDone(Math.round(performance.now() - t0))).catch(() => {
  });
}

// src/tab/exporting.js
function paperSvg(app2, options) {
  const el = renderDiagram(
    app2.tree,
    app2.view.folded,
    app2.view.geo,
    { ...options, selected: null, highlight: /* @__PURE__ */ new Set() }
  );
  return toSvgString(el);
}
function download(blob, name) {
  const a = html("a", { href: URL.createObjectURL(blob), download: name });
  document.body.appendChild(a);
  a.click();
  setTimeout(() => {
    URL.revokeObjectURL(a.href);
    a.remove();
  }, 1e3);
}
function fileBase(app2) {
  return `${app2.run.replace(/[^A-Za-z0-9_.-]+/g, "_")}-v${app2.version}`;
}
function exportSvg(app2, options) {
  const text = paperSvg(app2, options);
  download(new Blob([text], { type: "image/svg+xml" }), `${fileBase(app2)}.svg`);
  return text;
}
async function exportPng(app2, options, scale = 2) {
  const text = paperSvg(app2, options);
  const url = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
  const img = new Image();
  await new Promise((ok, fail) => {
    img.onload = ok;
    img.onerror = fail;
    img.src = url;
  });
  const canvas = html("canvas", { width: String(img.width * scale), height: String(img.height * scale) });
  const ctx = canvas.getContext("2d");
  ctx.scale(scale, scale);
  ctx.drawImage(img, 0, 0);
  URL.revokeObjectURL(url);
  const blob = await new Promise((ok) => canvas.toBlob(ok, "image/png"));
  download(blob, `${fileBase(app2)}.png`);
  return blob.size;
}

// src/tab/views.js
var DIAGRAM_VIEW = "diagram";
var registry = [];
function registerView(view) {
  if (!view || typeof view.id !== "string" || !view.id || typeof view.render !== "function") {
    throw new Error("registerView: need {id, label, render(container, record, ctx)}");
  }
  if (view.id === DIAGRAM_VIEW || registry.some((v) => v.id === view.id)) {
    throw new Error(`registerView: view id "${view.id}" is already taken`);
  }
  registry.push({ label: view.id, available: () => true, ...view });
}
function availableViews(record, ctx) {
  return registry.filter((v) => {
    try {
      return Boolean(v.available(record, ctx));
    } catch {
      return false;
    }
  });
}
function getView(id) {
  return registry.find((v) => v.id === id) || null;
}

// src/tab/state.js
var app = {
  runs: [],
  run: null,
  version: null,
  record: null,
  tree: null,
  state: null,
  view: null,
  colorMode: "type",
  selected: null,
  highlight: /* @__PURE__ */ new Set(),
  diff: null,
  hits: [],
  hitIndex: -1,
  timings: {},
  elk: null,
  layouts: null,
  prefetch: true,
  seq: 0,
  health: null,
  healthSeq: 0,
  viewId: DIAGRAM_VIEW,
  viewHandle: null
};
var ui = {};
function setStatus(text) {
  if (ui.status) ui.status.textContent = text;
}

// src/tab/health.js
var HEALTH_STATS = [];
var drawing = { redraw: async () => {
}, repaint: () => {
} };
function setDrawing(fns) {
  Object.assign(drawing, fns);
}
function offerHealthStats(vocab) {
  HEALTH_STATS = healthStatsFrom(vocab);
  ui.healthStat.replaceChildren(...HEALTH_STATS.map(([value, label]) => html("option", { value }, label)));
}
function healthStatsFrom(vocab) {
  const out = [];
  for (const fam of ["grads", "updates", "acts", "weights"]) {
    const stats = (vocab && vocab.stats && vocab.stats[fam] || {}).stats || {};
    for (const [name, info] of Object.entries(stats)) {
      if (info.show > 0) out.push([`${fam}/${name}`, info.label, info.show]);
    }
  }
  return out.sort((a, b) => a[2] - b[2]).map(([v, l]) => [v, l]);
}
function healthStatLabel() {
  const hit = HEALTH_STATS.find(([v]) => v === ui.healthStat.value);
  return hit ? hit[1] : ui.healthStat.value;
}
async function setColorMode(mode) {
  const relayout = mode === "device" !== (app.colorMode === "device");
  app.colorMode = mode;
  ui.color.value = mode;
  ui.healthBar.hidden = mode !== "health";
  if (mode === "health") {
    const shared = readSharedStep();
    await loadHealth(shared ? shared.step : null);
  } else if (relayout && app.tree) {
    await drawing.redraw();
  } else {
    drawing.repaint();
  }
}
async function loadHealth(step) {
  if (!app.run) return;
  const [kind, stat] = ui.healthStat.value.split("/");
  if (step === void 0 || step === null) {
    step = app.health && app.health.steps.length ? app.health.steps[Number(ui.healthStep.value)] : null;
  }
  const seq = ++app.healthSeq;
  const run = app.run;
  let body = null;
  try {
    body = await getJSON(`health?run=${encodeURIComponent(run)}&kind=${kind}&stat=${stat}` + (step === null || step === void 0 ? "" : `&step=${step}`));
  } catch {
    if (seq !== app.healthSeq) return;
    app.health = { steps: [], step: null, values: {} };
    ui.healthLabel.textContent = " no statistics logged";
    drawing.repaint();
    return;
  }
  if (seq !== app.healthSeq || run !== app.run) return;
  const values = {};
  for (const [k, v] of Object.entries(body.values)) values[k] = typeof v === "string" ? Number(v) : v;
  app.health = { steps: body.steps, step: body.step, values, kind, stat };
  ui.healthStep.max = String(Math.max(0, body.steps.length - 1));
  ui.healthStep.value = String(Math.max(0, body.steps.indexOf(body.step)));
  ui.healthLabel.textContent = body.step === null ? " no statistics logged" : ` ${body.step}`;
  if (app.colorMode === "health") drawing.repaint();
}
async function onHealthSlider() {
  if (!app.health || !app.health.steps.length) return;
  const step = app.health.steps[Number(ui.healthStep.value)];
  ui.healthLabel.textContent = ` ${step}`;
  writeSharedStep(app.run, step);
  await loadHealth(step);
}
function onSharedStep2() {
  const shared = readSharedStep();
  if (!shared || app.colorMode !== "health") return;
  if (app.health && shared.step === app.health.step) return;
  loadHealth(shared.step);
}

// src/tab/layoutcache.js
var LayoutCache = class {
  constructor(elk, limit = 48) {
    this.elk = elk;
    this.limit = limit;
    this.entries = /* @__PURE__ */ new Map();
    this.hits = 0;
    this.misses = 0;
  }
  // {promise of a laid-out copy, cached: whether a layout for this graph was already known}.
  lookup(graph) {
    const key = JSON.stringify(graph);
    let entry = this.entries.get(key);
    const cached = entry !== void 0;
    if (cached) {
      this.entries.delete(key);
      this.hits += 1;
    } else {
      this.misses += 1;
      entry = this.elk.layout(graph);
      entry.catch(() => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      });
    }
    this.entries.set(key, entry);
    while (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value);
    return { cached, promise: entry.then((laid) => structuredClone(laid)) };
  }
  has(graph) {
    return this.entries.has(JSON.stringify(graph));
  }
  // ELK's interface, for layoutView.
  layout(graph) {
    return this.lookup(graph).promise;
  }
};

// src/tab/prefetch.js
var PREFETCH_MAX_NODES = 400;
var PREFETCH_MAX_VIEWS = 24;
var PREFETCH_KEY = "tb_archviz.prefetch";
async function prefetchLayouts(app2, isCurrent, options) {
  if (!app2.prefetch || !app2.view) return;
  const tree = app2.tree;
  const nodes = app2.view.folded.nodes;
  const openable = (v) => v.kind === "repeat" || v.kind === "module" && tree.nodes.get(v.id).children.length > 0;
  const rank = (v) => v.kind === "repeat" ? 0 : v.open ? 2 : 1;
  const ids = nodes.filter(openable).sort((a, b) => rank(a) - rank(b)).map((v) => v.id).slice(0, PREFETCH_MAX_VIEWS);
  for (const id of ids) {
    await new Promise((ok) => setTimeout(ok, 0));
    if (!isCurrent()) return;
    const state = toggle(tree, app2.state, id);
    const folded = foldGraph(tree, state);
    if (folded.nodes.length > PREFETCH_MAX_NODES) continue;
    const { graph } = buildElkGraph(tree, folded, options);
    if (app2.layouts.has(graph)) continue;
    try {
      await app2.layouts.lookup(graph).promise;
    } catch {
      return;
    }
  }
}

// src/tab/runlist.js
function showProblems(problems) {
  if (!ui.problems) {
    ui.problems = html("div", { class: "problems", role: "status" });
    ui.status.before(ui.problems);
  }
  clear(ui.problems);
  for (const [run, messages] of Object.entries(problems || {})) {
    ui.problems.appendChild(html(
      "div",
      { class: "problem" },
      `${run}: could not read everything: ${messages.join(" · ")}`
    ));
  }
  ui.problems.hidden = !ui.problems.firstChild;
}
function fillVersionSelects() {
  const info = app.runs.find((r) => r.run === app.run);
  const diffValue = ui.diffSel.value;
  clear(ui.verSel);
  clear(ui.diffSel);
  ui.diffSel.appendChild(html("option", { value: "" }, "compare: off"));
  for (const v of info ? info.versions : []) {
    ui.verSel.appendChild(html("option", { value: String(v.index) }, `v${v.index} @ step ${v.step}`));
    if (v.index !== app.version) {
      ui.diffSel.appendChild(html("option", { value: String(v.index) }, `compare with v${v.index}`));
    }
  }
  for (const r of app.runs) {
    if (r.run === app.run || !r.versions.length) continue;
    const last = r.versions[r.versions.length - 1];
    ui.diffSel.appendChild(html(
      "option",
      { value: `${last.index}@${r.run}` },
      `compare with ${r.run} (v${last.index})`
    ));
  }
  ui.verSel.value = String(app.version);
  ui.diffSel.value = [...ui.diffSel.options].some((o) => o.value === diffValue) ? diffValue : "";
}
function updateStatus() {
  const r = app.record;
  const totals = r && r.totals || {};
  const view = app.view;
  setStatus(`${r.model_class} · ${totals.modules ?? "?"} modules · ${totals.parameters ?? "?"} parameters · showing ${view ? view.folded.nodes.length : 0} blocks, ${view ? view.folded.edges.length : 0} edges · first paint ${app.timings.firstPaintMs ?? "?"} ms` + (app.timings.lastLayoutMs !== void 0 ? ` · last layout ${app.timings.lastLayoutMs} ms` : "") + (r.status !== "ok" ? ` · capture ${r.status}: ${r.error || ""}` : ""));
}
function fillRunSelect() {
  clear(ui.runSel);
  for (const r of app.runs) ui.runSel.appendChild(html("option", { value: r.run }, r.run));
}

// src/tab/fit.js
var MIN_LABEL_PX = 11;
var MAX_SCALE = 2;
var MARGIN = 8;
function smallestFont(el) {
  let min = Infinity;
  const walk = (e) => {
    if (!e || typeof e !== "object") return;
    const s = Number(e.attrs && e.attrs["font-size"]);
    if (Number.isFinite(s) && s > 0) min = Math.min(min, s);
    for (const c of e.children || []) walk(c);
  };
  walk(el);
  return Number.isFinite(min) ? min : null;
}
function readableFit(size, view, minFont) {
  const kMin = minFont ? MIN_LABEL_PX / minFont : 1;
  const kWidth = (view.width - 2 * MARGIN) / size.width;
  const k = Math.max(kMin, Math.min(kWidth, MAX_SCALE));
  const fits = kWidth >= kMin;
  const x = fits ? (view.width - size.width * k) / 2 : MARGIN;
  const y = Math.max(MARGIN, (view.height - size.height * k) / 2);
  return { k, x, y, fits };
}
function wholeFit(size, view) {
  const k = Math.min((view.width - 2 * MARGIN) / size.width, (view.height - 2 * MARGIN) / size.height, MAX_SCALE);
  return { k, x: (view.width - size.width * k) / 2, y: (view.height - size.height * k) / 2 };
}

// src/tab/panzoom.js
var PanZoom = class {
  constructor(canvas, minimap) {
    this.canvas = canvas;
    this.minimap = minimap;
    this.t = { x: 0, y: 0, k: 1 };
    this.size = { width: 1, height: 1 };
    this.dragged = false;
    canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      if (e.ctrlKey || e.metaKey) {
        const r = canvas.getBoundingClientRect();
        this.zoomAt(e.clientX - r.left, e.clientY - r.top, Math.exp(-e.deltaY * 15e-4));
      } else {
        this.t.x -= e.shiftKey ? e.deltaY : e.deltaX;
        this.t.y -= e.shiftKey ? 0 : e.deltaY;
        this.fitted = null;
        this.apply();
      }
    }, { passive: false });
    let start = null;
    canvas.addEventListener("pointerdown", (e) => {
      start = { x: e.clientX, y: e.clientY, tx: this.t.x, ty: this.t.y };
      this.dragged = false;
    });
    window.addEventListener("pointermove", (e) => {
      if (!start) return;
      const dx = e.clientX - start.x;
      const dy = e.clientY - start.y;
      if (Math.abs(dx) + Math.abs(dy) > 4) this.dragged = true;
      if (this.dragged) {
        this.t.x = start.tx + dx;
        this.t.y = start.ty + dy;
        this.fitted = null;
        this.apply();
      }
    });
    window.addEventListener("pointerup", () => {
      start = null;
      setTimeout(() => {
        this.dragged = false;
      }, 0);
    });
    minimap.addEventListener("click", (e) => {
      const r = minimap.getBoundingClientRect();
      const s = this.miniScale();
      this.centerOn({ x: (e.clientX - r.left) / s, y: (e.clientY - r.top) / s, width: 0, height: 0 });
    });
  }
  setContent(svg2, el, fit) {
    while (this.canvas.firstChild) this.canvas.removeChild(this.canvas.firstChild);
    this.svg = svg2;
    this.size = { width: Number(el.attrs.width), height: Number(el.attrs.height) };
    this.minFont = smallestFont(el);
    svg2.removeAttribute("width");
    svg2.removeAttribute("height");
    svg2.style.width = "100%";
    svg2.style.height = "100%";
    this.root = document.createElementNS("http://www.w3.org/2000/svg", "g");
    for (const c of [...svg2.childNodes]) if (c.nodeName !== "defs") this.root.appendChild(c);
    svg2.appendChild(this.root);
    svg2.removeAttribute("viewBox");
    this.canvas.appendChild(svg2);
    this.drawMinimap(el);
    if (fit) this.fit();
    else this.apply();
  }
  drawMinimap(el) {
    while (this.minimap.firstChild) this.minimap.removeChild(this.minimap.firstChild);
    const big = this.size.height > 900 || this.size.width > 900;
    this.minimap.style.display = big ? "block" : "none";
    if (!big) return;
    const mini = toDom(el);
    const s = this.miniScale();
    mini.setAttribute("width", String(this.size.width * s));
    mini.setAttribute("height", String(this.size.height * s));
    this.minimap.appendChild(mini);
    this.lens = document.createElement("div");
    this.lens.className = "lens";
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
    this.fitted = "readable";
    this.apply();
    return f.fits;
  }
  // The whole drawing in the window.
  fitWhole() {
    const f = wholeFit(this.size, this.viewSize());
    this.t = { k: f.k, x: f.x, y: f.y };
    this.fitted = "whole";
    this.apply();
  }
  // The "Fit" button: the whole drawing; pressed again, back to the readable view. It always
  // shows something else unless both are the same picture.
  toggleFit() {
    if (this.fitted === "whole") this.fit();
    else this.fitWhole();
  }
  zoomAt(px, py, factor) {
    const k = Math.max(0.05, Math.min(6, this.t.k * factor));
    this.t.x = px - (px - this.t.x) * k / this.t.k;
    this.t.y = py - (py - this.t.y) * k / this.t.k;
    this.t.k = k;
    this.fitted = null;
    this.apply();
  }
  centerOn(box) {
    const w = this.canvas.clientWidth || 800;
    const h3 = this.canvas.clientHeight || 600;
    const cx = box.x + 8 + box.width / 2;
    const cy = box.y + 8 + box.height / 2;
    this.t.k = Math.max(this.t.k, 0.7);
    this.t.x = w / 2 - cx * this.t.k;
    this.t.y = h3 / 2 - cy * this.t.k;
    this.apply();
  }
  apply() {
    if (this.root) this.root.setAttribute("transform", `translate(${this.t.x},${this.t.y}) scale(${this.t.k})`);
    if (this.lens) {
      const s = this.miniScale();
      const w = this.canvas.clientWidth || 800;
      const h3 = this.canvas.clientHeight || 600;
      Object.assign(this.lens.style, {
        left: `${-this.t.x / this.t.k * s}px`,
        top: `${-this.t.y / this.t.k * s}px`,
        width: `${w / this.t.k * s}px`,
        height: `${h3 / this.t.k * s}px`
      });
    }
  }
};

// src/tab/toolbar.js
function buildUi(root, on) {
  const runSel = html("select", { class: "run", title: "run", onchange: () => on.chooseRun(runSel.value) });
  const viewSel = html("select", { class: "view", title: "view", onchange: () => on.setView(viewSel.value) });
  const verSel = html("select", {
    class: "version",
    title: "architecture version",
    onchange: () => on.chooseVersion(Number(verSel.value))
  });
  const diffSel = html("select", {
    class: "diff",
    title: "compare with another version",
    onchange: () => on.setDiff(diffSel.value)
  });
  const depth = html("input", {
    type: "range",
    min: "1",
    max: "1",
    value: "1",
    class: "depth",
    title: "depth: how many levels of blocks are open",
    oninput: () => on.setDepth(Number(depth.value))
  });
  const depthLabel = html("span", { class: "depth-label" }, "");
  const color = html(
    "select",
    {
      class: "color",
      title: "colour by",
      onchange: () => on.setColorMode(color.value)
    },
    html("option", { value: "type" }, "colour: layer type"),
    html("option", { value: "params" }, "colour: parameters"),
    html("option", { value: "device" }, "colour: device"),
    html("option", { value: "health" }, "colour: health")
  );
  const healthStat = html("select", {
    class: "health-stat",
    title: "health statistic",
    onchange: () => on.loadHealth()
  });
  const healthStep = html("input", {
    type: "range",
    min: "0",
    max: "0",
    value: "0",
    class: "health-step",
    title: "logged step (shared with the Anomaly Timeline tab)",
    oninput: () => on.onHealthSlider()
  });
  const healthLabel = html("span", { class: "health-label" }, "");
  const healthBar = html(
    "span",
    { class: "health-bar", hidden: true },
    healthStat,
    html("label", {}, "step ", healthStep, healthLabel)
  );
  const find = html("input", {
    type: "search",
    class: "search",
    placeholder: "search modules",
    onkeydown: (e) => {
      if (e.key === "Enter") on.nextHit();
    },
    oninput: () => on.runSearch(find.value)
  });
  const hitLabel = html("span", { class: "hits" }, "");
  const fit = html("button", {
    class: "fit",
    title: "the whole diagram; again: back to a readable width",
    onclick: () => pz.toggleFit()
  }, "Fit");
  const svgBtn = html("button", { class: "export-svg", onclick: () => on.exportSvg() }, "Export SVG");
  const pngBtn = html("button", { class: "export-png", onclick: () => on.exportPng() }, "Export PNG");
  const toolbar = html(
    "div",
    { class: "toolbar" },
    html("label", {}, "View ", viewSel),
    runSel,
    verSel,
    diffSel,
    html("label", {}, "depth ", depth, depthLabel),
    color,
    healthBar,
    find,
    hitLabel,
    fit,
    svgBtn,
    pngBtn
  );
  const canvas = html("div", { class: "canvas" });
  const minimap = html("div", { class: "minimap" });
  const details = html("div", { class: "details" });
  const status = html("div", { class: "status" }, "loading…");
  root.appendChild(toolbar);
  const stage2 = html("div", { class: "stage" }, canvas, minimap);
  const viewHost = html("div", { class: "view-host", hidden: true });
  root.appendChild(html("div", { class: "main" }, stage2, viewHost, details));
  root.appendChild(status);
  const pz = new PanZoom(canvas, minimap);
  canvas.addEventListener("click", on.canvasClick);
  return { healthBar, healthStat, healthStep, healthLabel, viewSel, stage: stage2, viewHost, runSel, verSel, diffSel, depth, depthLabel, color, find, hitLabel, canvas, minimap, details, status, pz };
}

// src/tab/viewhost.js
var getJson = (url) => getJSON(url);
function viewContext() {
  return {
    run: app.run,
    version: app.version,
    get step() {
      const s = readSharedStep();
      return s ? s.step : null;
    },
    fetchJSON: (rel) => getJson(rel),
    onSelectModule: (name) => {
      app.selected = name;
      showDetails(ui.details, app.tree, name, app.record);
    }
  };
}
function fillViewSelect() {
  const views = app.record ? availableViews(app.record, viewContext()) : [];
  clear(ui.viewSel);
  ui.viewSel.appendChild(html("option", { value: DIAGRAM_VIEW }, "Block diagram"));
  for (const v of views) ui.viewSel.appendChild(html("option", { value: v.id }, v.label));
  if (!views.some((v) => v.id === app.viewId)) app.viewId = DIAGRAM_VIEW;
  ui.viewSel.value = app.viewId;
}
function unmountView() {
  if (app.viewHandle) {
    try {
      app.viewHandle.dispose();
    } catch {
    }
  }
  app.viewHandle = null;
  clear(ui.viewHost);
}
function mountView() {
  unmountView();
  const diagram = app.viewId === DIAGRAM_VIEW;
  ui.stage.hidden = !diagram;
  ui.viewHost.hidden = diagram;
  if (diagram || !app.record) return;
  const view = getView(app.viewId);
  try {
    app.viewHandle = view.render(ui.viewHost, app.record, viewContext()) || null;
  } catch (err) {
    ui.viewHost.appendChild(html("p", { class: "view-error" }, `${view.label}: ${err.message}`));
  }
}
function setView(id) {
  app.viewId = id === DIAGRAM_VIEW || getView(id) ? id : DIAGRAM_VIEW;
  mountView();
  if (app.viewId === DIAGRAM_VIEW && app.view) ui.pz.fit();
}

// src/views/neurons_layout.js
var MAX_CONV_CHANNELS = 2;
var CONV_POSITIONS = 8;
function signColor(w) {
  return w >= 0 ? "#2563eb" : "#dc2626";
}
function maxAbs(values) {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m || 1;
}
function column(n, x, top, gap) {
  return Array.from({ length: n }, (_, i) => ({ x, y: top + i * gap }));
}
function edge(a, b, w, scale, extra = {}) {
  return {
    x1: a.x,
    y1: a.y,
    x2: b.x,
    y2: b.y,
    w,
    sign: w >= 0 ? "positive" : "negative",
    width: 0.3 + 2.7 * Math.abs(w) / scale,
    ...extra
  };
}
function linearLayout(shape, values, opts = {}) {
  const [out, inp] = shape;
  const gap = opts.gap ?? Math.max(6, Math.min(18, 260 / Math.max(out, inp)));
  const h3 = Math.max(out, inp) * gap;
  const ins = column(inp, 30, 30 + (h3 - inp * gap) / 2, gap).map((p, i) => ({ ...p, role: "input", index: i }));
  const outs = column(out, 190, 30 + (h3 - out * gap) / 2, gap).map((p, i) => ({ ...p, role: "output", index: i }));
  const scale = maxAbs(values);
  const edges = [];
  for (let o = 0; o < out; o += 1) {
    for (let i = 0; i < inp; i += 1) edges.push(edge(ins[i], outs[o], values[o * inp + i], scale));
  }
  return { nodes: [...ins, ...outs], edges, width: 220, height: h3 + 50, caption: `all-to-all: ${inp}×${out} weights` };
}
function convLayout(shape, values, hp = {}, opts = {}) {
  const [out, inp] = shape;
  const kh = shape.length === 4 ? shape[2] : 1;
  const kw = shape[shape.length - 1];
  const stride = Array.isArray(hp.stride) ? hp.stride[hp.stride.length - 1] : hp.stride || 1;
  const padRaw = Array.isArray(hp.padding) ? hp.padding[hp.padding.length - 1] : hp.padding;
  const pad = typeof padRaw === "number" ? padRaw : Math.floor(kw / 2);
  const cin = Math.min(inp, MAX_CONV_CHANNELS);
  const cout = Math.min(out, MAX_CONV_CHANNELS);
  const P = CONV_POSITIONS;
  const Q = Math.max(1, Math.floor((P + 2 * pad - kw) / stride) + 1);
  const gap = opts.gap ?? 11;
  const groupGap = 10;
  const at = (o, c, r, t) => values[((o * inp + c) * kh + r) * kw + t];
  const centre = Math.floor(kh / 2);
  const ins = [];
  for (let c = 0; c < cin; c += 1) {
    for (let j = 0; j < P; j += 1) ins.push({ x: 30, y: 30 + (c * P + j) * gap + c * groupGap, role: "input", channel: c, index: j });
  }
  const outs = [];
  const inH = cin * P * gap + (cin - 1) * groupGap;
  const outH = cout * Q * gap + (cout - 1) * groupGap;
  const off = (inH - outH) / 2;
  for (let o = 0; o < cout; o += 1) {
    for (let i = 0; i < Q; i += 1) outs.push({ x: 190, y: 30 + off + (o * Q + i) * gap + o * groupGap, role: "output", channel: o, index: i });
  }
  const used = [];
  for (let o = 0; o < cout; o += 1) for (let c = 0; c < cin; c += 1) for (let t = 0; t < kw; t += 1) used.push(at(o, c, centre, t));
  const scale = maxAbs(used);
  const edges = [];
  for (let o = 0; o < cout; o += 1) {
    for (let i = 0; i < Q; i += 1) {
      for (let c = 0; c < cin; c += 1) {
        for (let t = 0; t < kw; t += 1) {
          const j = i * stride - pad + t;
          if (j < 0 || j >= P) continue;
          edges.push(edge(
            ins[c * P + j],
            outs[o * Q + i],
            at(o, c, centre, t),
            scale,
            { weightIndex: `${o},${c},${t}` }
          ));
        }
      }
    }
  }
  return {
    nodes: [...ins, ...outs],
    edges,
    width: 270,
    height: Math.max(inH, outH) + 50,
    caption: `local, shared: ${kw} taps × ${cin} ch, same weights everywhere`,
    shown: { inChannels: cin, outChannels: cout, positions: P, kernel: kw }
  };
}
function recurrentLayout(cls, ih, hh, opts = {}) {
  const gates = /LSTM/.test(cls) ? 4 : /GRU/.test(cls) ? 3 : 1;
  const block = gates === 1 ? 0 : 2;
  const H = hh.shape[1];
  const I = ih.shape[1];
  const gap = opts.gap ?? Math.max(8, Math.min(18, 260 / Math.max(H, I)));
  const h3 = Math.max(H, I) * gap;
  const ins = column(I, 30, 30 + (h3 - I * gap) / 2, gap).map((p, i) => ({ ...p, role: "input", index: i }));
  const hid = column(H, 170, 30 + (h3 - H * gap) / 2, gap).map((p, i) => ({ ...p, role: "hidden", index: i }));
  const wi = (j, i) => ih.values[(block * H + j) * I + i];
  const wh = (j, i) => hh.values[(block * H + j) * H + i];
  const all = [];
  for (let j = 0; j < H; j += 1) for (let i = 0; i < I; i += 1) all.push(wi(j, i));
  const rec = [];
  for (let j = 0; j < H; j += 1) for (let i = 0; i < H; i += 1) rec.push({ from: i, to: j, w: wh(j, i) });
  const scale = maxAbs([...all, ...rec.map((r) => r.w)]);
  const edges = [];
  for (let j = 0; j < H; j += 1) for (let i = 0; i < I; i += 1) edges.push(edge(ins[i], hid[j], wi(j, i), scale));
  const keep = opts.keepLoops ?? 3 * H;
  rec.sort((a, b) => Math.abs(b.w) - Math.abs(a.w));
  const loops = rec.slice(0, keep).map((r) => ({
    ...edge(hid[r.from], hid[r.to], r.w, scale),
    loop: true,
    self: r.from === r.to
  }));
  return {
    nodes: [...ins, ...hid],
    edges: [...edges, ...loops],
    width: 290,
    height: h3 + 50,
    caption: `${cls} ${block === 0 ? "" : gates === 4 ? "cell gate g, " : "candidate n, "}loops: strongest ${loops.length} of ${H * H} recurrent weights`
  };
}
function neuronPanels(record, params) {
  const byModule = /* @__PURE__ */ new Map();
  for (const p of Object.values(params)) {
    if (!byModule.has(p.module)) byModule.set(p.module, {});
    byModule.get(p.module)[p.param] = p;
  }
  const hp = new Map((record.modules || []).map((m) => [m.name, m.hparams || {}]));
  const order = new Map((record.modules || []).map((m, i) => [m.name, m.order ?? 1e9 + i]));
  const panels = [];
  for (const [module, ps] of byModule) {
    const any = Object.values(ps)[0];
    let lay = null;
    if (any.kind === "linear" && ps.weight) lay = linearLayout(ps.weight.shape, ps.weight.values);
    else if (any.kind === "conv" && ps.weight) lay = convLayout(ps.weight.shape, ps.weight.values, hp.get(module));
    else if (any.kind === "recurrent" && ps.weight_ih_l0 && ps.weight_hh_l0) {
      lay = recurrentLayout(any.class, ps.weight_ih_l0, ps.weight_hh_l0);
    } else if (any.kind === "recurrent" && ps.weight_ih && ps.weight_hh) {
      lay = recurrentLayout(any.class, ps.weight_ih, ps.weight_hh);
    }
    if (lay) panels.push({ module, cls: any.class, kind: any.kind, ...lay });
  }
  panels.sort((a, b) => (order.get(a.module) ?? 0) - (order.get(b.module) ?? 0));
  return panels;
}

// src/views/svg.js
var SVG_NS2 = "http://www.w3.org/2000/svg";
function fill(node, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === void 0 || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === void 0 || c === false) continue;
    node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return node;
}
function svg(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG_NS2, tag), attrs, children);
}
function h2(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children);
}
function stage(container, w, hgt, cls) {
  const root = svg("svg", {
    class: `archviz-view ${cls}`,
    xmlns: SVG_NS2,
    width: Math.ceil(w),
    height: Math.ceil(hgt),
    viewBox: `0 0 ${Math.ceil(w)} ${Math.ceil(hgt)}`,
    "font-family": "Helvetica, Arial, sans-serif"
  });
  root.appendChild(svg("rect", { class: "background", x: 0, y: 0, width: Math.ceil(w), height: Math.ceil(hgt), fill: "#ffffff" }));
  const box = h2("div", { class: "archviz-view-scroll", style: "overflow:auto;width:100%;height:100%;background:#fff" }, root);
  container.appendChild(box);
  return { root, box };
}
function message(container, text) {
  const p = h2("div", { class: "archviz-view-message", style: "padding:24px;color:#475569;font:13px Helvetica,Arial,sans-serif" }, text);
  container.appendChild(p);
  return p;
}

// src/views/neurons.js
var SMALL = (m) => {
  const p = m.hparams || {};
  if (m.class === "Linear") return p.in_features <= 64 && p.out_features <= 64;
  if (/^Conv[12]d$/.test(m.class)) return p.in_channels * p.out_channels <= 4096;
  if (/^(LSTM|GRU|RNN)(Cell)?$/.test(m.class)) return p.hidden_size <= 64 && p.input_size <= 64;
  return false;
};
function drawPanel(panel, ctx) {
  const root = svg("svg", {
    class: `neuron-panel ${panel.kind}`,
    "data-module": panel.module,
    width: panel.width,
    height: panel.height + 20,
    viewBox: `0 0 ${panel.width} ${panel.height + 20}`,
    "font-family": "Helvetica, Arial, sans-serif"
  });
  root.appendChild(svg(
    "text",
    {
      class: "panel-title",
      x: 10,
      y: 14,
      "font-size": 11,
      fill: "#0f172a",
      cursor: "pointer",
      onclick: () => ctx.onSelectModule && ctx.onSelectModule(panel.module)
    },
    `${panel.module} (${panel.cls})`
  ));
  const eg = svg("g", { class: "synapses" });
  for (const e of panel.edges) {
    let d = `M${e.x1},${e.y1} L${e.x2},${e.y2}`;
    if (e.loop && e.self) d = `M${e.x1 + 4},${e.y1 - 3} C${e.x1 + 26},${e.y1 - 14} ${e.x1 + 26},${e.y1 + 14} ${e.x1 + 4},${e.y1 + 3}`;
    else if (e.loop) {
      const bend = 20 + Math.abs(e.y2 - e.y1) * 0.35;
      d = `M${e.x1 + 4},${e.y1} C${e.x1 + bend},${e.y1} ${e.x2 + bend},${e.y2} ${e.x2 + 4},${e.y2}`;
    }
    eg.appendChild(svg("path", {
      class: `synapse ${e.sign}${e.loop ? " loop" : ""}`,
      d,
      fill: "none",
      stroke: signColor(e.w),
      "stroke-width": e.width.toFixed(2),
      "stroke-opacity": e.loop ? 0.7 : 0.55,
      "data-w": e.w.toPrecision(4),
      "data-weight-index": e.weightIndex || null
    }));
  }
  root.appendChild(eg);
  const ng = svg("g", { class: "neurons" });
  for (const n of panel.nodes) {
    ng.appendChild(svg("circle", {
      class: `neuron ${n.role}`,
      cx: n.x,
      cy: n.y,
      r: 3.6,
      fill: n.role === "input" ? "#f8fafc" : "#e2e8f0",
      stroke: "#334155",
      "stroke-width": 0.8
    }));
  }
  root.appendChild(ng);
  root.appendChild(svg("text", { class: "caption", x: 10, y: panel.height + 12, "font-size": 9.5, fill: "#475569" }, panel.caption));
  return root;
}
var neurons_default = {
  id: "neurons",
  label: "Neurons (small layers)",
  available(record) {
    return (record.modules || []).some((m) => m.leaf && SMALL(m));
  },
  render(container, record, ctx) {
    const box = h2("div", { class: "neuron-view", style: "display:flex;flex-wrap:wrap;gap:14px;padding:10px;background:#fff;align-items:flex-start" });
    const note = h2("div", { class: "neuron-note", style: "width:100%;font:12px Helvetica,Arial,sans-serif;color:#475569" }, "loading weights…");
    box.appendChild(note);
    container.appendChild(box);
    let alive = true;
    const step = ctx.step;
    const q = `views/weights?run=${encodeURIComponent(ctx.run)}${step !== null && step !== void 0 ? `&step=${step}` : ""}`;
    ctx.fetchJSON(q).then((body) => {
      if (!alive) return;
      const panels = neuronPanels(record, body.params);
      note.textContent = `weights at step ${body.step} (snapshots: ${body.steps.join(", ")}) · blue positive, red negative, width = |w|`;
      for (const p of panels) box.appendChild(drawPanel(p, ctx));
      box.setAttribute("data-ready", String(panels.length));
    }).catch((err) => {
      if (!alive) return;
      note.textContent = "";
      message(box, `No weight snapshots for this run yet: ${err.message}`);
      box.setAttribute("data-ready", "0");
    });
    return { dispose() {
      alive = false;
      box.remove();
    } };
  }
};

// src/views/overview_layout.js
var OP_FAMILIES = [
  [/^(add|sub|mul|div|iadd|imul|neg|pow|rsub|truediv|floordiv)/, "elementwise"],
  [/^(matmul|bmm|mm|einsum|baddbmm|addmm|linear)/, "linear"],
  [/(softmax|relu|gelu|silu|tanh|sigmoid)/, "activation"],
  [/(attention)/, "attention"],
  [/(norm)/, "norm"],
  [/(pool)/, "pool"],
  [/^(cat|stack|concat)/, "concat"],
  [/^(view|reshape|permute|transpose|flatten|contiguous|split|chunk|squeeze|unsqueeze|expand|getitem|narrow|select|t)$/, "reshape"]
];
function opFamily(op) {
  for (const [re, fam] of OP_FAMILIES) if (re.test(op)) return fam;
  return "other";
}
function blockOf(name, repeatOf) {
  const parts = name.split(".");
  for (let i = 1; i <= parts.length; i += 1) {
    const prefix = parts.slice(0, i).join(".");
    if (repeatOf.has(prefix)) return prefix;
  }
  return null;
}
function overviewCells(record) {
  const repeatOf = new Set((record.modules || []).filter((m) => m.repeat && !m.leaf && m.repeat.count > 1).map((m) => m.name));
  const cells = [];
  for (const m of record.modules || []) {
    if (!m.leaf || m.order === null || m.order === void 0) continue;
    cells.push({
      id: m.name,
      module: m.name,
      order: m.order,
      kind: "module",
      label: m.class,
      family: typeFamily(m.class || "", true),
      calls: m.calls || 1
    });
  }
  for (const op of record.ops || []) {
    cells.push({
      id: op.id,
      module: op.scope || "",
      order: op.order,
      kind: "op",
      label: op.op,
      family: opFamily(op.op),
      calls: 1
    });
  }
  cells.sort((a, b) => a.order - b.order);
  for (const c of cells) c.block = blockOf(c.module, repeatOf);
  return cells;
}
function overviewLayout(record, opts = {}) {
  const cell = opts.cell ?? 11;
  const pad = opts.pad ?? 2;
  const maxCols = opts.maxCols ?? 48;
  const labelW = opts.labelW ?? 170;
  const cells = overviewCells(record);
  const rows = [];
  for (const c of cells) {
    const key = c.block || "";
    const last = rows[rows.length - 1];
    if (last && last.key === key && (key !== "" || last.cells.length < maxCols * 4)) last.cells.push(c);
    else rows.push({ key, label: key || c.module.split(".").slice(0, 2).join(".") || "(root)", cells: [c] });
  }
  let y = 10;
  let width = 0;
  for (const r of rows) {
    r.y = y;
    r.cells.forEach((c, i) => {
      c.x = labelW + i % maxCols * (cell + pad);
      c.y = y + Math.floor(i / maxCols) * (cell + pad);
      c.size = cell;
      width = Math.max(width, c.x + cell);
    });
    const lines = Math.ceil(r.cells.length / maxCols);
    r.height = lines * (cell + pad);
    y += r.height + 6;
  }
  const sigs = /* @__PURE__ */ new Map();
  for (const r of rows) {
    r.signature = r.cells.map((c) => c.label).join(",");
    sigs.set(r.signature, (sigs.get(r.signature) || 0) + 1);
  }
  for (const r of rows) r.same = sigs.get(r.signature);
  return { rows, cells, width: width + 20, height: y + 4, truncated: Boolean(record.ops_truncated) };
}

// src/views/overview.js
var OP_COLORS = {
  elementwise: ["#ffe4e6", "#be123c"],
  reshape: ["#f5f5f5", "#a3a3a3"],
  concat: ["#ede9fe", "#7c3aed"]
};
function colorOf(family) {
  return OP_COLORS[family] || FAMILY_COLORS[family] || FAMILY_COLORS.other;
}
function drawOverview(container, record, ctx = {}) {
  const lay = overviewLayout(record);
  if (!lay.cells.length) return message(container, "No modules or ops were recorded for this architecture.");
  const families = [...new Set(lay.cells.map((c) => c.family))];
  const legendH = 22;
  const { root } = stage(container, Math.max(lay.width, families.length * 95 + 20), lay.height + legendH + 10, "overview");
  const legend = svg("g", { class: "legend", transform: `translate(10,${lay.height + 8})` });
  families.forEach((f, i) => {
    const [fill2, stroke] = colorOf(f);
    legend.appendChild(svg("rect", { x: i * 95, y: 0, width: 10, height: 10, fill: stroke, stroke }));
    legend.appendChild(svg("text", { x: i * 95 + 14, y: 9, "font-size": 10, fill: "#334155" }, f));
    void fill2;
  });
  root.appendChild(legend);
  const g = svg("g", { class: "rows" });
  for (const r of lay.rows) {
    const row2 = svg("g", { class: "row", "data-block": r.key, "data-same": r.same });
    row2.appendChild(svg("text", {
      class: "row-label",
      x: 10,
      y: r.y + 9,
      "font-size": 10,
      fill: r.key ? "#0f172a" : "#64748b"
    }, r.label));
    for (const c of r.cells) {
      const [, stroke] = colorOf(c.family);
      row2.appendChild(svg(
        "rect",
        {
          class: `cell ${c.kind}`,
          "data-id": c.id,
          "data-family": c.family,
          x: c.x,
          y: c.y,
          width: c.size,
          height: c.size,
          rx: c.kind === "op" ? 5 : 1.5,
          fill: stroke,
          "fill-opacity": c.kind === "op" ? 0.55 : 0.9,
          cursor: "pointer",
          onclick: () => {
            if (ctx.onSelectModule) ctx.onSelectModule(c.module);
          }
        },
        svg("title", {}, `${c.id}: ${c.label}${c.kind === "op" ? ` (in ${c.module || "root"})` : ""}`)
      ));
    }
    g.appendChild(row2);
  }
  root.appendChild(g);
  return root;
}
var overview_default = {
  id: "overview",
  label: "Overview (every op)",
  available(record) {
    return (record.modules || []).some((m) => m.leaf && m.order !== null && m.order !== void 0);
  },
  render(container, record, ctx) {
    const node = drawOverview(container, record, ctx);
    return { dispose() {
      const s = node.closest ? node.closest(".archviz-view-scroll") : null;
      (s || node).remove();
    } };
  }
};

// src/views/playground_layout.js
function decodePlane(plane, n) {
  const bin = atob(plane.q);
  const out = new Float32Array(n * n);
  for (let i = 0; i < n * n; i += 1) out[i] = plane.lo + bin.charCodeAt(i) / 255 * (plane.hi - plane.lo);
  return out;
}
function divergingRgb(v, scale) {
  const t = Math.max(-1, Math.min(1, scale > 0 ? v / scale : 0));
  const base = [245, 245, 245];
  const end = t >= 0 ? [8, 119, 189] : [245, 147, 34];
  const a = Math.abs(t);
  return base.map((b, i) => Math.round(b + (end[i] - b) * a));
}
function toTile(p, grid, size) {
  const [x0, x1] = grid.x;
  const [y0, y1] = grid.y;
  return [(p[0] - x0) / (x1 - x0) * size, size - (p[1] - y0) / (y1 - y0) * size];
}

// src/views/playground.js
var TILE = 72;
var LABEL_COLORS = ["#f59322", "#0877bd", "#15803d", "#a21caf"];
function planeImage(plane, n) {
  const vals = decodePlane(plane, n);
  const scale = Math.max(Math.abs(plane.lo), Math.abs(plane.hi));
  const canvas = document.createElement("canvas");
  canvas.width = n;
  canvas.height = n;
  const c2 = canvas.getContext("2d");
  const img = c2.createImageData(n, n);
  for (let r = 0; r < n; r += 1) {
    for (let c = 0; c < n; c += 1) {
      const [R, G, B] = divergingRgb(vals[r * n + c], scale);
      const k = ((n - 1 - r) * n + c) * 4;
      img.data[k] = R;
      img.data[k + 1] = G;
      img.data[k + 2] = B;
      img.data[k + 3] = 255;
    }
  }
  c2.putImageData(img, 0, 0);
  return canvas.toDataURL("image/png");
}
function drawFrame(host, frame, step) {
  while (host.firstChild) host.removeChild(host.firstChild);
  const n = frame.grid.n;
  host.setAttribute("data-step", String(step));
  for (const layer of frame.layers) {
    const row2 = h2(
      "div",
      { class: "pg-layer", "data-layer": layer.name, style: "display:flex;align-items:center;gap:6px;margin:4px 0" },
      h2(
        "div",
        { class: "pg-layer-name", style: "width:150px;font:11px Helvetica,Arial,sans-serif;color:#0f172a" },
        `${layer.name} (${layer.class}, ${layer.units})`
      )
    );
    layer.planes.forEach((plane, u) => {
      const tile = svg(
        "svg",
        { class: "unit-tile", "data-unit": u, width: TILE, height: TILE, viewBox: `0 0 ${TILE} ${TILE}` },
        svg("image", {
          href: planeImage(plane, n),
          x: 0,
          y: 0,
          width: TILE,
          height: TILE,
          preserveAspectRatio: "none",
          style: "image-rendering:pixelated"
        })
      );
      frame.points.forEach((p, i) => {
        const [x, y] = toTile(p, frame.grid, TILE);
        const lab = frame.labels ? frame.labels[i] : null;
        const col = typeof lab === "number" && Number.isInteger(lab) ? LABEL_COLORS[lab % LABEL_COLORS.length] : "#334155";
        tile.appendChild(svg("circle", {
          class: "point",
          cx: x.toFixed(1),
          cy: y.toFixed(1),
          r: 1.6,
          fill: col,
          stroke: "#fff",
          "stroke-width": 0.4,
          "data-label": lab
        }));
      });
      tile.appendChild(svg("rect", { x: 0.5, y: 0.5, width: TILE - 1, height: TILE - 1, fill: "none", stroke: "#94a3b8" }));
      row2.appendChild(tile);
    });
    host.appendChild(row2);
  }
}
var playground_default = {
  id: "playground",
  label: "Playground (2-D input)",
  available(record) {
    return (record.inputs || []).length === 1 && Array.isArray(record.inputs[0].shape) && record.inputs[0].shape.length === 2 && record.inputs[0].shape[1] === 2;
  },
  render(container, record, ctx) {
    const box = h2("div", { class: "playground", style: "padding:10px;background:#fff;font:12px Helvetica,Arial,sans-serif" });
    const label = h2("span", { class: "pg-step" }, "loading…");
    const slider = h2("input", { type: "range", class: "pg-slider", min: "0", max: "0", value: "0", style: "width:320px" });
    const frameHost = h2("div", { class: "pg-frame" });
    box.appendChild(h2(
      "div",
      { class: "pg-controls", style: "display:flex;gap:10px;align-items:center;color:#475569" },
      "training step",
      slider,
      label,
      h2("span", {}, "· orange negative, blue positive; points: training batch by label")
    ));
    box.appendChild(frameHost);
    container.appendChild(box);
    let alive = true;
    ctx.fetchJSON(`views/playground?run=${encodeURIComponent(ctx.run)}`).then((body) => {
      if (!alive) return;
      const show2 = (i) => {
        slider.value = String(i);
        label.textContent = `step ${body.steps[i]} (${i + 1}/${body.steps.length})`;
        drawFrame(frameHost, body.frames[i], body.steps[i]);
      };
      slider.max = String(body.steps.length - 1);
      slider.addEventListener("input", () => show2(Number(slider.value)));
      show2(body.steps.length - 1);
    }).catch((err) => {
      if (alive) {
        label.textContent = "";
        message(box, `No playground frames for this run: ${err.message}`);
      }
    });
    return { dispose() {
      alive = false;
      box.remove();
    } };
  }
};

// src/views/volumes.js
function drawVolumes(container, record, ctx = {}) {
  const lay = volumeLayout(record);
  if (!lay.boxes.length) return message(container, "No feature maps (4-D outputs) in this architecture.");
  const { root } = stage(container, lay.width, lay.height, "volumes");
  const modules = new Map(lay.boxes.map((b) => [b.id, b.module]));
  for (const el of volumesContent(lay)) root.appendChild(toDom(el));
  for (const vol of root.querySelectorAll("g.volume")) {
    vol.setAttribute("cursor", "pointer");
    vol.addEventListener("click", () => {
      const m = modules.get(vol.getAttribute("data-id"));
      if (m && ctx.onSelectModule) ctx.onSelectModule(m);
    });
  }
  return root;
}
var volumes_default = {
  id: "volumes",
  label: "3-D volumes",
  available(record) {
    return (record.modules || []).some((m) => m.leaf && m.io && m.io[0] && m.io[0].outputs && m.io[0].outputs.some((t) => Array.isArray(t.shape) && t.shape.length === 4));
  },
  render(container, record, ctx) {
    const node = drawVolumes(container, record, ctx);
    return { dispose() {
      if (node && node.closest) {
        const s = node.closest(".archviz-view-scroll");
        (s || node).remove();
      } else if (node) node.remove();
    } };
  }
};

// src/views/index.js
var VIEWS = [
  volumes_default,
  overview_default,
  neurons_default,
  playground_default
];
for (const view of VIEWS) registerView(view);

// src/tab/index.js
var getJson2 = (url) => getJSON(url);
async function loadRuns() {
  const body = await getJson2("runs");
  app.runs = body.runs;
  showProblems(body.problems);
  fillRunSelect();
  if (!app.runs.length) {
    setStatus("No architecture recorded yet: add ArchVizCallback() to your Trainer.");
    return;
  }
  const focus = readFocus();
  const names = app.runs.map((r) => r.run);
  const run = focus && names.includes(focus.run) ? focus.run : app.run && names.includes(app.run) ? app.run : landingRun(names, readUrlChoice(ARCHITECTURE_PLUGIN, "run"), await timelineRuns());
  await loadRun(run, null, { landing: true });
}
async function timelineRuns() {
  try {
    return (await getJSON("../archviz_health/runs")).runs || [];
  } catch {
    return [];
  }
}
async function chooseRun(run) {
  writeUrlChoice(ARCHITECTURE_PLUGIN, "run", run);
  await loadRun(run, null, { landing: true });
}
async function landReadably() {
  for (let i = 0; i < 8; i++) {
    if (!app.view || ui.pz.fit() || app.state.depth <= 1) return;
    app.state = { ...app.state, depth: app.state.depth - 1, expanded: [], collapsed: [] };
    await redraw();
  }
}
async function loadRun(run, version, opts = {}) {
  const t0 = performance.now();
  const q = `architecture?run=${encodeURIComponent(run)}` + (version === null ? "" : `&version=${version}`);
  const body = await getJson2(q);
  const tFetched = performance.now();
  app.run = run;
  app.version = body.version.index;
  app.record = body.record;
  app.tree = buildTree(body.record);
  const tTree = performance.now();
  app.state = stateFor(app.tree, null);
  app.timings.load = {
    fetchMs: Math.round(tFetched - t0),
    treeMs: Math.round(tTree - tFetched),
    stateMs: Math.round(performance.now() - tTree)
  };
  app.selected = null;
  app.highlight = /* @__PURE__ */ new Set();
  app.diff = null;
  const keepStep = app.health ? app.health.step : null;
  app.health = null;
  ui.runSel.value = run;
  ui.diffSel.value = "";
  fillVersionSelects();
  ui.depth.max = String(Math.max(1, app.tree.maxDepth));
  fillViewSelect();
  await redraw({ fit: true });
  if (opts.landing) await landReadably();
  if (app.colorMode === "health") await loadHealth(keepStep);
  mountView();
  app.timings.firstPaintMs = Math.round(performance.now() - t0);
  if (app.timings.fromStartMs === void 0 && app.timings.start !== void 0) {
    app.timings.fromStartMs = Math.round(performance.now() - app.timings.start);
  }
  applyFocus(readFocus());
  showDetails(ui.details, app.tree, app.selected, app.record);
  updateStatus();
}
var POLL_MS = 3e4;
var refreshing = false;
async function refreshRuns() {
  if (refreshing) return;
  refreshing = true;
  try {
    const body = await getJson2("runs");
    showProblems(body.problems);
    const before = JSON.stringify(app.runs);
    if (JSON.stringify(body.runs) === before) return;
    app.runs = body.runs;
    if (!app.record) {
      await loadRuns();
      return;
    }
    fillRunSelect();
    ui.runSel.value = app.run;
    fillVersionSelects();
  } catch {
  } finally {
    refreshing = false;
  }
}
function drawOptions() {
  const health = app.colorMode === "health";
  return {
    colorMode: health ? "value" : app.colorMode,
    selected: app.selected,
    highlight: app.highlight,
    diff: app.diff || void 0,
    legend: true,
    values: health && app.health ? app.health.values : void 0,
    valueLabel: health && app.health ? `${healthStatLabel()} @ step ${app.health.step}` : void 0
  };
}
async function redraw(opts = {}) {
  const seq = ++app.seq;
  const t0 = performance.now();
  let cached = false;
  const elk = { layout: (graph) => {
    const r = app.layouts.lookup(graph);
    cached = r.cached;
    return r.promise;
  } };
  const view = await layoutView(elk, app.tree, app.state, drawOptions());
  if (seq !== app.seq) return;
  app.view = view;
  app.timings.lastLayoutMs = Math.round(performance.now() - t0);
  ui.depth.value = String(app.state.depth);
  ui.depthLabel.textContent = ` ${app.state.depth}/${app.tree.maxDepth}`;
  const t1 = performance.now();
  const svg2 = toDom(view.el);
  ui.pz.setContent(svg2, view.el, opts.fit);
  const round = (x) => Math.round(x * 10) / 10;
  app.timings.lastRedraw = {
    ...Object.fromEntries(Object.entries(view.timings).map(([k, x]) => [k, round(x)])),
    domMs: round(performance.now() - t1),
    totalMs: round(performance.now() - t0),
    nodes: view.folded.nodes.length,
    edges: view.folded.edges.length,
    cached
  };
  app.timings.redraws = (app.timings.redraws || 0) + 1;
  updateStatus();
  prefetchLayouts(app, () => seq === app.seq, drawOptions());
}
function repaint() {
  if (!app.view) return;
  const el = renderDiagram(app.tree, app.view.folded, app.view.geo, drawOptions());
  app.view.el = el;
  ui.pz.setContent(toDom(el), el, false);
}
function setDepth(depth) {
  app.state = { ...app.state, depth, expanded: [], collapsed: [] };
  redraw();
}
function nodeIdFromEvent(e) {
  let t = e.target;
  while (t && t !== ui.canvas) {
    if (t.getAttribute && t.getAttribute("data-id") !== null) return t.getAttribute("data-id");
    t = t.parentNode;
  }
  return null;
}
async function onCanvasClick(e) {
  if (ui.pz.dragged) return;
  const id = nodeIdFromEvent(e);
  if (id === null) return;
  app.selected = id;
  showDetails(ui.details, app.tree, id, app.record);
  const v = app.view.folded.nodes.find((n) => n.id === id);
  const openable = v && (v.kind === "repeat" || v.kind === "module" && app.tree.nodes.get(id).children.length);
  if (openable) {
    app.state = toggle(app.tree, app.state, id);
    await redraw();
  } else {
    repaint();
  }
}
function runSearch(q) {
  app.hits = search(app.tree, q);
  app.hitIndex = -1;
  app.highlight = /* @__PURE__ */ new Set();
  ui.hitLabel.textContent = q ? `${app.hits.length} found` : "";
  if (app.hits.length) nextHit();
  else repaint();
}
async function nextHit() {
  if (!app.hits.length) return;
  app.hitIndex = (app.hitIndex + 1) % app.hits.length;
  await focusLayer(app.hits[app.hitIndex]);
  ui.hitLabel.textContent = `${app.hitIndex + 1}/${app.hits.length}`;
}
async function focusLayer(name) {
  const n = app.tree.nodes.get(name);
  if (!n) return false;
  if (n.inside !== void 0) name = n.inside;
  app.state = reveal(app.tree, app.state, name);
  app.selected = name;
  app.highlight = /* @__PURE__ */ new Set([name]);
  await redraw();
  showDetails(ui.details, app.tree, name, app.record);
  const box = app.view.geo.nodes.get(name);
  if (box) ui.pz.centerOn(box);
  return true;
}
async function show(state, center = null) {
  app.state = { depth: app.state.depth, expanded: [], collapsed: [], unfolded: [], ...state };
  app.selected = null;
  app.highlight = /* @__PURE__ */ new Set();
  await redraw({ fit: true });
  showDetails(ui.details, app.tree, null, app.record);
  const box = center !== null && app.view.geo.nodes.get(center);
  if (box) {
    const ctx = { x: box.x, y: box.y - 150, width: box.width, height: box.height + 150 };
    ui.pz.t.k = Math.min(1, (ui.canvas.clientHeight - 24) / ctx.height);
    ui.pz.centerOn(ctx);
  }
}
var appliedFocus = null;
async function applyFocus(f) {
  if (!f || !app.tree) return;
  const key = JSON.stringify(f);
  if (key === appliedFocus) return;
  if (f.run && f.run !== app.run && app.runs.some((r) => r.run === f.run)) {
    await loadRun(f.run, null);
    return;
  }
  appliedFocus = key;
  await focusLayer(f.layer);
}
async function setDiff(value) {
  if (value === "") {
    app.diff = null;
    repaint();
    updateStatus();
    return;
  }
  const at = value.indexOf("@");
  const otherRun = at < 0 ? app.run : value.slice(at + 1);
  const otherVersion = at < 0 ? value : value.slice(0, at);
  const other = (await getJson2(`architecture?run=${encodeURIComponent(otherRun)}&version=${otherVersion}`)).record;
  const what = otherRun === app.run ? `v${otherVersion}` : `${otherRun} v${otherVersion}`;
  const { added, changed, removed } = diffRecords(
    app.record,
    other,
    app.tree,
    (id) => app.view.folded.rep.get(id)
  );
  app.diff = { added, changed };
  repaint();
  setStatus(`compared with ${what}: ${added.size} added, ${changed.size} changed, ${removed.length} removed${removed.length ? " (" + removed.slice(0, 8).join(", ") + ")" : ""}`);
}
var paperSvg2 = () => paperSvg(app, drawOptions());
var exportSvg2 = () => exportSvg(app, drawOptions());
var exportPng2 = (scale = 2) => exportPng(app, drawOptions(), scale);
async function render() {
  app.timings.start = performance.now();
  const link = html("link", { rel: "stylesheet", href: new URL("./style.css", import.meta.url).href });
  document.head.appendChild(link);
  document.body.className = "archviz";
  const root = html("div", { class: "archviz-root" });
  document.body.appendChild(root);
  Object.assign(ui, buildUi(root, {
    chooseRun,
    setView,
    setDiff,
    setDepth,
    setColorMode,
    loadHealth,
    onHealthSlider,
    nextHit,
    runSearch,
    exportSvg: exportSvg2,
    exportPng: exportPng2,
    canvasClick: onCanvasClick,
    chooseVersion: (v) => loadRun(app.run, v)
  }));
  setDrawing({ redraw, repaint });
  app.elk = makeElk();
  app.layouts = new LayoutCache(app.elk);
  try {
    app.prefetch = window.localStorage.getItem(PREFETCH_KEY) !== "off";
  } catch {
  }
  warmUpElk(app.elk, (ms) => {
    app.timings.elkWarmMs = ms;
  });
  onFocus((f) => applyFocus(f));
  onSharedStep(() => onSharedStep2());
  window.__archviz = {
    app,
    exportSvg: paperSvg2,
    exportPng: exportPng2,
    focusLayer,
    show,
    setView,
    setColorMode,
    ready: false
  };
  try {
    offerHealthStats(await getJson2("registry"));
  } catch {
  }
  try {
    await loadRuns();
  } catch (err) {
    setStatus(`Could not load architectures: ${err.message}`);
  }
  listenForReload(() => refreshRuns());
  setInterval(() => refreshRuns(), POLL_MS);
  window.__archviz.refreshRuns = refreshRuns;
  window.__archviz.ready = true;
}
export {
  render
};
