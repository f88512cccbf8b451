// Colouring blocks by a health statistic: the choices offered come from the plugin's registry
// (/registry: tb_archviz/registry.py), never from a list typed here.

// "family/stat" with its label for every statistic the registry features, in its order.
export function healthStatsFrom(vocab) {
  const out = [];
  for (const fam of ['grads', 'updates', 'acts', 'weights']) {
    const stats = ((vocab && vocab.stats && vocab.stats[fam]) || {}).stats || {};
    for (const [name, info] of Object.entries(stats)) {
      if (info.show > 0) out.push([`${fam}/${name}`, info.label, info.show]);
    }
  }
  return out.sort((a, b) => a[2] - b[2]).map(([v, l]) => [v, l]);
}
