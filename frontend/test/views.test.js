// Unit tests of the extra views' pure layouts (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dimsLabel, logSize, volumeLayout } from '../src/views/volumes_layout.js';
import { blockOf, opFamily, overviewLayout } from '../src/views/overview_layout.js';

const record = JSON.parse(readFileSync(new URL('./fixtures/tiny_resnet.json', import.meta.url)));

test('feature maps are labelled height×width×channels and vectors by their length', () => {
  assert.equal(dimsLabel({ h: 32, w: 32, c: 16 }), '32×32×16');
  assert.equal(dimsLabel({ h: 1, w: 1, c: 10, vector: true }), '10');
});

test('box sizes grow with the logarithm of the size and stop at the cap', () => {
  assert.equal(logSize(1, 4, 5, 48), 4);
  assert.equal(logSize(8, 4, 5, 48), 19);
  assert.equal(logSize(1 << 20, 4, 5, 48), 48);
});

test('volumes keep convs, pools and shape changes and fold norms, activations and adds', () => {
  const lay = volumeLayout(record);
  const ids = lay.boxes.map((b) => b.id);
  assert.deepEqual(ids, ['input:0', 'net.stem', 'net.blocks.0.conv1', 'net.blocks.0.conv2',
    'net.blocks.1.conv1', 'net.blocks.1.conv2', 'net.pool', 'net.fc']);
  assert.equal(lay.boxes.find((b) => b.id === 'net.pool').label, '1×1×16');
  // The residual skip survives the folding of the add: the stem feeds the second block.
  assert.ok(lay.edges.some((e) => e.src === 'net.stem' && e.dst === 'net.blocks.1.conv1'));
  // Each box sits one column after its furthest input.
  const rank = new Map(lay.boxes.map((b) => [b.id, b.rank]));
  for (const e of lay.edges) assert.ok(rank.get(e.dst) > rank.get(e.src));
});

test('volumes side by side: two branches from one map share a column', () => {
  const mod = (name, cls, order, inS, outS) => ({ name, class: cls, leaf: true, order,
    io: [{ inputs: [{ shape: inS }], outputs: [{ shape: outS }] }] });
  const rec = {
    inputs: [{ shape: [1, 3, 8, 8] }],
    modules: [mod('a', 'Conv2d', 1, [1, 3, 8, 8], [1, 4, 8, 8]), mod('b', 'Conv2d', 2, [1, 4, 8, 8], [1, 2, 8, 8]),
      mod('c', 'Conv2d', 3, [1, 4, 8, 8], [1, 2, 8, 8])],
    ops: [{ id: 'op:0', op: 'cat', order: 4, inputs: [{ shape: [1, 2, 8, 8] }, { shape: [1, 2, 8, 8] }], outputs: [{ shape: [1, 4, 8, 8] }] }],
    edges: [{ src: 'input:0', dst: 'a' }, { src: 'a', dst: 'b' }, { src: 'a', dst: 'c' }, { src: 'b', dst: 'op:0' }, { src: 'c', dst: 'op:0' }],
  };
  const lay = volumeLayout(rec);
  const at = new Map(lay.boxes.map((b) => [b.id, b]));
  assert.equal(at.get('b').rank, at.get('c').rank);
  assert.equal(at.get('b').x, at.get('c').x);
  assert.notEqual(at.get('b').y, at.get('c').y);
  assert.equal(at.get('op:0').rank, at.get('b').rank + 1);
});

test('ops are grouped into families for the overview colours', () => {
  assert.equal(opFamily('add'), 'elementwise');
  assert.equal(opFamily('matmul'), 'linear');
  assert.equal(opFamily('view'), 'reshape');
  assert.equal(opFamily('softmax'), 'activation');
  assert.equal(opFamily('scaled_dot_product_attention'), 'attention');
});

test('a module belongs to its outermost repeated container', () => {
  const rep = new Set(['h.0', 'h.1', 'h.0.mlp']);
  assert.equal(blockOf('h.0.mlp.fc', rep), 'h.0');
  assert.equal(blockOf('wte', rep), null);
});

