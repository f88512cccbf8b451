// The Anomaly Timeline's pure parts (node --test): colour scales, curve scales, the heatmap's
// row tree, layer-chart labels, anomaly sentences over every kind, where both tabs land.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { makeScale, NONFINITE_RGB, EMPTY_RGB } from '../src/timeline/scale.js';
import { makeAxis, panelNote, seriesGeometry, valueLabels, yScale } from '../src/timeline/curves.js';
import { buildTree, rowHeight, visibleLines } from '../src/timeline/heatmap.js';
import { labelWidth, leftMargin, notApplicable, yAxisLabels } from '../src/timeline/layer.js';
import { glyph, kindWords, setVocabulary } from '../src/timeline/format.js';
import { anomalyMessage, anomalySentence, whenClause } from '../src/timeline/sentences.js';
import { byTrouble, landingRun } from '../src/common/runs.js';
import { routeUrl } from '../src/common/api.js';
import { MIN_LABEL_PX, readableFit, smallestFont, wholeFit } from '../src/tab/fit.js';

// The plugin's /registry (tb_archviz/plugins/common.py vocabulary()): tests/test_frontend_unit.py
// passes the live one in ARCHVIZ_VOCABULARY, so every kind the registry has today is tested;
// run by hand, the committed snapshot.
const VOCAB = JSON.parse(process.env.ARCHVIZ_VOCABULARY
  ? readFileSync(process.env.ARCHVIZ_VOCABULARY, 'utf8')
  : readFileSync(new URL('./fixtures/vocabulary.json', import.meta.url)));
const KINDS = Object.keys(VOCAB.kinds);
setVocabulary(VOCAB);

// ---- colour scales ----
test('a heatmap scale is log over decades, linear over a narrow range, diverging over signs', () => {
  assert.equal(makeScale(1e-6, 10, 1e-6).kind, 'log');
  assert.equal(makeScale(2, 3, 2).kind, 'linear');
  assert.equal(makeScale(-1, 4, 1).kind, 'diverging');
  const s = makeScale(1e-4, 1, 1e-4);
  assert.ok(s.toT(1e-2) > 0.45 && s.toT(1e-2) < 0.55);
  assert.deepEqual(s.rgb(NaN), NONFINITE_RGB);
  assert.deepEqual(s.rgb(Infinity), NONFINITE_RGB);
});

test('a heatmap whose values are all NaN is drawn in the NaN colour the legend shows, not as no data', () => {
  const s = makeScale(NaN, NaN, NaN);  // what finite_min/finite_max say when nothing is finite
  assert.equal(s.kind, 'empty');
  assert.deepEqual(s.rgb(NaN), NONFINITE_RGB);
  assert.deepEqual(s.rgb(Infinity), NONFINITE_RGB);
  assert.notDeepEqual(s.rgb(NaN), EMPTY_RGB);
});

// ---- curves ----
const series = (min, max, name = 'loss') => ({ name, min: Float64Array.from(min), max: Float64Array.from(max) });

test('a curve panel goes log when positive values span more than two decades', () => {
  const ys = yScale([series([1e-4, 1], [1e-3, 10])], 0, 100);
  assert.equal(ys.log, true);
  assert.equal(ys.lo, 1e-4);
  assert.ok(Math.abs(ys.y(10) - 0) < 1e-9 && Math.abs(ys.y(1e-4) - 100) < 1e-9);
  assert.equal(yScale([series([1, 2], [2, 3])], 0, 100).log, false);
});

test('a curve panel whose values are all NaN says so instead of "not logged"', () => {
  const nan = [series([NaN, NaN], [NaN, Infinity]), series([NaN], [NaN], 'val_loss')];
  assert.equal(yScale(nan, 0, 100), null);
  assert.match(panelNote(nan), /NaN\/Inf/);
  assert.doesNotMatch(panelNote(nan), /not logged/);
  assert.equal(panelNote([]), 'not logged in this run');
});

test('a constant curve (a fixed learning rate) is labelled once and drawn mid-panel', () => {
  const ys = yScale([series([8, 8, 8], [8, 8, 8], 'lr')], 0, 100);
  assert.equal(ys.y(8), 50);
  assert.deepEqual(valueLabels(ys).map((l) => l.text), ['8 (constant)']);
  const moving = yScale([series([1, 2], [2, 3])], 0, 100);
  assert.deepEqual(valueLabels(moving).map((l) => l.text), ['3', '1']);
});

