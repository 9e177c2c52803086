import type { ReduceOp, Shape, TypedArray } from '../../backend';
import { sizeOf, stridesOf } from '../../shape';

/**
 * Reduces `axes` of x. Output keeps the remaining dims in order. The reduced index space
 * is walked with precomputed offsets, so any set of axes costs the same.
 */
export function reduce(op: ReduceOp, x: TypedArray, shape: Shape, axes: number[], out: TypedArray): void {
  const strides = stridesOf(shape);
  const isReduced = shape.map((_, d) => axes.includes(d));
  const keptDims = shape.map((_, d) => d).filter((d) => !isReduced[d]);
  const redDims = axes;
  const redCount = sizeOf(redDims.map((d) => shape[d]));
  // Offsets (and, for arg ops, flat positions within the reduced space) of every reduced element.
  const redOffsets = new Int32Array(redCount);
  {
    const idx = new Array<number>(redDims.length).fill(0);
    for (let r = 0; r < redCount; r++) {
      let off = 0;
      for (let k = 0; k < redDims.length; k++) off += idx[k] * strides[redDims[k]];
      redOffsets[r] = off;
      for (let k = redDims.length - 1; k >= 0; k--) {
        if (++idx[k] < shape[redDims[k]]) break;
        idx[k] = 0;
      }
    }
  }
  const outCount = sizeOf(keptDims.map((d) => shape[d]));
  const idx = new Array<number>(keptDims.length).fill(0);
  for (let o = 0; o < outCount; o++) {
    let base = 0;
    for (let k = 0; k < keptDims.length; k++) base += idx[k] * strides[keptDims[k]];
    out[o] = reduceOne(op, x, base, redOffsets);
    for (let k = keptDims.length - 1; k >= 0; k--) {
      if (++idx[k] < shape[keptDims[k]]) break;
      idx[k] = 0;
    }
  }
}

function reduceOne(op: ReduceOp, x: TypedArray, base: number, offs: Int32Array): number {
  const n = offs.length;
  switch (op) {
    case 'sum': {
      let s = 0;
      for (let r = 0; r < n; r++) s += x[base + offs[r]];
      return s;
    }
    case 'max': {
      let m = -Infinity;
      for (let r = 0; r < n; r++) {
        const v = x[base + offs[r]];
        if (v > m || Number.isNaN(v)) m = v;
      }
      return m;
    }
    case 'min': {
      let m = Infinity;
      for (let r = 0; r < n; r++) {
        const v = x[base + offs[r]];
        if (v < m || Number.isNaN(v)) m = v;
      }
      return m;
    }
    case 'argmax':
    case 'argmin': {
      // The first extreme; the first NaN wins over any number (PyTorch's rule).
      const sign = op === 'argmax' ? 1 : -1;
      let best = 0;
      let bv = -Infinity;
      for (let r = 0; r < n; r++) {
        const v = sign * x[base + offs[r]];
        if (v > bv || v !== v) {
          bv = v;
          best = r;
          if (v !== v) break;
        }
      }
      return best;
    }
  }
}
