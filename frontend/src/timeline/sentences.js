// One grammar for anomaly sentences, every kind alike: what, where, since when, until when.
//   "<What> in <layer | tag | the whole run> at step N."              (one step)
//   "... from step A to step B."                                        (over, before the run's end)
//   "... since step A (still at step B)."                               (still there at the run's end)
// The Python side writes the same clauses into a record's message (tb_archviz/rules/base.py
// `_since`, rebuilt by `regrow` when last_step grows); a message's trailing clause is
// rewritten here from the record's steps, so older logdirs read the same way.
import {fmtStep, kindWords} from './format.js';

// The trailing "since when" clause of a message, in any of the forms either side has written.
const WHEN_CLAUSE = / (?:since step -?[\d,]+(?: \(still at step -?[\d,]+\))?|at step -?[\d,]+|from step -?[\d,]+ to step -?[\d,]+)\.?$/;

function finiteStep(v) {
  return v !== null && v !== undefined && Number.isFinite(Number(v));
}

// A range whose last step is this close to the run's last step is still going on: records
// are checked on logging steps, the run's last step may be a few steps later (2% of the run,
// at least 10 steps).
export function stillGoing(last, runEnd) {
  if (!finiteStep(runEnd)) return true;
  return Number(runEnd) - last <= Math.max(10, 0.02 * Number(runEnd));
}

/** "at step N", "from step A to step B" or "since step A (still at step B)". `runEnd` is
 * the run's last step (stillGoing); unknown: treated as ongoing. */
export function whenClause(a, runEnd) {
  const first = Number(a.first_step);
  const last = finiteStep(a.last_step) ? Number(a.last_step) : first;
  if (last <= first) return `at step ${fmtStep(first)}`;
  const ongoing = stillGoing(last, runEnd);
  return ongoing ? `since step ${fmtStep(first)} (still at step ${fmtStep(last)})`
    : `from step ${fmtStep(first)} to step ${fmtStep(last)}`;
}

/** "in net.fc2", "in val_loss" or "in the whole run". */
export function whereClause(a) {
  if (a.layer) return `in ${a.layer}`;
  if (a.tag) return `in ${a.tag}`;
  return 'in the whole run';
}

function capitalised(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

/** The short sentence for lists and tooltips: "Exploding gradients in net.fc2 at step 20." */
export function anomalySentence(a, runEnd) {
  return `${capitalised(kindWords(a.kind))} ${whereClause(a)} ${whenClause(a, runEnd)}.`;
}

/** The record's own message with its "since when" clause said in this grammar (a message
 * without one gets it appended). */
export function anomalyMessage(a, runEnd) {
  const text = String(a.message || '').trim();
  if (!text) return anomalySentence(a, runEnd);
  const what = text.replace(WHEN_CLAUSE, '').replace(/[.;:,\s]+$/, '');
  return `${what} ${whenClause(a, runEnd)}.`;
}