test('a downsampled series is a min-max band and a max line, broken where a bucket is NaN', () => {
  const axis = makeAxis(300, 100, 0, 40);  // 100 px of labels, steps 0..40 over 188 px
  const s = { step: Float64Array.from([0, 10, 20, 30, 40]), min: Float64Array.from([1, 1, NaN, 2, 2]),
    max: Float64Array.from([2, 3, NaN, 4, 3]) };
  const ys = yScale([s], 0, 100);
  const g = seriesGeometry(axis, ys, s);
  assert.equal(g.bands.length, 2, 'one band each side of the NaN bucket');
  assert.deepEqual(g.nonfinite, [Number(axis.x(20).toFixed(1))]);
  assert.equal((g.line.match(/M/g) || []).length, 2, 'the max line restarts after the gap');
  assert.ok(g.line.startsWith(`M${axis.x(0).toFixed(1)},${ys.y(2).toFixed(1)}`));
  const allNaN = { step: Float64Array.from([0, 10]), min: Float64Array.from([NaN, NaN]), max: Float64Array.from([NaN, NaN]) };
  const empty = seriesGeometry(axis, null, allNaN);
  assert.deepEqual([empty.bands.length, empty.line, empty.nonfinite.length], [0, '', 2]);
});

// ---- heatmap rows ----
test('heatmap rows group by module path, single-child chains read as one line', () => {
  const rows = ['net.blocks.0.conv.weight', 'net.blocks.0.conv.bias', 'net.blocks.1.conv.weight', 'net.head.weight'];
  const tree = buildTree(rows);
  const top = tree.children.map((c) => c.label);
  assert.deepEqual(top, ['net']);
  const open = visibleLines(tree, new Set());
  assert.deepEqual(open.filter((l) => !l.group).map((l) => l.rows[0]), [0, 1, 2, 3]);
  assert.ok(open.some((l) => l.group && l.label === '0.conv'), open.map((l) => l.label).join(','));
  const folded = visibleLines(tree, new Set(['net.blocks']));
  const blocks = folded.find((l) => l.group && l.group.path === 'net.blocks');
  assert.equal(blocks.folded, true);
  assert.deepEqual(blocks.rows, [0, 1, 2]);
  assert.ok(!folded.some((l) => l.label === '0.conv'));
  assert.ok(rowHeight(100) < rowHeight(50) && rowHeight(50) < rowHeight(10));
});

// ---- layer charts ----
test('a layer chart leaves room for its y labels so none is clipped on the left', () => {
  for (const [lo, hi, pos, log] of [[0.001336, 2.5, 0.001336, true], [-0.05095, 0.3, 0.3, false],
    [1.234e-7, 5e-3, 1.234e-7, true]]) {
    const labels = yAxisLabels(lo, hi, pos, log);
    const margin = leftMargin(labels);
    for (const l of labels) assert.ok(labelWidth(l.text) + 4 <= margin, `${l.text} in ${margin}px`);
  }
});

test('a constant axis (a fixed learning rate) is labelled once, not with the same number twice', () => {
  const labels = yAxisLabels(0.001, 0.001, 0.001, false);
  assert.equal(labels.length, 1);
  assert.match(labels[0].text, /0\.001.*constant/);
  assert.equal(yAxisLabels(0.001, 0.002, 0.001, false).length, 2);
});

test('a statistic with no value where its siblings have some does not apply; all NaN everywhere is NaN', () => {
  // Series as /layer sends them: min/max[row][stat] = values over steps ("NaN" as a string).
  const relu = { stats: ['std', 'saturated_fraction'], rows: ['out'],
    min: [[[0.1, 0.2], ['NaN', 'NaN']]], max: [[[0.3, 0.4], ['NaN', 'NaN']]] };
  assert.equal(notApplicable(relu, 1), true);
  assert.equal(notApplicable(relu, 0), false);
  const diverged = { stats: ['std', 'saturated_fraction'], rows: ['out'],
    min: [[['NaN', 'NaN'], ['NaN', 'NaN']]], max: [[['NaN', 'Infinity'], ['NaN', 'NaN']]] };
  assert.equal(notApplicable(diverged, 1), false, 'a layer gone NaN keeps its charts');
});

