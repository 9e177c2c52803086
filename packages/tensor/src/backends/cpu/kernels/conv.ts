import type { ConvParams } from '../../../backend';
import { matmul, type FloatArray } from './matmul';

const alloc = (like: FloatArray, n: number): FloatArray =>
  like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** Spatial dims padded to 3 (leading 1s) so one loop nest serves 1-D, 2-D and 3-D. */
function as3d(p: ConvParams) {
  const pad3 = (v: number[], fill: number) => [...new Array<number>(3 - v.length).fill(fill), ...v];
  return {
    inS: pad3(p.inSize, 1),
    k: pad3(p.kernel, 1),
    out: pad3(p.outSize, 1),
    s: pad3(p.stride, 1),
    pd: pad3(p.padding, 0),
    d: pad3(p.dilation, 1),
  };
}

/**
 * Columns of ONE batch item for channels [c0, c0 + cs): rows (c, kd, kh, kw), columns the
 * output positions. Taps in the padding read as zero.
 */
function im2colItem(x: FloatArray, xOff: number, p: ConvParams, c0: number, cs: number, cols: FloatArray): void {
  const { inS, k, out, s, pd, d } = as3d(p);
  const [ID, IH, IW] = inS;
  const [KD, KH, KW] = k;
  const [OD, OH, OW] = out;
  const L = OD * OH * OW;
  const plane = ID * IH * IW;
  let row = 0;
  for (let c = 0; c < cs; c++) {
    const base = xOff + (c0 + c) * plane;
    for (let kd = 0; kd < KD; kd++) {
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++, row++) {
          let o = row * L;
          for (let od = 0; od < OD; od++) {
            const id = od * s[0] - pd[0] + kd * d[0];
            const dOk = id >= 0 && id < ID;
            for (let oh = 0; oh < OH; oh++) {
              const ih = oh * s[1] - pd[1] + kh * d[1];
              if (!dOk || ih < 0 || ih >= IH) {
                cols.fill(0, o, o + OW);
                o += OW;
                continue;
              }
              const rowBase = base + (id * IH + ih) * IW;
              for (let ow = 0; ow < OW; ow++, o++) {
                const iw = ow * s[2] - pd[2] + kw * d[2];
                cols[o] = iw >= 0 && iw < IW ? x[rowBase + iw] : 0;
              }
            }
          }
        }
      }
    }
  }
}

/** The adjoint of im2colItem: adds columns back into gx (one batch item, channels [c0, c0+cs)). */
function col2imItem(cols: FloatArray, p: ConvParams, c0: number, cs: number, gx: FloatArray, xOff: number): void {
  const { inS, k, out, s, pd, d } = as3d(p);
  const [ID, IH, IW] = inS;
  const [KD, KH, KW] = k;
  const [OD, OH, OW] = out;
  const L = OD * OH * OW;
  const plane = ID * IH * IW;
  let row = 0;
  for (let c = 0; c < cs; c++) {
    const base = xOff + (c0 + c) * plane;
    for (let kd = 0; kd < KD; kd++) {
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++, row++) {
          let o = row * L;
          for (let od = 0; od < OD; od++) {
            const id = od * s[0] - pd[0] + kd * d[0];
            const dOk = id >= 0 && id < ID;
            for (let oh = 0; oh < OH; oh++) {
              const ih = oh * s[1] - pd[1] + kh * d[1];
              if (!dOk || ih < 0 || ih >= IH) {
                o += OW;
                continue;
              }
              const rowBase = base + (id * IH + ih) * IW;
              for (let ow = 0; ow < OW; ow++, o++) {
                const iw = ow * s[2] - pd[2] + kw * d[2];
                if (iw >= 0 && iw < IW) gx[rowBase + iw] += cols[o];
              }
            }
          }
        }
      }
    }
  }
}

const sizes = (p: ConvParams) => {
  const K = prod(p.kernel);
  const L = prod(p.outSize);
  const plane = prod(p.inSize);
  return { K, L, plane };
};

/** x [N, C, ...in] -> [N, C·∏k, ∏out]. */
export function im2col(x: FloatArray, p: ConvParams): FloatArray {
  const { K, L, plane } = sizes(p);
  const C = p.inChannels;
  const out = alloc(x, p.batch * C * K * L);
  const item = alloc(x, C * K * L);
  for (let n = 0; n < p.batch; n++) {
    im2colItem(x, n * C * plane, p, 0, C, item);
    out.set(item, n * C * K * L);
  }
  return out;
}

export function col2im(cols: FloatArray, p: ConvParams): FloatArray {
  const { K, L, plane } = sizes(p);
  const C = p.inChannels;
  const gx = alloc(cols, p.batch * C * plane);
  for (let n = 0; n < p.batch; n++) col2imItem(cols.subarray(n * C * K * L, (n + 1) * C * K * L) as FloatArray, p, 0, C, gx, n * C * plane);
  return gx;
}

