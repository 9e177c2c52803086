/**
 * Convolution geometry (kernels-ir's conv3, three spatial dims) as uniform fields, and the
 * WGSL that decomposes flat indices.
 */
import type { Conv3, V3 } from '@webgrad/kernels-ir';
import { type Field, indexedName } from './kernel';

/** Fields `${name}0..2` for a V3. */
export const v3Fields = (name: string, v: V3): Field[] => [[indexedName(name, 0), 'i32', v[0]], [indexedName(name, 1), 'i32', v[1]], [indexedName(name, 2), 'i32', v[2]]];

/** All geometry fields: i*, k*, o*, s*, p*, d* plus NB (batch), C, CO, Cg, COg, KK, L, plane. */
export function geometryFields(g: Conv3): Field[] {
  return [
    ['NB', 'i32', g.N], ['C', 'i32', g.C], ['CO', 'i32', g.CO], ['Cg', 'i32', g.Cg], ['COg', 'i32', g.COg],
    ['KK', 'i32', g.KK], ['L', 'i32', g.L], ['plane', 'i32', g.plane],
    ...v3Fields('i', g.i), ...v3Fields('k', g.k), ...v3Fields('o', g.o),
    ...v3Fields('s', g.s), ...v3Fields('p', g.p), ...v3Fields('d', g.d),
  ];
}

/** WGSL: `let ${a}0, ${a}1, ${a}2` = 3-D coordinates of flat `idx` in a grid of sizes p.${dims}0..2. */
export function split3(a: string, idx: string, dims: string): string {
  return `let ${a}2 = ${idx} % p.${dims}2; let ${a}1 = (${idx} / p.${dims}2) % p.${dims}1; let ${a}0 = ${idx} / (p.${dims}2 * p.${dims}1);`;
}