// ---- anomaly sentences: one grammar, every kind ----
test('every anomaly kind has a label, a glyph and sentences in one grammar', () => {
  assert.ok(KINDS.length >= 11 && KINDS.includes('non_finite') && KINDS.includes('bad_input'));
  for (const kind of KINDS) {
    assert.equal(kindWords(kind), VOCAB.kinds[kind].label);
    assert.ok(glyph(kind)[0] && /^#[0-9a-f]{6}$/.test(glyph(kind)[1]), `${kind} has no glyph`);
    const one = { kind, layer: 'net.fc2', first_step: 20, last_step: 20 };
    const closed = { kind, layer: 'net.fc2', first_step: 20, last_step: 60 };
    const open = { kind, tag: 'val_loss', first_step: 20, last_step: 240 };
    const run = { kind, first_step: 0, last_step: 0 };
    assert.equal(anomalySentence(one, 240), `${cap(kindWords(kind))} in net.fc2 at step 20.`);
    assert.equal(anomalySentence(closed, 240), `${cap(kindWords(kind))} in net.fc2 from step 20 to step 60.`);
    assert.equal(anomalySentence(open, 240),
      `${cap(kindWords(kind))} in val_loss since step 20 (still at step 240).`);
    assert.equal(anomalySentence(run, 240), `${cap(kindWords(kind))} in the whole run at step 0.`);
    for (const a of [one, closed, open, run]) {
      const s = anomalySentence(a, 240);
      assert.doesNotMatch(s, /since step (\d+)\b(?! \(still)/, s);  // never "since" for one step
    }
  }
});

test('a message\'s own "since when" is said in the same grammar, whatever wrote it', () => {
  const nf = { kind: 'non_finite', layer: null, first_step: 0, last_step: 0,
    message: 'NaN/Inf first appeared in the input batch since step 0.' };
  assert.equal(anomalyMessage(nf, 240), 'NaN/Inf first appeared in the input batch at step 0.');
  const ex = { kind: 'exploding_gradients', layer: 'net.fc1', first_step: 20, last_step: 20,
    message: 'Gradients of net.fc1 grew 40x from step 10; the gradient norm exploded since step 20.' };
  assert.equal(anomalyMessage(ex, 240),
    'Gradients of net.fc1 grew 40x from step 10; the gradient norm exploded at step 20.');
  const grown = { ...ex, first_step: 60, last_step: 240, message: 'Dead units since step 60 (still at step 100).' };
  assert.equal(anomalyMessage(grown, 240), 'Dead units since step 60 (still at step 240).');
  assert.equal(anomalyMessage({ ...grown, last_step: 100 }, 240), 'Dead units from step 60 to step 100.');
  assert.equal(whenClause({ first_step: 1000, last_step: 1000 }, 5000), 'at step 1,000');
  // Checked on logging steps: a range ending a few steps before the run's last step goes on.
  assert.equal(whenClause({ first_step: 0, last_step: 235 }, 240), 'since step 0 (still at step 235)');
  assert.equal(whenClause({ first_step: 5, last_step: 20 }, 239), 'from step 5 to step 20');
  assert.equal(anomalyMessage({ kind: 'dead_units', layer: 'net.act2', first_step: 5 }, 10),
    'Dead units in net.act2 at step 5.');
});

function cap(t) { return t[0].toUpperCase() + t.slice(1); }

// ---- where both tabs land ----
const runs = [
  { run: 'a_healthy', counts: { error: 0, warning: 0 }, first: null },
  { run: 'b_warn', counts: { error: 0, warning: 3 }, first: { kind: 'dead_units' } },
  { run: 'c_errors', counts: { error: 2, warning: 0 }, first: { kind: 'exploding_gradients' } },
  { run: 'd_nan', counts: { error: 1, warning: 0 }, first: { kind: 'non_finite' } },
];

test('both tabs land on the same worst run unless the URL remembers a choice', () => {
  assert.deepEqual([...runs].sort(byTrouble).map((r) => r.run), ['d_nan', 'c_errors', 'b_warn', 'a_healthy']);
  const names = runs.map((r) => r.run);
  assert.equal(landingRun(names, null, runs), 'd_nan');
  assert.equal(landingRun(names, 'b_warn', runs), 'b_warn');
  assert.equal(landingRun(names, 'gone', runs), 'd_nan');
  // The Architecture tab: only runs with an architecture count.
  assert.equal(landingRun(['a_healthy', 'b_warn'], null, runs), 'b_warn');
  assert.equal(landingRun(['x', 'y'], null, []), 'x');
});

test('the diagram lands fitted to the width with every label at least 11 px on screen', () => {
  const view = { width: 900, height: 600 };
  const narrow = readableFit({ width: 400, height: 2000 }, view, 8.5);
  assert.ok(narrow.fits && narrow.k * 8.5 >= MIN_LABEL_PX - 1e-9);
  assert.ok(Math.abs(narrow.x - (900 - 400 * narrow.k) / 2) < 1e-9, 'centred');
  assert.equal(narrow.y, 8, 'a tall drawing starts at the top (scroll for height)');
  const wide = readableFit({ width: 3000, height: 400 }, view, 9);
  assert.ok(!wide.fits && wide.k * 9 >= MIN_LABEL_PX - 1e-9, 'never shrunk below readable');
  const tiny = readableFit({ width: 100, height: 80 }, view, 11);
  assert.ok(tiny.k <= 2 && Math.abs(tiny.y - (600 - 80 * tiny.k) / 2) < 1e-9, 'small: centred, not blown up');
  const whole = wholeFit({ width: 400, height: 2000 }, view);
  assert.ok(whole.k * 2000 <= 600 && whole.k < narrow.k, 'Fit shows the whole, which is another view');
  assert.equal(smallestFont({ tag: 'svg', attrs: {}, children: [
    { tag: 'text', attrs: { 'font-size': 11 }, children: ['a'] },
    { tag: 'g', attrs: {}, children: [{ tag: 'text', attrs: { 'font-size': 8.5 }, children: ['b'] }] }] }), 8.5);
});

test('route URLs are relative to the plugin and repeat array parameters', () => {
  assert.equal(routeUrl('heatmap', { run: 'a b', fold: ['x', 'y'], stat: null }), './heatmap?run=a+b&fold=x&fold=y');
  assert.equal(routeUrl('architecture?run=r', { version: 2 }), './architecture?run=r&version=2');
  assert.equal(routeUrl('../archviz_health/runs'), '../archviz_health/runs');
});
