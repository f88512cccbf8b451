// Which run matters most, decided the same way by both tabs (so that both land on it).

/** Worst run first: a NaN/Inf beats any number of other errors, then errors, warnings; ties
 * by name. Entries are the Timeline's /runs items ({run, counts, first}). */
export function byTrouble(a, b) {
  const nf = (r) => (r.first && r.first.kind === 'non_finite' ? 1 : 0);
  const counts = (r) => r.counts || { error: 0, warning: 0 };
  return (nf(b) - nf(a)) || (counts(b).error - counts(a).error) ||
         (counts(b).warning - counts(a).warning) || a.run.localeCompare(b.run);
}

/** The run to land on among `names`: the remembered one if it is there, else the worst of
 * `health` (the Timeline's /runs items) that is among `names`, else the first name. */
export function landingRun(names, remembered, health = []) {
  if (remembered && names.includes(remembered)) return remembered;
  const worst = [...health].filter((r) => names.includes(r.run)).sort(byTrouble)[0];
  if (worst) return worst.run;
  return names.length ? names[0] : null;
}
