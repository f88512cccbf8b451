// Device lanes (colour: device) on real captures whose device fields were rewritten (the test
// machine has one CPU): an AlexNet-like two-tower CNN (towers on cuda:0 / cuda:1) and a
// two-stage pipeline MLP (stage0 on cuda:0, stage1 on cuda:1). node --test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ELK from 'elkjs/lib/elk.bundled.js';
import { buildTree, deviceLanes, foldGraph, layoutView, stateFor, toSvgString } from '../src/diagram/index.js';

const load = (name) => JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url)));
const towers = load('two_tower_devices');
const pipeline = load('pipeline_devices');

function lanesOf(rec) {
  const tree = buildTree(rec);
  return { tree, lanes: deviceLanes(tree, foldGraph(tree, stateFor(tree, null))) };
}

test('parallel towers on two devices get column lanes; the image and head follow their data', () => {
  const { lanes } = lanesOf(towers);
  assert.equal(lanes.orientation, 'columns');
  assert.deepEqual(lanes.devices, ['cuda:0', 'cuda:1']);
  for (let i = 0; i < 6; i++) {
    assert.equal(lanes.of.get(`tower0.${i}`), 0);
    assert.equal(lanes.of.get(`tower1.${i}`), 1);
  }
  assert.equal(lanes.of.get('input:0'), 0);
  assert.equal(lanes.of.get('op:0'), 0, 'the concat sits with its first input, on cuda:0');
  assert.equal(lanes.of.get('output:0'), 0);
  assert.deepEqual([...lanes.openOf].sort(), [['head', 0], ['tower0', 0], ['tower1', 1]]);
});

test('consecutive pipeline stages on two devices get band lanes one after the other', () => {
  const { lanes } = lanesOf(pipeline);
  assert.equal(lanes.orientation, 'bands');
  assert.deepEqual([0, 1, 2, 3].map((i) => lanes.of.get(`stage0.${i}`)), [0, 0, 0, 0]);
  assert.deepEqual([0, 1, 2].map((i) => lanes.of.get(`stage1.${i}`)), [1, 1, 1]);
  assert.equal(lanes.of.get('input:0'), 0);
  assert.equal(lanes.of.get('output:0'), 1);
});

test('data flowing back to an earlier device makes the lanes columns even without overlap', () => {
  // stage0 → stage1 → back to cuda:0 for the last layer: not a pipeline that reads downwards.
  const rec = JSON.parse(JSON.stringify(pipeline));
  for (const m of rec.modules) if (m.name === 'stage1.2') m.devices = ['cuda:0'];
  assert.equal(lanesOf(rec).lanes.orientation, 'columns');
});

test('one device, or none, gives no lanes', () => {
  const rec = JSON.parse(JSON.stringify(pipeline));
  for (const m of rec.modules) m.devices = ['cuda:0'];
  assert.equal(lanesOf(rec).lanes, null);
});

const inside = (b, l) => b.x >= l.x && b.y >= l.y && b.x + b.width <= l.x + l.width && b.y + b.height <= l.y + l.height;

test('column layout: towers side by side, each block inside its lane, cross edges routed red', async () => {
  const tree = buildTree(towers);
  const view = await layoutView(new ELK(), tree, stateFor(tree, null), { colorMode: 'device', legend: true });
  const { nodes } = view.geo;
  const lane0 = nodes.get('__lane:0');
  const lane1 = nodes.get('__lane:1');
  assert.ok(lane0.x + lane0.width < lane1.x, 'cuda:0 column left of cuda:1');
  assert.ok(lane0.y === lane1.y, 'columns start on one line');
  for (const [id, lane] of view.geo.info.lanes.of) {
    assert.ok(inside(nodes.get(id), lane ? lane1 : lane0), `${id} inside lane ${lane}`);
  }
  // The towers begin level with each other (within one block) and never overlap in x.
  const a = nodes.get('tower0.0');
  const b = nodes.get('tower1.0');
  assert.ok(Math.abs(a.y - b.y) < a.height + 20 && a.x + a.width < b.x);
  assert.ok(nodes.get('input:0').y + nodes.get('input:0').height < b.y, 'tower1 starts below the image');
  const svg = toSvgString(view.el);
  const cross = [...svg.matchAll(/class="edge edge-\w+ cross-device" data-src="([^"]+)" data-dst="([^"]+)"/g)]
    .map((m) => `${m[1]}->${m[2]}`).sort();
  assert.deepEqual(cross, ['input:0->tower1.0', 'tower1.5->op:0']);
  // Routed edges start at the source's bottom and end at the target's top.
  for (const r of view.geo.edges.filter((e) => e.lane)) {
    const s = nodes.get(r.edge.src);
    const t = nodes.get(r.edge.dst);
    assert.equal(r.points[0].y, s.y + s.height);
    assert.equal(r.points[r.points.length - 1].y, t.y);
  }
  assert.equal((svg.match(/class="lane-label"/g) || []).length, 2);
  // The container spanning both devices (the model) is not drawn; no block is lost.
  assert.equal(view.folded.nodes.filter((v) => !v.open).every((v) => nodes.has(v.id)), true);
});

test('band layout: the cuda:0 stage wholly above the cuda:1 stage, one red hand-over', async () => {
  const tree = buildTree(pipeline);
  const view = await layoutView(new ELK(), tree, stateFor(tree, null), { colorMode: 'device', legend: true });
  const { nodes } = view.geo;
  const bottom0 = Math.max(...['stage0', 'input:0'].map((id) => nodes.get(id).y + nodes.get(id).height));
  const top1 = Math.min(...['stage1', 'output:0'].map((id) => nodes.get(id).y));
  assert.ok(bottom0 < top1);
  const svg = toSvgString(view.el);
  assert.equal((svg.match(/cross-device" data-src="stage0.3" data-dst="stage1.0"/g) || []).length, 1);
  assert.equal((svg.match(/ cross-device"/g) || []).length, 1);
  assert.ok(svg.includes('data-orientation="bands"'));
});
