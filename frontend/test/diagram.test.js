// Unit tests of the diagram library's folding and labels (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { allRepeatKeys, buildTree, foldGraph, formatCount, reveal, search, toggle, typeLine } from '../src/diagram/index.js';
import { nodeLines, nodeSize } from '../src/diagram/boxes.js';
import { textWidth } from '../src/diagram/measure.js';

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

// The fixture with block 0's activation also applied after its add (torchvision's ResNet
// block reuses one nn.ReLU): that second call site is the dataflow node "…act#1".
function withSecondCallSite(rec) {
  const act = 'net.blocks.0.act';
  const edges = rec.edges.map((e) => (e.src === 'op:0' ? { ...e, src: `${act}#1` } : { ...e }));
  const i = edges.findIndex((e) => e.dst === 'op:0' && e.kind !== 'residual');
  edges.splice(i + 1, 0, { src: 'op:0', dst: `${act}#1`, shape: edges[i].shape,
    dtype: edges[i].dtype, kind: 'data', count: 1 });
  return { ...rec, edges };
}

test('a module called from a second place is drawn as its own block, without a loop', () => {
  const tree = buildTree(withSecondCallSite(record));
  const g = foldGraph(tree, { depth: 4, unfolded: ['repeat:net.blocks|blocks'] });
  const act = 'net.blocks.0.act';
  const again = g.nodes.find((n) => n.id === `${act}#1`);
  assert.ok(again && g.nodes.some((n) => n.id === act));
  assert.equal(again.parent, 'net.blocks.0');
  assert.equal(tree.nodes.get(`${act}#1`).module, tree.nodes.get(act).module);
  assert.deepEqual(nodeLines(tree, again), nodeLines(tree, g.nodes.find((n) => n.id === act)));
  const pairs = g.edges.map((e) => `${e.src}>${e.dst}`);
  assert.ok(pairs.includes(`net.blocks.0.bn1>${act}`));
  assert.ok(pairs.includes(`op:0>${act}#1`));
  assert.ok(pairs.includes(`${act}#1>net.blocks.1.conv1`));
  assert.ok(!pairs.includes(`op:0>${act}`) && !pairs.includes(`${act}>net.blocks.1.conv1`));
  // Forward order inside the block: the second call comes after the add.
  const kids = tree.nodes.get('net.blocks.0').children;
  assert.ok(kids.indexOf(`${act}#1`) > kids.indexOf('op:0'));
  // Not a search hit or a repeat member of its own.
  assert.deepEqual(search(tree, 'blocks.0.act'), [act]);
});

test('a second call site lifts into its collapsed ancestor like the module itself', () => {
  const tree = buildTree(withSecondCallSite(record));
  const closed = toggle(tree, { depth: 4, unfolded: ['repeat:net.blocks|blocks'] }, 'net.blocks.0');
  const g = foldGraph(tree, closed);
  assert.ok(!g.nodes.some((n) => n.id.startsWith('net.blocks.0.')));
  assert.equal(g.rep.get('net.blocks.0.act#1'), 'net.blocks.0');
  assert.ok(g.edges.some((e) => e.src === 'net.blocks.0' && e.dst === 'net.blocks.1.conv1'));
  assert.ok(!g.edges.some((e) => e.src === e.dst));
  const folded = foldGraph(tree, { depth: 3 });
  assert.ok(!folded.nodes.some((n) => n.id.includes('#')));
});

const transformer = JSON.parse(readFileSync(new URL('./fixtures/tiny_transformer.json', import.meta.url)));

test('a module that is a dataflow endpoint is one block, not a container around its children', () => {
  const tree = buildTree(transformer);
  const attn = 'net.encoder.layers.0.self_attn';
  const g = foldGraph(tree, { depth: 10, unfolded: allRepeatKeys(tree) });
  const block = g.nodes.find((n) => n.id === attn);
  assert.ok(block, 'the attention block is drawn');
  assert.equal(block.open, false);
  assert.ok(!g.nodes.some((n) => n.id === `${attn}.out_proj`), 'out_proj is not drawn on its own');
  assert.ok(g.edges.some((e) => e.dst === attn) && g.edges.some((e) => e.src === attn));
  assert.deepEqual(tree.nodes.get(attn).inner, [`${attn}.out_proj`]);
  assert.ok(nodeLines(tree, block).some((l) => l.text === 'MultiheadAttention 4 heads, d=32'));
  // searching for the inner module finds the block that shows it
  assert.deepEqual(search(tree, 'out_proj'), [attn, 'net.encoder.layers.1.self_attn']);
  assert.ok(foldGraph(tree, reveal(tree, { depth: 1 }, `${attn}.out_proj`)).nodes.some((n) => n.id === attn));
});

