/**
 * N-d padding with PyTorch's modes: constant, reflect (mirror excluding the edge),
 * replicate (repeat the edge), circular (wrap). Negative amounts crop.
 */
import type { PadMode, TypedArray } from '../../../backend';
import { type Alloc, like } from './strided';
import { checkPads } from '../../../shape-rules';
import { sizeOf } from '../../../shape';

/** Source index along one dim for output position o, or -1 for the constant fill. */
function sourceIndex(o: number, before: number, n: number, mode: PadMode): number {
  const i = o - before;
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case 'constant':
      return -1;
    case 'replicate':
      return i < 0 ? 0 : n - 1;
    case 'circular':
      return ((i % n) + n) % n;
    case 'reflect': {
      if (n === 1) return 0;
      const period = 2 * (n - 1);
      const r = ((i % period) + period) % period;
      return r < n ? r : period - r;
    }
    default:
      throw new Error(`pad: unknown mode '${mode as string}'`);
  }
}

/** Pads (or, with negative amounts, crops) every dim of x (shape `shape`) by pads[d] = [before, after]. */
export function pad<T extends TypedArray>(x: T, shape: number[], pads: [number, number][], mode: PadMode, value: number, alloc: Alloc<T> = like(x)): T {
  const rank = shape.length;
  checkPads(shape, pads, mode);
  const outShape = shape.map((d, i) => d + pads[i][0] + pads[i][1]);
  const out = alloc(sizeOf(outShape), true);
  if (out.length === 0) return out;
  if (rank === 0) {
    out[0] = x[0];
    return out;
  }
  // Per dim, the source index of every output position (-1: constant).
  const maps = outShape.map((len, d) => {
    const m = new Int32Array(len);
    for (let o = 0; o < len; o++) m[o] = sourceIndex(o, pads[d][0], shape[d], mode);
    return m;
  });
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let d = rank - 1; d >= 0; d--) {
    inStrides[d] = s;
    s *= shape[d];
  }
  const last = rank - 1;
  const lastMap = maps[last];
  const nOut = outShape[last];
  const before = pads[last][0];
  // Output positions [lo, hi) of the last dim read x contiguously (x index j - before).
  const lo = Math.max(0, before);
  const hi = Math.max(lo, Math.min(nOut, before + shape[last]));
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o += nOut) {
    let base = 0;
    let valid = true;
    for (let d = 0; d < last; d++) {
      const src = maps[d][idx[d]];
      if (src < 0) valid = false;
      base += src * inStrides[d];
    }
    if (!valid) {
      out.fill(value, o, o + nOut);
    } else {
      for (let j = 0; j < lo; j++) {
        const src = lastMap[j];
        out[o + j] = src >= 0 ? x[base + src] : value;
      }
      const shift = base - before;
      for (let j = lo; j < hi; j++) out[o + j] = x[shift + j];
      for (let j = hi; j < nOut; j++) {
        const src = lastMap[j];
        out[o + j] = src >= 0 ? x[base + src] : value;
      }
    }
    for (let d = last - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}