test('the overview has one cell per leaf call and op and one row per repeated block', () => {
  const lay = overviewLayout(record);
  const leaves = record.modules.filter((m) => m.leaf && m.order !== null);
  assert.equal(lay.cells.length, leaves.length + record.ops.length);
  const blocks = lay.rows.map((r) => r.key).filter(Boolean);
  assert.deepEqual(blocks, ['net.blocks.0', 'net.blocks.1']);
  const [a, b] = lay.rows.filter((r) => r.key);
  assert.equal(a.signature, b.signature);
  assert.equal(a.same, 2);
  // Cells are in forward order within a row.
  for (const r of lay.rows) for (let i = 1; i < r.cells.length; i += 1) assert.ok(r.cells[i].order > r.cells[i - 1].order);
});

import { convLayout, linearLayout, recurrentLayout, signColor } from '../src/views/neurons_layout.js';

test('a linear layer connects every input to every output, colour by sign', () => {
  const lay = linearLayout([2, 3], [1, -2, 0.5, -1, 3, 0]);
  assert.equal(lay.nodes.length, 5);
  assert.equal(lay.edges.length, 6);
  assert.equal(lay.edges.filter((e) => e.sign === 'negative').length, 2);
  assert.equal(signColor(-0.1), '#dc2626');
  // Width grows with magnitude: the largest weight is the widest edge.
  const widest = lay.edges.reduce((a, b) => (b.width > a.width ? b : a));
  assert.equal(widest.w, 3);
});

test('a convolution connects each output to a window of inputs with shared weights', () => {
  // Conv1d 1->1, kernel 3, padding 1: weights [1, 2, 3].
  const lay = convLayout([1, 1, 3], [1, 2, 3], { stride: [1], padding: [1] });
  assert.equal(lay.nodes.length, 16);
  assert.equal(lay.edges.length, 8 * 3 - 2);
  const byTap = new Map();
  for (const e of lay.edges) byTap.set(e.weightIndex, (byTap.get(e.weightIndex) || new Set()).add(e.w));
  assert.equal(byTap.size, 3);
  for (const ws of byTap.values()) assert.equal(ws.size, 1);
  // Stride 2 halves the outputs.
  assert.equal(convLayout([1, 1, 3], [1, 2, 3], { stride: [2], padding: [1] }).nodes.length, 8 + 4);
});

test('recurrent layers draw the candidate gate and the strongest hidden-to-hidden loops', () => {
  const H = 2;
  const I = 1;
  const ih = { shape: [4 * H, I], values: [0, 0, 0, 0, 5, -6, 0, 0] };
  const hh = { shape: [4 * H, H], values: [0, 0, 0, 0, 0, 0, 0, 0, 1, -2, 3, 0.1, 0, 0, 0, 0] };
  const lay = recurrentLayout('LSTM', ih, hh, { keepLoops: 3 });
  const input = lay.edges.filter((e) => !e.loop);
  assert.deepEqual(input.map((e) => e.w), [5, -6]);
  const loops = lay.edges.filter((e) => e.loop);
  assert.deepEqual(loops.map((e) => e.w), [3, -2, 1]);
  assert.equal(loops.filter((e) => e.self).length, 1);
});

import { decodePlane, divergingRgb, toTile } from '../src/views/playground_layout.js';

test('playground planes decode from 8-bit codes and colour by sign', () => {
  const q = Buffer.from([0, 255, 51, 204]).toString('base64');
  const v = decodePlane({ lo: -1, hi: 1, q }, 2);
  assert.deepEqual([...v].map((x) => Math.round(x * 100) / 100), [-1, 1, -0.6, 0.6]);
  assert.deepEqual(divergingRgb(1, 1), [8, 119, 189]);
  assert.deepEqual(divergingRgb(-1, 1), [245, 147, 34]);
  assert.deepEqual(divergingRgb(0, 1), [245, 245, 245]);
  // The lowest y is at the bottom of the tile.
  assert.deepEqual(toTile([0, 0], { x: [0, 2], y: [0, 2] }, 100), [0, 100]);
  assert.deepEqual(toTile([2, 2], { x: [0, 2], y: [0, 2] }, 100), [100, 0]);
});
