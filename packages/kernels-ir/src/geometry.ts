/**
 * Convolution and pooling geometry with the spatial dims left-padded to three (size 1,
 * stride 1, no padding), so one code path in every generator serves 1-D, 2-D and 3-D.
 */
import type { ConvParams } from './params';
import { sizeOf } from './shape';

export type V3 = [number, number, number];

/** Spatial dims a conv or pool kernel takes. */
export const MAX_SPATIAL_DIMS = 3;

/** Throws unless `rank` spatial dims are 1 to 3, naming the op. */
export function checkSpatialRank(op: string, rank: number): void {
  if (rank < 1 || rank > MAX_SPATIAL_DIMS) throw new Error(`${op}: ${rank} spatial dims are not supported (1 to ${MAX_SPATIAL_DIMS})`);
}

/** The spatial lists of a convolution or pooling window (ConvParams and PoolParams have them). */
export interface Window {
  inSize: readonly number[];
  kernel: readonly number[];
  outSize: readonly number[];
  stride: readonly number[];
  padding: readonly number[];
  dilation: readonly number[];
}

/**
 * Throws unless inSize has 1 to 3 spatial dims and every other list as many, naming the op
 * and the list; returns the number of spatial dims.
 */
export function checkWindow(op: string, p: Window): number {
  const r = p.inSize.length;
  checkSpatialRank(op, r);
  // Compared directly: conv3 runs on every convolution, and the message's list is built only on failure.
  if (p.kernel.length !== r || p.outSize.length !== r || p.stride.length !== r || p.padding.length !== r || p.dilation.length !== r) {
    for (const name of WINDOW_LISTS) {
      const n = p[name].length;
      if (n !== r) throw new Error(`${op}: ${name} has ${n} entries, expected ${r} (inSize [${p.inSize}])`);
    }
  }
  return r;
}

const WINDOW_LISTS = ['kernel', 'outSize', 'stride', 'padding', 'dilation'] as const;

/** `v` left-padded with `fill` to three dims; written out, not spread: every conv and pool op calls it several times. */
export function to3(v: readonly number[], fill: number, op = 'conv'): V3 {
  if (v.length === 3) return [v[0], v[1], v[2]];
  if (v.length === 2) return [fill, v[0], v[1]];
  if (v.length === 1) return [fill, fill, v[0]];
  checkSpatialRank(op, v.length);
  throw new Error(`${op}: unreachable`);
}

export interface Conv3 {
  N: number; C: number; CO: number; G: number;
  /** channels per group, in and out */
  Cg: number; COg: number;
  i: V3; k: V3; o: V3; s: V3; p: V3; d: V3;
  /** prod(kernel), prod(outSize), prod(inSize) */
  KK: number; L: number; plane: number;
}

/** A convolution's geometry in three spatial dims (checked with checkWindow). */
export function conv3(p: ConvParams): Conv3 {
  checkWindow('conv', p);
  const k = to3(p.kernel, 1), o = to3(p.outSize, 1), i = to3(p.inSize, 1);
  return {
    N: p.batch, C: p.inChannels, CO: p.outChannels, G: p.groups,
    Cg: p.inChannels / p.groups, COg: p.outChannels / p.groups,
    i, k, o, s: to3(p.stride, 1), p: to3(p.padding, 0), d: to3(p.dilation, 1),
    KK: sizeOf(k), L: sizeOf(o), plane: sizeOf(i),
  };
}
