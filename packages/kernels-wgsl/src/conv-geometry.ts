/**
 * Convolution geometry with the spatial dims left-padded to three (size 1, no padding), so
 * one code path serves 1-D, 2-D and 3-D; plus the WGSL that decomposes flat indices.
 */
import { type Field, indexedName } from './kernel';

/**
 * One N-d convolution (N = inSize.length, 1 to 3), NC(D)(H)W layout: the one parameter type
 * of the conv family, shared by the tensor package's Backend and these generators.
 */
export interface ConvParams {
  batch: number;
  inChannels: number;
  outChannels: number;
  groups: number;
  inSize: readonly number[];   // spatial input size
  kernel: readonly number[];   // spatial kernel size
  outSize: readonly number[];  // spatial output size (the op layer computes it)
  stride: readonly number[];
  padding: readonly number[];  // zero padding BEFORE each spatial dim; reads past the end are zero too
  dilation: readonly number[];
}

export type V3 = [number, number, number];

export interface Conv3 {
  N: number; C: number; CO: number; G: number;
  /** channels per group, in and out */
  Cg: number; COg: number;
  i: V3; k: V3; o: V3; s: V3; p: V3; d: V3;
  /** prod(kernel), prod(outSize), prod(inSize) */
  KK: number; L: number; plane: number;
}

/** A spatial list (1 to 3 dims) left-padded to three with `fill`; written out, not spread: every conv and pool op calls it several times. */
export function to3(v: readonly number[], fill: number): V3 {
  if (v.length === 3) return [v[0], v[1], v[2]];
  if (v.length === 2) return [fill, v[0], v[1]];
  if (v.length === 1) return [fill, fill, v[0]];
  throw new Error(`conv: ${v.length} spatial dims are not supported (1 to 3)`);
}

const prod = (v: V3) => v[0] * v[1] * v[2];

export function conv3(p: ConvParams): Conv3 {
  const k = to3(p.kernel, 1), o = to3(p.outSize, 1), i = to3(p.inSize, 1);
  return {
    N: p.batch, C: p.inChannels, CO: p.outChannels, G: p.groups,
    Cg: p.inChannels / p.groups, COg: p.outChannels / p.groups,
    i, k, o, s: to3(p.stride, 1), p: to3(p.padding, 0), d: to3(p.dilation, 1),
    KK: prod(k), L: prod(o), plane: prod(i),
  };
}

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
