// The plain-words summary of every run and the selected run's anomaly list.

import {firstSentence, fmtStep, fmtValue, glyph, kindWords} from './format.js';
import {byTrouble} from '../common/runs.js';
import {anomalyMessage, whenClause, whereClause as where} from './sentences.js';

function div(cls, text) {
  const d = document.createElement('div');
  if (cls) d.className = cls;
  if (text !== undefined) d.textContent = text;
  return d;
}

function span(cls, text) {
  const s = document.createElement('span');
  if (cls) s.className = cls;
  s.textContent = text;
  return s;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}


/**
 * One sentence per run, worst runs first; clicking a line selects the run. `unread` is the
 * /runs `problems` map ({run: [message]}): records that could not be read are said, never
 * hidden behind "no problems found".
 */
export function renderSummary(container, runs, selected, onPick, unread = {}) {
  container.replaceChildren();
  const ordered = [...runs].sort(byTrouble);
  for (const [run, messages] of Object.entries(unread || {})) {
    if (runs.some((r) => r.run === run)) continue;
    const line = div('summary-line warn unreadable');
    line.append(span('run-name', run), document.createTextNode(': could not be read: ' +
                                                                  messages.join(' · ')));
    container.append(line);
  }
  if (!ordered.length) {
    container.append(div('summary-line', 'No runs with training data yet. Start training with ' +
                         'ArchVizCallback (or log a loss) and this page fills in by itself.'));
    return;
  }
  for (const r of ordered) {
    const skipped = (unread || {})[r.run] || [];
    const line = div(`summary-line ${r.counts.error ? 'bad' :
                                     r.counts.warning || skipped.length ? 'warn' : 'ok'}` +
                     `${r.run === selected ? ' selected' : ''}`);
    line.dataset.run = r.run;
    line.append(span('run-name', r.run), document.createTextNode(': '));
    const problems = [];
    if (r.counts.error) problems.push(plural(r.counts.error, 'error'));
    if (r.counts.warning) problems.push(plural(r.counts.warning, 'warning'));
    if (!problems.length) {
      line.append(document.createTextNode(
        `no problems found${skipped.length ? ' in what could be read' : ''}` +
        `${r.max_step !== null ? ` up to step ${fmtStep(r.max_step)}` : ''}` +
        `${r.health ? '.' : ' (only ordinary scalars logged: loss checks only).'}`));
    } else {
      const f = r.first;
      line.append(span('counts', problems.join(', ')));
      if (f) {
        line.append(document.createTextNode(
          ` — first ${kindWords(f.kind)} at step ${fmtStep(f.first_step)} ${where(f)}.`));
        const e = r.earliest;
        if (e && e.first_step < f.first_step) {
          line.append(document.createTextNode(
            ` It started earlier: ${kindWords(e.kind)} at step ${fmtStep(e.first_step)} ${where(e)}.`));
        }
        if (f.remedy) line.append(span('try', ` Try: ${firstSentence(f.remedy)}`));
      }
    }
    if (skipped.length) {
      line.append(div('unreadable', `Not everything could be read: ${skipped.join(' · ')}`));
    }
    line.addEventListener('click', () => onPick(r.run));
    container.append(line);
  }
}

/**
 * The anomaly list: pinned first non-finite on top, then by first occurrence. `items` are
 * records, each with `run` set; clicking one calls `onPick(record)`.
 */
export function renderAnomalyList(container, items, selectedKey, onPick, runEnds = {}) {
  container.replaceChildren();
  if (!items.length) {
    container.append(div('empty', 'No anomalies: nothing looks wrong in this run so far.'));
    return;
  }
  for (const a of items) {
    const [ch, colour] = glyph(a.kind);
    const item = div(`anomaly sev-${a.severity || 'info'}${a.pinned ? ' pinned' : ''}`);
    item.dataset.kind = a.kind;
    item.dataset.layer = a.layer || '';
    item.tabIndex = 0;
    if (selectedKey && selectedKey === keyOf(a)) item.classList.add('selected');
    const head = div('anomaly-head');
    const g = span('glyph', ch);
    g.style.color = colour;
    head.append(g, span('kind', kindWords(a.kind)), span(`sev ${a.severity}`, a.severity || 'info'));
    if (a.pinned) head.append(span('pin', 'first NaN/Inf'));
    if (a.compare) head.append(span('run-chip', a.run));
    item.append(head);
    const meta = div('anomaly-meta');
    const steps = whenClause(a, runEnds[a.run]);
    meta.append(span('layer', a.layer || a.tag || 'whole run'), span('steps', steps));
    if (a.value !== undefined && a.value !== null) {
      const thr = a.threshold !== undefined && a.threshold !== null
        ? ` (threshold ${fmtValue(a.threshold)})` : '';
      meta.append(span('value', `${a.stat ? a.stat + ' ' : ''}${fmtValue(a.value)}${thr}`));
    }
    item.append(meta);
    if (a.message) item.append(div('message', anomalyMessage(a, runEnds[a.run])));
    if (a.remedy) {
      const rem = div('remedy');
      rem.append(span('remedy-label', 'What to try: '), document.createTextNode(a.remedy));
      item.append(rem);
    }
    const pick = () => onPick(a);
    item.addEventListener('click', pick);
    item.addEventListener('keydown', (e) => { if (e.key === 'Enter') pick(); });
    container.append(item);
  }
}

export {byTrouble};

export function keyOf(a) {
  return [a.run, a.kind, a.layer, a.tag, a.first_step].join('|');
}
