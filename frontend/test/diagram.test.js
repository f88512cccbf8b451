// Unit tests of the diagram library's folding and labels (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildTree, foldGraph, formatCount, reveal, search, toggle, typeLine } from '../src/diagram/index.js';

const record = JSON.parse(readFileSync(new URL('./fixtures/tiny_resnet.json', import.meta.url)));

test('labels carry the hyperparameters papers use', () => {
  assert.equal(typeLine({ class: 'Conv2d', hparams: { in_channels: 64, out_channels: 128, kernel_size: [3, 3], stride: [2, 2] } }), 'Conv2d 3×3 s2, 64→128');
  assert.equal(typeLine({ class: 'Linear', hparams: { in_features: 512, out_features: 10 } }), 'Linear 512→10');
  assert.equal(typeLine({ class: 'MultiheadAttention', hparams: { embed_dim: 512, num_heads: 8 } }), 'MultiheadAttention 8 heads, d=512');
  assert.equal(typeLine({ class: 'LSTM', hparams: { hidden_size: 128, num_layers: 2, bidirectional: true } }), 'LSTM 128, 2 layers, bidir');
});

test('parameter counts are abbreviated', () => {
  assert.equal(formatCount(1234567), '1.23M');
  assert.equal(formatCount(1200000), '1.2M');
  assert.equal(formatCount(9408), '9.41K');
  assert.equal(formatCount(12), '12');
});

test('repeated siblings fold into one block and edges are lifted onto it', () => {
  const tree = buildTree(record);
  const g = foldGraph(tree, { depth: 3 });
  const rep = g.nodes.filter((n) => n.kind === 'repeat');
  assert.equal(rep.length, 1);
  assert.equal(rep[0].count, 2);
  assert.ok(!g.nodes.some((n) => n.id.startsWith('net.blocks.0')));
  assert.ok(g.edges.some((e) => e.src === 'net.relu' && e.dst === rep[0].id));
  assert.ok(g.edges.some((e) => e.src === rep[0].id && e.dst === 'net.pool'));
});

test('unfolding shows the residual adds with their skip edges', () => {
  const tree = buildTree(record);
  const g = foldGraph(tree, { depth: 4, unfolded: ['repeat:net.blocks|blocks'] });
  assert.ok(g.nodes.some((n) => n.id === 'op:0'));
  assert.ok(g.edges.some((e) => e.dst === 'op:0' && e.kind === 'residual'));
});

test('collapsing a block hides its inside but keeps the path through it', () => {
  const tree = buildTree(record);
  const open = { depth: 4, unfolded: ['repeat:net.blocks|blocks'] };
  const closed = toggle(tree, open, 'net.blocks.0');
  const g = foldGraph(tree, closed);
  assert.ok(!g.nodes.some((n) => n.id.startsWith('net.blocks.0.')));
  assert.ok(g.edges.some((e) => e.src === 'net.relu' && e.dst === 'net.blocks.0'));
  assert.ok(g.edges.some((e) => e.src === 'net.blocks.0' && e.dst === 'net.blocks.1.conv1'));
  assert.ok(!g.edges.some((e) => e.src === e.dst));
});

test('reveal opens the ancestors and the repeat group of a deep layer', () => {
  const tree = buildTree(record);
  const s = reveal(tree, { depth: 1 }, 'net.blocks.1.conv2');
  assert.ok(foldGraph(tree, s).nodes.some((n) => n.id === 'net.blocks.1.conv2'));
});

test('search matches names and classes', () => {
  const tree = buildTree(record);
  assert.deepEqual(search(tree, 'fc'), ['net.fc']);
  assert.deepEqual(search(tree, 'blocks.1.conv'), ['net.blocks.1.conv1', 'net.blocks.1.conv2']);
  assert.equal(search(tree, 'batchnorm').length, 5);
  assert.deepEqual(search(tree, ''), []);
});
