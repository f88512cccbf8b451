// The tab's layout cache over the real bundled ELK (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ELK from 'elkjs/lib/elk.bundled.js';
import { absolutize, buildElkGraph, buildTree, foldGraph, layoutView, stateFor, toggle } from '../src/diagram/index.js';
import { LayoutCache } from '../src/tab/layoutcache.js';

const record = JSON.parse(readFileSync(new URL('./fixtures/tiny_resnet.json', import.meta.url)));

// A real ELK that counts the layouts it was asked for.
function countingElk() {
  const elk = new ELK();
  const counted = { calls: 0, layout: (g) => { counted.calls += 1; return elk.layout(g); } };
  return counted;
}

test('the same view is laid out once and each caller gets its own copy', async () => {
  const tree = buildTree(record);
  const elk = countingElk();
  const cache = new LayoutCache(elk);
  const state = stateFor(tree, null);
  const { graph, info } = buildElkGraph(tree, foldGraph(tree, state));
  const first = cache.lookup(graph);
  const second = cache.lookup(buildElkGraph(tree, foldGraph(tree, state)).graph);
  assert.deepEqual([first.cached, second.cached], [false, true]);
  const [a, b] = await Promise.all([first.promise, second.promise]);
  assert.equal(elk.calls, 1);
  assert.notEqual(a, b);
  assert.deepEqual(a, b);
  a.children[0].x += 1000; // absolutize moves lanes in place: a copy must not leak it
  assert.notEqual((await cache.layout(graph)).children[0].x, a.children[0].x);
  // The cached layout is the layout ELK gives for that graph.
  const fresh = absolutize(await new ELK().layout(graph), info);
  const viaCache = absolutize(await cache.layout(graph), info);
  assert.deepEqual([...viaCache.nodes], [...fresh.nodes]);
});

test('another state is another layout, and layoutView works through the cache', async () => {
  const tree = buildTree(record);
  const elk = countingElk();
  const cache = new LayoutCache(elk);
  const s0 = stateFor(tree, null);
  const v0 = await layoutView(cache, tree, s0);
  const open = v0.folded.nodes.find((v) => v.kind === 'repeat' || (v.kind === 'module' && v.parent !== null &&
    tree.nodes.get(v.id).children.length));
  assert.ok(open, 'the fixture shows a block that opens or closes');
  const v1 = await layoutView(cache, tree, toggle(tree, s0, open.id));
  assert.notEqual(v1.folded.nodes.length, v0.folded.nodes.length);
  await layoutView(cache, tree, s0);
  assert.equal(elk.calls, 2);
});

test('a failed layout is forgotten and the oldest entries go past the limit', async () => {
  let fail = true;
  const elk = new ELK();
  const flaky = { calls: 0, layout(g) { this.calls += 1; return fail ? Promise.reject(new Error('no')) : elk.layout(g); } };
  const cache = new LayoutCache(flaky, 2);
  const g = (n) => ({ id: 'root', children: Array.from({ length: n }, (_, i) => ({ id: `n${i}`, width: 10, height: 10 })), edges: [] });
  await assert.rejects(cache.layout(g(1)));
  fail = false;
  assert.equal((await cache.layout(g(1))).children.length, 1);
  assert.equal(flaky.calls, 2);
  await cache.layout(g(2));
  await cache.layout(g(3));
  assert.equal(cache.has(g(1)), false);
  assert.equal(cache.has(g(3)), true);
});
