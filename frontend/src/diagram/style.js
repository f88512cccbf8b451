// Colours and type sizes of the paper style (white ground, light fills, dark text).
import { typeFamily } from './labels.js';

export const FONT = 'Helvetica, Arial, sans-serif';
export const SIZE = { name: 11, type: 10, meta: 9, edge: 8.5, header: 10.5 };

export const FAMILY_COLORS = {
  conv: ['#dbeafe', '#2563eb'], linear: ['#dcfce7', '#15803d'],
  attention: ['#f5d0fe', '#a21caf'], recurrent: ['#ffedd5', '#c2410c'],
  embedding: ['#fef9c3', '#a16207'], norm: ['#e0e7ff', '#4f46e5'],
  activation: ['#f1f5f9', '#475569'], pool: ['#ccfbf1', '#0f766e'],
  dropout: ['#f5f5f4', '#78716c'], container: ['#f8fafc', '#64748b'],
  other: ['#f3f4f6', '#4b5563'],
};

export const DEVICE_COLORS = [
  ['#dbeafe', '#1d4ed8'], ['#fee2e2', '#b91c1c'], ['#dcfce7', '#15803d'],
  ['#fef3c7', '#b45309'], ['#ede9fe', '#6d28d9'], ['#cffafe', '#0e7490'],
];

export const EDGE_COLORS = { data: '#475569', residual: '#c2410c', concat: '#7c3aed',
  crossDevice: '#dc2626' };

// A light-to-dark blue ramp for a value in [0, 1] (parameter counts, health statistics).
export function ramp(t) {
  const x = Math.max(0, Math.min(1, isFinite(t) ? t : 0));
  const a = [248, 250, 252];
  const b = [30, 64, 175];
  const c = a.map((v, i) => Math.round(v + (b[i] - v) * x));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

export function familyOf(tree, vnode) {
  if (vnode.kind === 'repeat') {
    const first = tree.nodes.get(vnode.members[0]);
    return typeFamily(first.module.class || '', first.children.length === 0);
  }
  const n = tree.nodes.get(vnode.id);
  if (!n || n.kind !== 'module') return 'other';
  return typeFamily(n.module.class || '', n.children.length === 0);
}
