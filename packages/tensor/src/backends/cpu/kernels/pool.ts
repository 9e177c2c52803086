import type { PoolParams } from '../../../backend';
import type { FloatArray } from './matmul';

const alloc = (like: FloatArray, n: number): FloatArray =>
  like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** Spatial dims padded to 3 (leading 1s, no padding) so one loop nest serves 1-D to 3-D. */
function as3d(p: PoolParams) {
  const pad3 = (v: number[], fill: number) => [...new Array<number>(3 - v.length).fill(fill), ...v];
  return { inS: pad3(p.inSize, 1), k: pad3(p.kernel, 1), out: pad3(p.outSize, 1), s: pad3(p.stride, 1), pd: pad3(p.padding, 0), d: pad3(p.dilation, 1) };
}

export function maxPool(x: FloatArray, p: PoolParams): { out: FloatArray; argmax: Int32Array } {
  const { inS, k, out: os, s, pd, d } = as3d(p);
  const plane = prod(p.inSize);
  const L = prod(p.outSize);
  const out = alloc(x, p.planes * L);
  const argmax = new Int32Array(p.planes * L);
  for (let pl = 0; pl < p.planes; pl++) {
    const base = pl * plane;
    let o = pl * L;
    for (let od = 0; od < os[0]; od++) {
      for (let oh = 0; oh < os[1]; oh++) {
        for (let ow = 0; ow < os[2]; ow++, o++) {
          let best = -Infinity;
          let at = -1;
          for (let kd = 0; kd < k[0]; kd++) {
            const id = od * s[0] - pd[0] + kd * d[0];
            if (id < 0 || id >= inS[0]) continue;
            for (let kh = 0; kh < k[1]; kh++) {
              const ih = oh * s[1] - pd[1] + kh * d[1];
              if (ih < 0 || ih >= inS[1]) continue;
              for (let kw = 0; kw < k[2]; kw++) {
                const iw = ow * s[2] - pd[2] + kw * d[2];
                if (iw < 0 || iw >= inS[2]) continue;
                const idx = (id * inS[1] + ih) * inS[2] + iw;
                const v = x[base + idx];
                if (v > best || Number.isNaN(v) || at < 0) {
                  best = v;
                  at = idx;
                  if (Number.isNaN(v)) break;
                }
              }
            }
          }
          out[o] = at < 0 ? -Infinity : best;
          argmax[o] = at;
        }
      }
    }
  }
  return { out, argmax };
}

export function maxPoolBackward(gy: FloatArray, argmax: Int32Array, p: PoolParams): FloatArray {
  const plane = prod(p.inSize);
  const L = prod(p.outSize);
  const gx = alloc(gy, p.planes * plane);
  for (let pl = 0; pl < p.planes; pl++) {
    for (let o = 0; o < L; o++) {
      const at = argmax[pl * L + o];
      if (at >= 0) gx[pl * plane + at] += gy[pl * L + o];
    }
  }
  return gx;
}

/** PyTorch's window bounds and divisor for average pooling in one dim. */
function windows(inLen: number, k: number, stride: number, pad: number, outLen: number) {
  const start = new Int32Array(outLen), end = new Int32Array(outLen), span = new Int32Array(outLen);
  for (let o = 0; o < outLen; o++) {
    const s0 = o * stride - pad;
    const e0 = Math.min(s0 + k, inLen + pad);
    span[o] = e0 - s0;
    start[o] = Math.max(s0, 0);
    end[o] = Math.min(e0, inLen);
  }
  return { start, end, span };
}

function avgWindows(p: PoolParams) {
  if (p.dilation.some((v) => v !== 1)) throw new Error('avgPool: dilation is not supported');
  const { inS, k, out: os, s, pd } = as3d(p);
  const w = [0, 1, 2].map((i) => windows(inS[i], k[i], s[i], pd[i], os[i]));
  return { inS, os, w };
}

function divisor(p: PoolParams, w: ReturnType<typeof windows>[], od: number, oh: number, ow: number): number {
  if (p.countIncludePad) return w[0].span[od] * w[1].span[oh] * w[2].span[ow];
  return (w[0].end[od] - w[0].start[od]) * (w[1].end[oh] - w[1].start[oh]) * (w[2].end[ow] - w[2].start[ow]);
}

export function avgPool(x: FloatArray, p: PoolParams): FloatArray {
  const { inS, os, w } = avgWindows(p);
  const plane = prod(p.inSize);
  const L = prod(p.outSize);
  const out = alloc(x, p.planes * L);
  for (let pl = 0; pl < p.planes; pl++) {
    const base = pl * plane;
    let o = pl * L;
    for (let od = 0; od < os[0]; od++) {
      for (let oh = 0; oh < os[1]; oh++) {
        for (let ow = 0; ow < os[2]; ow++, o++) {
          let sum = 0;
          for (let id = w[0].start[od]; id < w[0].end[od]; id++) {
            for (let ih = w[1].start[oh]; ih < w[1].end[oh]; ih++) {
              const row = base + (id * inS[1] + ih) * inS[2];
              for (let iw = w[2].start[ow]; iw < w[2].end[ow]; iw++) sum += x[row + iw];
            }
          }
          out[o] = sum / divisor(p, w, od, oh, ow);
        }
      }
    }
  }
  return out;
}

export function avgPoolBackward(gy: FloatArray, p: PoolParams): FloatArray {
  const { inS, os, w } = avgWindows(p);
  const plane = prod(p.inSize);
  const L = prod(p.outSize);
  const gx = alloc(gy, p.planes * plane);
  for (let pl = 0; pl < p.planes; pl++) {
    const base = pl * plane;
    let o = pl * L;
    for (let od = 0; od < os[0]; od++) {
      for (let oh = 0; oh < os[1]; oh++) {
        for (let ow = 0; ow < os[2]; ow++, o++) {
          const g = gy[o] / divisor(p, w, od, oh, ow);
          for (let id = w[0].start[od]; id < w[0].end[od]; id++) {
            for (let ih = w[1].start[oh]; ih < w[1].end[oh]; ih++) {
              const row = base + (id * inS[1] + ih) * inS[2];
              for (let iw = w[2].start[ow]; iw < w[2].end[ow]; iw++) gx[row + iw] += g;
            }
          }
        }
      }
    }
  }
  return gx;
}
