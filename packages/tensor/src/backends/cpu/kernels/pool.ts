/**
 * Max and average pooling over [planes, ...inSize] (1-D to 3-D), forward and backward.
 *
 * One code path: spatial dims are left-padded to 3 and, per dim and output position, the
 * window's valid taps are precomputed once, so the inner loops carry no bounds checks.
 * Semantics follow PyTorch's CPU kernels (MaxPoolKernel.cpp, AvgPoolKernel.cpp).
 */
import { checkWindow, sizeOf, type PoolParams } from '@webgrad/kernels-ir';
import type { FloatArray } from './matmul';

const newLike = (x: FloatArray, n: number): FloatArray => new (x.constructor as { new (n: number): FloatArray })(n);

export interface Dim {
  inLen: number;
  outLen: number;
  /** for output o: first input index of the window's first valid tap */
  first: Int32Array;
  /** for output o: number of valid taps */
  count: Int32Array;
  /** step between taps (the dilation) */
  step: number;
  /** avg only: PyTorch's pool_size for output o (window length clipped to in + pad, before clipping to [0, in)) */
  span: Int32Array;
}

/** Max pooling: taps o*s - pad + k*dil for k < kernel, those inside [0, in). */
function maxDim(inLen: number, k: number, s: number, pad: number, dil: number, outLen: number): Dim {
  const first = new Int32Array(outLen), count = new Int32Array(outLen);
  for (let o = 0; o < outLen; o++) {
    const start = o * s - pad;
    let k0 = 0;
    while (k0 < k && start + k0 * dil < 0) k0++;
    let k1 = k;
    while (k1 > k0 && start + (k1 - 1) * dil >= inLen) k1--;
    first[o] = start + k0 * dil;
    count[o] = k1 - k0;
  }
  return { inLen, outLen, first, count, step: dil, span: count };
}

/** Average pooling (dilation 1): PyTorch's start/end/pool_size. */
function avgDim(inLen: number, k: number, s: number, pad: number, outLen: number): Dim {
  const first = new Int32Array(outLen), count = new Int32Array(outLen), span = new Int32Array(outLen);
  for (let o = 0; o < outLen; o++) {
    let start = o * s - pad;
    let end = Math.min(start + k, inLen + pad);
    span[o] = end - start;
    start = Math.max(start, 0);
    end = Math.min(end, inLen);
    first[o] = start;
    count[o] = Math.max(0, end - start);
  }
  return { inLen, outLen, first, count, step: 1, span };
}

/** Per spatial dim (left-padded to 3) the valid taps of each output position; exported for the WASM kernels. */
export function dims(p: PoolParams, op: string, avg: boolean): [Dim, Dim, Dim] {
  const r = checkWindow(op, p);
  if (avg && p.dilation.some((d) => d !== 1)) throw new Error(`${op}: dilation [${p.dilation}] is not supported (average pooling takes dilation 1)`);
  const out: Dim[] = [];
  for (let d = 0; d < 3; d++) {
    const i = d - (3 - r);
    if (i < 0) {
      out.push(avg ? avgDim(1, 1, 1, 0, 1) : maxDim(1, 1, 1, 0, 1, 1));
    } else {
      out.push(avg
        ? avgDim(p.inSize[i], p.kernel[i], p.stride[i], p.padding[i], p.outSize[i])
        : maxDim(p.inSize[i], p.kernel[i], p.stride[i], p.padding[i], p.dilation[i], p.outSize[i]));
    }
  }
  return out as [Dim, Dim, Dim];
}

/**
 * Max over each window; padding never wins. argmax is the flat index within the input
 * plane, -1 when a window has no valid element (out is then -Infinity). NaN propagates
 * (PyTorch: `val > max || isnan(val)`); ties keep the first.
 */
export function maxPool(x: FloatArray, p: PoolParams): { out: FloatArray; argmax: Int32Array } {
  const [D, H, W] = dims(p, 'maxPool', false);
  const plane = sizeOf(p.inSize);
  const L = sizeOf(p.outSize);
  const out = newLike(x, p.planes * L);
  const argmax = new Int32Array(p.planes * L);
  const IH = H.inLen, IW = W.inLen;
  const sd = D.step * IH * IW, sh = H.step * IW, sw = W.step;
  for (let pl = 0; pl < p.planes; pl++) {
    const base = pl * plane;
    let o = pl * L;
    for (let od = 0; od < D.outLen; od++) {
      const d0 = D.first[od], nd = D.count[od];
      for (let oh = 0; oh < H.outLen; oh++) {
        const h0 = H.first[oh], nh = H.count[oh];
        const rowStart = (d0 * IH + h0) * IW;
        for (let ow = 0; ow < W.outLen; ow++, o++) {
          const nw = W.count[ow];
          if (nd <= 0 || nh <= 0 || nw <= 0) {
            out[o] = -Infinity;
            argmax[o] = -1;
            continue;
          }
          const start = rowStart + W.first[ow];
          let best = -Infinity;
          let at = start;
          for (let a = 0, ia = start; a < nd; a++, ia += sd) {
            for (let b = 0, ib = ia; b < nh; b++, ib += sh) {
              for (let c = 0, ic = ib; c < nw; c++, ic += sw) {
                const v = x[base + ic];
                if (v > best || v !== v) {
                  best = v;
                  at = ic;
                }
              }
            }
          }
          out[o] = best;
          argmax[o] = at;
        }
      }
    }
  }
  return { out, argmax };
}