test('device mode lays each device out in its own lane and marks the edges between them', async () => {
  const { default: ELK } = await import('elkjs/lib/elk.bundled.js');
  const { layoutView, toSvgString } = await import('../src/diagram/index.js');
  // A pipeline split: the first half of the modules (forward order) on cuda:0, the rest on cuda:1.
  const rec = JSON.parse(JSON.stringify(record));
  const order = rec.modules.filter((m) => m.leaf).sort((a, b) => a.order - b.order);
  const half = new Set(order.slice(0, Math.floor(order.length / 2)).map((m) => m.name));
  for (const m of rec.modules) m.devices = m.leaf ? [half.has(m.name) ? 'cuda:0' : 'cuda:1'] : ['cuda:0', 'cuda:1'];
  const tree = buildTree(rec);
  const view = await layoutView(new ELK(), tree, { depth: 4 }, { colorMode: 'device', legend: true });
  const lanes = view.geo.info.lanes;
  assert.deepEqual(lanes.devices, ['cuda:0', 'cuda:1']);
  const bottom0 = Math.max(...[...lanes.of].filter(([, l]) => l === 0).map(([id]) => view.geo.nodes.get(id).y));
  const top1 = Math.min(...[...lanes.of].filter(([, l]) => l === 1).map(([id]) => view.geo.nodes.get(id).y));
  assert.ok(bottom0 < top1, `cuda:0 band (to ${bottom0}) above cuda:1 band (from ${top1})`);
  const svg = toSvgString(view.el);
  assert.ok(svg.includes('data-device="cuda:0"') && svg.includes('data-device="cuda:1"'));
  assert.ok(svg.includes('cross-device'));
});

test('clicking a ×N block unfolds it into N closed blocks, one level, and folding forgets that', () => {
  const tree = buildTree(record);
  const start = { depth: 4, expanded: [], collapsed: [], unfolded: [] };
  const key = 'repeat:net.blocks|blocks';
  assert.ok(foldGraph(tree, start).nodes.some((n) => n.id === key));
  const open = toggle(tree, start, key);
  const g = foldGraph(tree, open);
  const members = g.nodes.filter((n) => n.id === 'net.blocks.0' || n.id === 'net.blocks.1');
  assert.equal(members.length, 2);
  assert.ok(members.every((n) => !n.open));
  assert.ok(!g.nodes.some((n) => n.id.startsWith('net.blocks.0.')));
  // A member opened afterwards shows its inside; folding the group again resets the members.
  const inside = foldGraph(tree, toggle(tree, open, 'net.blocks.0'));
  assert.ok(inside.nodes.some((n) => n.id === 'net.blocks.0.conv1'));
  const folded = toggle(tree, open, key);
  assert.deepEqual(folded.collapsed, []);
  assert.ok(foldGraph(tree, folded).nodes.some((n) => n.id === key));
});

test('an op without a glyph shows its whole name inside a node as wide as the name', () => {
  const rec = { modules: [{ name: '', class: 'M', parent: null, leaf: false }],
    ops: [{ id: 'op:0', op: 'mean', scope: '', order: 1 }, { id: 'op:1', op: 'add', scope: '', order: 2 },
      { id: 'op:2', op: 'scaled_dot_product_attention', scope: '', order: 3 }], edges: [] };
  const tree = buildTree(rec);
  const [mean] = nodeLines(tree, { id: 'op:0', kind: 'op' });
  assert.equal(mean.text, 'mean');
  assert.equal(mean.title, 'mean');
  const size = nodeSize([mean], 'op');
  assert.ok(size.width >= textWidth('mean', mean.size) + 8, JSON.stringify(size));
  const [add] = nodeLines(tree, { id: 'op:1', kind: 'op' });
  assert.equal(add.text, '+');
  assert.deepEqual(nodeSize([add], 'op'), { width: 20, height: 20 });
  assert.equal(nodeLines(tree, { id: 'op:2', kind: 'op' })[0].text, 'SDPA');
});

test('a closed container that holds one run of repeated blocks says what it holds', () => {
  const tree = buildTree(transformer);
  const g = foldGraph(tree, { depth: 3 });
  const layers = g.nodes.find((n) => n.id === 'net.encoder.layers');
  assert.ok(layers && !layers.open, 'layers is drawn closed at depth 3');
  const type = nodeLines(tree, layers).find((l) => l.role === 'type').text;
  assert.match(type, /^TransformerEncoderLayer .*×2$/);
});
