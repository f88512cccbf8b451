// Layouts by ELK graph: the same graph (same folded view, same sizes, same options) is laid
// out once. Keyed by the graph's JSON, so anything that changes the layout changes the key.
// Results are kept as promises: a view asked for while its layout is still running (a block
// clicked while it is being laid out ahead of time) waits for that same layout.
export class LayoutCache {
  constructor(elk, limit = 48) {
    this.elk = elk;
    this.limit = limit;
    this.entries = new Map(); // key → Promise of the laid-out graph (never handed out itself)
    this.hits = 0;
    this.misses = 0;
  }

  // {promise of a laid-out copy, cached: whether a layout for this graph was already known}.
  lookup(graph) {
    const key = JSON.stringify(graph);
    let entry = this.entries.get(key);
    const cached = entry !== undefined;
    if (cached) {
      this.entries.delete(key); // most recently used last
      this.hits += 1;
    } else {
      this.misses += 1;
      entry = this.elk.layout(graph);
      entry.catch(() => { if (this.entries.get(key) === entry) this.entries.delete(key); });
    }
    this.entries.set(key, entry);
    while (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value);
    // Callers may change what they get (absolutize moves lanes): each gets its own copy.
    return { cached, promise: entry.then((laid) => structuredClone(laid)) };
  }

  has(graph) {
    return this.entries.has(JSON.stringify(graph));
  }

  // ELK's interface, for layoutView.
  layout(graph) {
    return this.lookup(graph).promise;
  }
}