/** Routes each output gradient to its argmax (x-shaped [planes, ...inSize]). */
export function maxPoolBackward(gy: FloatArray, argmax: Int32Array, p: PoolParams): FloatArray {
  checkWindow('maxPoolBackward', p);
  const plane = sizeOf(p.inSize);
  const L = sizeOf(p.outSize);
  const gx = newLike(gy, p.planes * plane);
  for (let pl = 0; pl < p.planes; pl++) {
    const gb = pl * plane;
    const ob = pl * L;
    for (let o = 0; o < L; o++) {
      const at = argmax[ob + o];
      if (at >= 0) gx[gb + at] += gy[ob + o];
    }
  }
  return gx;
}

/** Divisor of one window: pool_size product (countIncludePad) or the valid element count. */
function divisorOf(p: PoolParams, D: Dim, H: Dim, W: Dim, od: number, oh: number, ow: number): number {
  return p.countIncludePad
    ? D.span[od] * H.span[oh] * W.span[ow]
    : D.count[od] * H.count[oh] * W.count[ow];
}

/** Average pooling, PyTorch semantics (ceil-mode windows, count_include_pad); an empty window gives 0. */
export function avgPool(x: FloatArray, p: PoolParams): FloatArray {
  const [D, H, W] = dims(p, 'avgPool', true);
  const plane = sizeOf(p.inSize);
  const L = sizeOf(p.outSize);
  const out = newLike(x, p.planes * L);
  const IH = H.inLen, IW = W.inLen;
  const sd = IH * IW;
  for (let pl = 0; pl < p.planes; pl++) {
    const base = pl * plane;
    let o = pl * L;
    for (let od = 0; od < D.outLen; od++) {
      const nd = D.count[od];
      for (let oh = 0; oh < H.outLen; oh++) {
        const nh = H.count[oh];
        const rowStart = base + (D.first[od] * IH + H.first[oh]) * IW;
        for (let ow = 0; ow < W.outLen; ow++, o++) {
          const nw = W.count[ow];
          if (nd <= 0 || nh <= 0 || nw <= 0) {
            out[o] = 0;
            continue;
          }
          const start = rowStart + W.first[ow];
          let sum = 0;
          for (let a = 0, ia = start; a < nd; a++, ia += sd) {
            for (let b = 0, ib = ia; b < nh; b++, ib += IW) {
              for (let c = 0; c < nw; c++) sum += x[ib + c];
            }
          }
          out[o] = sum / divisorOf(p, D, H, W, od, oh, ow);
        }
      }
    }
  }
  return out;
}

/** The adjoint of avgPool: each output gradient, divided by its divisor, spread over its window. */
export function avgPoolBackward(gy: FloatArray, p: PoolParams): FloatArray {
  const [D, H, W] = dims(p, 'avgPoolBackward', true);
  const plane = sizeOf(p.inSize);
  const L = sizeOf(p.outSize);
  const gx = newLike(gy, p.planes * plane);
  const IH = H.inLen, IW = W.inLen;
  const sd = IH * IW;
  for (let pl = 0; pl < p.planes; pl++) {
    const base = pl * plane;
    let o = pl * L;
    for (let od = 0; od < D.outLen; od++) {
      const nd = D.count[od];
      for (let oh = 0; oh < H.outLen; oh++) {
        const nh = H.count[oh];
        const rowStart = base + (D.first[od] * IH + H.first[oh]) * IW;
        for (let ow = 0; ow < W.outLen; ow++, o++) {
          const nw = W.count[ow];
          if (nd <= 0 || nh <= 0 || nw <= 0) continue;
          const g = gy[o] / divisorOf(p, D, H, W, od, oh, ow);
          const start = rowStart + W.first[ow];
          for (let a = 0, ia = start; a < nd; a++, ia += sd) {
            for (let b = 0, ib = ia; b < nh; b++, ib += IW) {
              for (let c = 0; c < nw; c++) gx[ib + c] += g;
            }
          }
        }
      }
    }
  }
  return gx;
}
