// The runs overview's pure parts (node --test): sorting, filtering, grouping, paging, charts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterRows, groupRows, hparamChart, pageOf, sortRows, splitsFor, verdictOf }
  from '../src/timeline/overview.js';

const run = (name, counts, hparams, byKind = {}, first = null, loss = {train: null, val: null}) =>
  ({run: name, counts: {error: 0, warning: 0, info: 0, ...counts}, hparams, by_kind: byKind,
    first, loss});
const RUNS = [
  run('a', {}, {lr: 0.01, act: 'relu'}, {}, null, {train: 0.5, val: 0.6}),
  run('b', {error: 2}, {lr: 20, act: 'relu'}, {exploding_gradients: 2},
      {kind: 'exploding_gradients', layer: 'net.0', first_step: 8}, {train: 9, val: null}),
  run('c', {warning: 1}, {lr: 0.1, act: 'tanh'}, {loss_plateau: 1},
      {kind: 'loss_plateau', layer: null, first_step: 30}),
  run('d', {error: 1}, {lr: 50}, {non_finite: 1}, {kind: 'non_finite', layer: 'net.2', first_step: 4}),
];

test('verdicts and the default order put broken runs first', () => {
  assert.deepEqual(RUNS.map(verdictOf), ['healthy', 'error', 'warning', 'error']);
  assert.deepEqual(sortRows(RUNS).map((r) => r.run), ['d', 'b', 'c', 'a']);
});

test('sorting by any column, both directions, missing values last', () => {
  assert.deepEqual(sortRows(RUNS, 'hp:lr').map((r) => r.run), ['a', 'c', 'b', 'd']);
  assert.deepEqual(sortRows(RUNS, 'hp:lr', -1).map((r) => r.run), ['d', 'b', 'c', 'a']);
  assert.deepEqual(sortRows(RUNS, 'hp:act').map((r) => r.run), ['a', 'b', 'c', 'd']);
  assert.deepEqual(sortRows(RUNS, 'hp:act', -1).map((r) => r.run), ['c', 'a', 'b', 'd']);
  assert.deepEqual(sortRows(RUNS, 'step').map((r) => r.run), ['d', 'b', 'c', 'a']);
  assert.deepEqual(sortRows(RUNS, 'train', -1).map((r) => r.run), ['b', 'a', 'c', 'd']);
  assert.deepEqual(sortRows(RUNS, 'kind:exploding_gradients', -1).map((r) => r.run),
                   ['b', 'a', 'c', 'd']);
  assert.deepEqual(sortRows(RUNS, 'verdict').map((r) => r.run), ['b', 'd', 'c', 'a']);
});

test('filtering by verdict, kind and text', () => {
  const names = (f) => filterRows(RUNS, f).map((r) => r.run);
  assert.deepEqual(names({verdict: 'broken'}), ['b', 'c', 'd']);
  assert.deepEqual(names({verdict: 'error'}), ['b', 'd']);
  assert.deepEqual(names({verdict: 'healthy'}), ['a']);
  assert.deepEqual(names({kind: 'non_finite'}), ['d']);
  assert.deepEqual(names({text: 'act=TANH'}), ['c']);
  assert.deepEqual(names({text: 'net.0'}), ['b']);
  assert.deepEqual(names({verdict: 'error', text: 'lr=50'}), ['d']);
  assert.deepEqual(names({}), ['a', 'b', 'c', 'd']);
});

test('grouping by a hyperparameter keeps the order inside groups, missing value last', () => {
  const g = groupRows(sortRows(RUNS), 'act');
  assert.deepEqual(g.map((x) => x.label), ['act = relu', 'act = tanh', 'without act']);
  assert.deepEqual(g.map((x) => x.runs.map((r) => r.run)), [['b', 'a'], ['c'], ['d']]);
  assert.deepEqual(groupRows(RUNS, 'lr').map((x) => x.value), [0.01, 0.1, 20, 50]);
});

test('paging renders at most the rows asked for, across groups', () => {
  const many = Array.from({length: 10000}, (_, i) => run(`r${i}`, {}, {lr: i % 3}));
  const one = pageOf([{label: null, runs: many}], 200);
  assert.equal(one.groups[0].runs.length, 200);
  assert.equal(one.more, 9800);
  const grouped = pageOf(groupRows(many, 'lr'), 4000);
  assert.deepEqual(grouped.groups.map((g) => g.runs.length), [3334, 666]);
  assert.equal(grouped.more, 6000);
  assert.equal(pageOf([{label: null, runs: many}], 20000).more, 0);
});

test('charts: log scale when values span decades, counts per value otherwise', () => {
  const broken = (r) => ['error', 'warning'].includes(verdictOf(r));
  const lr = hparamChart(RUNS, 'lr', broken);
  assert.equal(lr.numeric, true);
  assert.equal(lr.log, true);
  assert.deepEqual(lr.points.map((p) => [p.run, +p.x.toFixed(3), p.broken]),
                   [['a', 0, false], ['b', 0.892, true], ['c', 0.27, true], ['d', 1, true]]);
  const act = hparamChart(RUNS, 'act', broken);
  assert.deepEqual(act.counts, [{value: 'relu', broken: 1, healthy: 1},
                                {value: 'tanh', broken: 1, healthy: 0}]);
  const lin = hparamChart([run('x', {}, {n: 1}), run('y', {}, {n: 3})], 'n', broken);
  assert.equal(lin.log, false);
});

test('split sentences for a kind; none when the plugin found none', () => {
  const splits = [{hparam: 'lr', kind: null, split: 'all 2 runs with lr ≥ 20 have …'},
                  {hparam: 'lr', kind: 'non_finite', split: 'x'}];
  assert.deepEqual(splitsFor(splits, '').map((s) => s.hparam), ['lr']);
  assert.equal(splitsFor(splits, 'non_finite')[0].split, 'x');
  assert.deepEqual(splitsFor(splits, 'loss_plateau'), []);
  assert.deepEqual(splitsFor(undefined, ''), []);
});