/** 1×1, stride 1, no padding: the input already is the column matrix. */
const isPointwise = (p: ConvParams) =>
  p.kernel.every((k) => k === 1) && p.stride.every((s) => s === 1) && p.padding.every((v) => v === 0) && p.inSize.every((s, i) => s === p.outSize[i]);

const mm = (m: number, n: number, k: number, transA: boolean, transB: boolean) => ({ batch: 1, m, n, k, transA, transB, aBatchStride: 0, bBatchStride: 0 });

/** y[n, g] = W_g [Cout/g, Cin/g·K] · cols_g [Cin/g·K, L], per batch item and group. */
export function convForward(x: FloatArray, w: FloatArray, bias: FloatArray | null, p: ConvParams): FloatArray {
  const { K, L, plane } = sizes(p);
  const G = p.groups;
  const cinG = p.inChannels / G;
  const coutG = p.outChannels / G;
  const rows = cinG * K;
  const y = alloc(x, p.batch * p.outChannels * L);
  const cols = alloc(x, rows * L);
  const part = alloc(x, coutG * L);
  const pointwise = isPointwise(p);
  for (let n = 0; n < p.batch; n++) {
    for (let g = 0; g < G; g++) {
      let colsG: FloatArray = cols;
      const xOff = n * p.inChannels * plane;
      if (pointwise) colsG = x.subarray(xOff + g * cinG * plane, xOff + (g + 1) * cinG * plane) as FloatArray;
      else im2colItem(x, xOff, p, g * cinG, cinG, cols);
      const wG = w.subarray(g * coutG * rows, (g + 1) * coutG * rows) as FloatArray;
      matmul(wG, colsG, mm(coutG, L, rows, false, false), part);
      y.set(part, (n * p.outChannels + g * coutG) * L);
    }
  }
  if (bias) {
    for (let n = 0; n < p.batch; n++) {
      for (let co = 0; co < p.outChannels; co++) {
        const off = (n * p.outChannels + co) * L;
        const b = bias[co];
        for (let i = 0; i < L; i++) y[off + i] += b;
      }
    }
  }
  return y;
}

/** gx = col2im(W_gᵀ · gy_g). */
export function convBackwardInput(gy: FloatArray, w: FloatArray, p: ConvParams): FloatArray {
  const { K, L, plane } = sizes(p);
  const G = p.groups;
  const cinG = p.inChannels / G;
  const coutG = p.outChannels / G;
  const rows = cinG * K;
  const gx = alloc(gy, p.batch * p.inChannels * plane);
  const cols = alloc(gy, rows * L);
  const pointwise = isPointwise(p);
  for (let n = 0; n < p.batch; n++) {
    for (let g = 0; g < G; g++) {
      const gyG = gy.subarray((n * p.outChannels + g * coutG) * L, (n * p.outChannels + (g + 1) * coutG) * L) as FloatArray;
      const wG = w.subarray(g * coutG * rows, (g + 1) * coutG * rows) as FloatArray;
      matmul(wG, gyG, mm(rows, L, coutG, true, false), cols);
      const xOff = n * p.inChannels * plane;
      if (pointwise) gx.set(cols, xOff + g * cinG * plane);
      else col2imItem(cols, p, g * cinG, cinG, gx, xOff);
    }
  }
  return gx;
}

/** gw_g = Σ_n gy_g · cols_gᵀ. */
export function convBackwardWeight(x: FloatArray, gy: FloatArray, p: ConvParams): FloatArray {
  const { K, L, plane } = sizes(p);
  const G = p.groups;
  const cinG = p.inChannels / G;
  const coutG = p.outChannels / G;
  const rows = cinG * K;
  const gw = alloc(x, p.outChannels * rows);
  const cols = alloc(x, rows * L);
  const part = alloc(x, coutG * rows);
  const pointwise = isPointwise(p);
  for (let n = 0; n < p.batch; n++) {
    for (let g = 0; g < G; g++) {
      let colsG: FloatArray = cols;
      const xOff = n * p.inChannels * plane;
      if (pointwise) colsG = x.subarray(xOff + g * cinG * plane, xOff + (g + 1) * cinG * plane) as FloatArray;
      else im2colItem(x, xOff, p, g * cinG, cinG, cols);
      const gyG = gy.subarray((n * p.outChannels + g * coutG) * L, (n * p.outChannels + (g + 1) * coutG) * L) as FloatArray;
      matmul(gyG, colsG, mm(coutG, rows, L, false, true), part);
      const off = g * coutG * rows;
      for (let i = 0; i < part.length; i++) gw[off + i] += part[i];
    }
  }
  return gw;
}
