/**
 * N-d convolution (1-D to 3-D) on typed arrays by im2col + GEMM.
 *
 * Layouts: x [N, Cin, ...in], w [Cout, Cin/g, ...k], y [N, Cout, ...out]. Columns of one
 * batch item and one group are [Cin/g * K, L] (K = sizeOf(kernel), L = sizeOf(out)), row index
 * c * K + flat kernel offset. When L is small several batch items share one product
 * (their columns side by side, [rows, nb * L]) so the GEMM has a wide enough N.
 * 1x1 / stride 1 / no padding convolutions read x directly (no im2col).
 */
import { conv3, sizeOf, type ConvParams } from '@webgrad/kernels-ir';
import { gemm, type FloatArray } from './matmul';

const newLike = (x: FloatArray, n: number): FloatArray => new (x.constructor as { new (n: number): FloatArray })(n);

/** Convolution geometry with the spatial dims left-padded to 3 (size 1, no padding). */
interface Geo {
  ID: number; IH: number; IW: number;
  KD: number; KH: number; KW: number;
  OD: number; OH: number; OW: number;
  sD: number; sH: number; sW: number;
  pD: number; pH: number; pW: number;
  dD: number; dH: number; dW: number;
  K: number; L: number; plane: number;
}

function geometry(p: ConvParams): Geo {
  const { i: [ID, IH, IW], k: [KD, KH, KW], o: [OD, OH, OW], s: [sD, sH, sW], p: [pD, pH, pW], d: [dD, dH, dW], KK, L, plane } = conv3(p);
  return { ID, IH, IW, KD, KH, KW, OD, OH, OW, sD, sH, sW, pD, pH, pW, dD, dH, dW, K: KK, L, plane };
}

/** First and one-past-last output position whose tap (o * s + off) lands inside [0, n). */
function validRange(off: number, s: number, n: number, outLen: number): [number, number] {
  const lo = off >= 0 ? 0 : Math.ceil(-off / s);
  const hi = n - off <= 0 ? 0 : Math.ceil((n - off) / s);
  const a = Math.min(lo, outLen);
  return [a, Math.max(a, Math.min(hi, outLen))];
}

/**
 * Columns of one batch item, channels [c0, c0 + cs): cols[colOff + row * ld + l], row =
 * c * K + kernel offset, l the flat output position. Taps outside the input read zero.
 */
function im2colItem(x: FloatArray, xOff: number, g: Geo, c0: number, cs: number, cols: FloatArray, colOff: number, ld: number): void {
  const { ID, IH, IW, KD, KH, KW, OD, OH, OW, sD, sH, sW, pD, pH, pW, dD, dH, dW, plane } = g;
  let row = 0;
  for (let c = 0; c < cs; c++) {
    const base = xOff + (c0 + c) * plane;
    for (let kd = 0; kd < KD; kd++) {
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++, row++) {
          const offW = kw * dW - pW;
          const [lo, hi] = validRange(offW, sW, IW, OW);
          let o = colOff + row * ld;
          for (let od = 0; od < OD; od++) {
            const id = od * sD + kd * dD - pD;
            const dOk = id >= 0 && id < ID;
            for (let oh = 0; oh < OH; oh++, o += OW) {
              const ih = oh * sH + kh * dH - pH;
              if (!dOk || ih < 0 || ih >= IH) {
                for (let ow = 0; ow < OW; ow++) cols[o + ow] = 0;
                continue;
              }
              const rb = base + (id * IH + ih) * IW + offW;
              for (let ow = 0; ow < lo; ow++) cols[o + ow] = 0;
              if (sW === 1) for (let ow = lo; ow < hi; ow++) cols[o + ow] = x[rb + ow];
              else for (let ow = lo; ow < hi; ow++) cols[o + ow] = x[rb + ow * sW];
              for (let ow = hi; ow < OW; ow++) cols[o + ow] = 0;
            }
          }
        }
      }
    }
  }
}

/** The adjoint of im2colItem: adds the columns into gx (one batch item, channels [c0, c0 + cs)). */
function col2imItem(cols: FloatArray, colOff: number, ld: number, g: Geo, c0: number, cs: number, gx: FloatArray, xOff: number): void {
  const { ID, IH, IW, KD, KH, KW, OD, OH, OW, sD, sH, sW, pD, pH, pW, dD, dH, dW, plane } = g;
  let row = 0;
  for (let c = 0; c < cs; c++) {
    const base = xOff + (c0 + c) * plane;
    for (let kd = 0; kd < KD; kd++) {
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++, row++) {
          const offW = kw * dW - pW;
          const [lo, hi] = validRange(offW, sW, IW, OW);
          let o = colOff + row * ld;
          for (let od = 0; od < OD; od++) {
            const id = od * sD + kd * dD - pD;
            const dOk = id >= 0 && id < ID;
            for (let oh = 0; oh < OH; oh++, o += OW) {
              const ih = oh * sH + kh * dH - pH;
              if (!dOk || ih < 0 || ih >= IH) continue;
              const rb = base + (id * IH + ih) * IW + offW;
              if (sW === 1) for (let ow = lo; ow < hi; ow++) gx[rb + ow] += cols[o + ow];
              else for (let ow = lo; ow < hi; ow++) gx[rb + ow * sW] += cols[o + ow];
            }
          }
        }
      }
    }
  }
}

/** x [N, C, ...in] -> [N, C * sizeOf(kernel), sizeOf(out)] with C = p.inChannels. */
export function im2col(x: FloatArray, p: ConvParams): FloatArray {
  const g = geometry(p);
  const C = p.inChannels;
  const item = C * g.K * g.L;
  const out = newLike(x, p.batch * item);
  for (let n = 0; n < p.batch; n++) im2colItem(x, n * C * g.plane, g, 0, C, out, n * item, g.L);
  return out;
}

/** The adjoint of im2col: [N, C * sizeOf(kernel), sizeOf(out)] summed back into [N, C, ...in]. */
export function col2im(cols: FloatArray, p: ConvParams): FloatArray {
  const g = geometry(p);
  const C = p.inChannels;
  const item = C * g.K * g.L;
  const gx = newLike(cols, p.batch * C * g.plane);
  for (let n = 0; n < p.batch; n++) col2imItem(cols, n * item, g.L, g, 0, C, gx, n * C * g.plane);
  return gx;
}

function checkGroups(p: ConvParams): void {
  const G = p.groups;
  if (!(G >= 1) || p.inChannels % G !== 0 || p.outChannels % G !== 0) {
    throw new Error(`conv: groups ${G} must divide inChannels ${p.inChannels} and outChannels ${p.outChannels}`);
  }
}

/** 1x1 kernel, stride 1, no padding, same size: x already is the column matrix. */
const isPointwise = (p: ConvParams) =>
  p.kernel.every((k) => k === 1) && p.stride.every((s) => s === 1) && p.padding.every((v) => v === 0) &&
  p.inSize.every((s, i) => s === p.outSize[i]);

/** Columns wanted per product: batch items are grouped until L * nb reaches this. */
const TARGET_COLS = 512;
const itemsPerProduct = (L: number, batch: number) => Math.max(1, Math.min(batch, Math.floor(TARGET_COLS / Math.max(1, L))));

/**
 * What every kernel below derives from p: geometry, per-group sizes (rows = Cin/g * K, the
 * reduction of one product) and nb, the batch items that share one product.
 */
function convDims(p: ConvParams) {
  checkGroups(p);
  const g = geometry(p);
  const N = p.batch, G = p.groups, Cin = p.inChannels, Cout = p.outChannels;
  const cinG = Cin / G;
  const pointwise = isPointwise(p);
  const nb = pointwise && g.L >= 64 ? 1 : itemsPerProduct(g.L, N);
  return { g, L: g.L, plane: g.plane, N, G, Cin, Cout, cinG, coutG: Cout / G, rows: cinG * g.K, pointwise, nb };
}

// Scratch reused across calls (Float64: exact for float32 data, and one type for the GEMM
// packers). Buffers above KEEP_MAX elements are allocated per call and not kept, so one
// huge convolution does not pin its column matrix for the life of the process.
const KEEP_MAX = 1 << 21; // 16 MiB of float64
let scratchA = new Float64Array(0);
let scratchB = new Float64Array(0);
function scratch1(n: number): Float64Array {
  if (scratchA.length >= n) return scratchA;
  if (n > KEEP_MAX) return new Float64Array(n);
  return (scratchA = new Float64Array(n));
}
function scratch2(n: number): Float64Array {
  if (scratchB.length >= n) return scratchB;
  if (n > KEEP_MAX) return new Float64Array(n);
  return (scratchB = new Float64Array(n));
}

/** Copy gy for items [n0, n0 + nb), channels [co0, co0 + cs) into [cs, nb * L]. */
function gatherItems(src: FloatArray, n0: number, nb: number, chans: number, co0: number, cs: number, L: number, dst: Float64Array): void {
  const ld = nb * L;
  for (let b = 0; b < nb; b++) {
    for (let c = 0; c < cs; c++) {
      const s = ((n0 + b) * chans + co0 + c) * L;
      const d = c * ld + b * L;
      for (let l = 0; l < L; l++) dst[d + l] = src[s + l];
    }
  }
}

/** y [N, Cout, ...out] = conv(x, w) (+ bias[cout]). Per batch item and group: W_g [Cout/g, Cin/g*K] @ cols_g. */
export function convForward(x: FloatArray, w: FloatArray, bias: FloatArray | null, p: ConvParams): FloatArray {
  const { g, L, plane, N, G, Cin, Cout, cinG, coutG, rows, pointwise, nb } = convDims(p);
  const y = newLike(x, N * Cout * L);
  if (N === 0 || L === 0) return y;

  if (nb === 1) {
    const cols = pointwise ? null : scratch1(rows * L);
    for (let n = 0; n < N; n++) {
      for (let gi = 0; gi < G; gi++) {
        const yOff = (n * Cout + gi * coutG) * L;
        const accumulate = bias !== null;
        if (bias) for (let c = 0; c < coutG; c++) y.fill(bias[gi * coutG + c], yOff + c * L, yOff + (c + 1) * L);
        if (cols) {
          im2colItem(x, n * Cin * plane, g, gi * cinG, cinG, cols, 0, L);
          gemm(w, gi * coutG * rows, rows, 1, cols, 0, L, 1, y, yOff, L, coutG, L, rows, accumulate);
        } else {
          gemm(w, gi * coutG * rows, rows, 1, x, (n * Cin + gi * cinG) * plane, L, 1, y, yOff, L, coutG, L, rows, accumulate);
        }
      }
    }
    return y;
  }

  const ld = nb * L;
  const cols = scratch1(rows * ld);
  const part = scratch2(coutG * ld);
  for (let n0 = 0; n0 < N; n0 += nb) {
    const cnt = Math.min(nb, N - n0);
    const ldc = cnt * L;
    for (let gi = 0; gi < G; gi++) {
      for (let b = 0; b < cnt; b++) im2colItem(x, (n0 + b) * Cin * plane, g, gi * cinG, cinG, cols, b * L, ldc);
      gemm(w, gi * coutG * rows, rows, 1, cols, 0, ldc, 1, part, 0, ldc, coutG, ldc, rows, false);
      for (let b = 0; b < cnt; b++) {
        for (let c = 0; c < coutG; c++) {
          const yOff = ((n0 + b) * Cout + gi * coutG + c) * L;
          const s = c * ldc + b * L;
          const bv = bias ? bias[gi * coutG + c] : 0;
          for (let l = 0; l < L; l++) y[yOff + l] = part[s + l] + bv;
        }
      }
    }
  }
  return y;
}

/** d loss / d x [N, Cin, ...in] from gy [N, Cout, ...out]: col2im(W_g^T @ gy_g). */
export function convBackwardInput(gy: FloatArray, w: FloatArray, p: ConvParams): FloatArray {
  const { g, L, plane, N, G, Cin, Cout, cinG, coutG, rows, pointwise, nb } = convDims(p);
  const gx = newLike(gy, N * Cin * plane);
  if (N === 0 || L === 0) return gx;

  if (nb === 1) {
    const cols = pointwise ? null : scratch1(rows * L);
    for (let n = 0; n < N; n++) {
      for (let gi = 0; gi < G; gi++) {
        const gyOff = (n * Cout + gi * coutG) * L;
        // A = W_g^T: element (r, c) = w[(gi*coutG + c) * rows + r] -> rsA 1, csA rows
        if (cols) {
          gemm(w, gi * coutG * rows, 1, rows, gy, gyOff, L, 1, cols, 0, L, rows, L, coutG, false);
          col2imItem(cols, 0, L, g, gi * cinG, cinG, gx, n * Cin * plane);
        } else {
          gemm(w, gi * coutG * rows, 1, rows, gy, gyOff, L, 1, gx, (n * Cin + gi * cinG) * plane, L, rows, L, coutG, false);
        }
      }
    }
    return gx;
  }

  const ld = nb * L;
  const cols = scratch1(rows * ld);
  const gyG = scratch2(coutG * ld);
  for (let n0 = 0; n0 < N; n0 += nb) {
    const cnt = Math.min(nb, N - n0);
    const ldc = cnt * L;
    for (let gi = 0; gi < G; gi++) {
      gatherItems(gy, n0, cnt, Cout, gi * coutG, coutG, L, gyG);
      gemm(w, gi * coutG * rows, 1, rows, gyG, 0, ldc, 1, cols, 0, ldc, rows, ldc, coutG, false);
      for (let b = 0; b < cnt; b++) col2imItem(cols, b * L, ldc, g, gi * cinG, cinG, gx, (n0 + b) * Cin * plane);
    }
  }
  return gx;
}

/** d loss / d w [Cout, Cin/g, ...k]: sum over the batch of gy_g @ cols_g^T. */
export function convBackwardWeight(x: FloatArray, gy: FloatArray, p: ConvParams): FloatArray {
  const { g, L, plane, N, G, Cin, Cout, cinG, coutG, rows, pointwise, nb } = convDims(p);
  const gw = newLike(x, Cout * rows);
  if (N === 0 || L === 0) return gw;
  // Accumulate in float64 whatever the dtype, then round once.
  const acc = new Float64Array(Cout * rows);

  if (nb === 1) {
    const cols = pointwise ? null : scratch1(rows * L);
    for (let n = 0; n < N; n++) {
      for (let gi = 0; gi < G; gi++) {
        const gyOff = (n * Cout + gi * coutG) * L;
        // B = cols_g^T: element (l, r) = cols[r * L + l] -> rsB 1, csB L
        if (cols) {
          im2colItem(x, n * Cin * plane, g, gi * cinG, cinG, cols, 0, L);
          gemm(gy, gyOff, L, 1, cols, 0, 1, L, acc, gi * coutG * rows, rows, coutG, rows, L, true);
        } else {
          gemm(gy, gyOff, L, 1, x, (n * Cin + gi * cinG) * plane, 1, L, acc, gi * coutG * rows, rows, coutG, rows, L, true);
        }
      }
    }
  } else {
    const ld = nb * L;
    const cols = scratch1(rows * ld);
    const gyG = scratch2(coutG * ld);
    for (let n0 = 0; n0 < N; n0 += nb) {
      const cnt = Math.min(nb, N - n0);
      const ldc = cnt * L;
      for (let gi = 0; gi < G; gi++) {
        for (let b = 0; b < cnt; b++) im2colItem(x, (n0 + b) * Cin * plane, g, gi * cinG, cinG, cols, b * L, ldc);
        gatherItems(gy, n0, cnt, Cout, gi * coutG, coutG, L, gyG);
        gemm(gyG, 0, ldc, 1, cols, 0, 1, ldc, acc, gi * coutG * rows, rows, coutG, rows, ldc, true);
      }
    }
  }
  gw.set(acc);
  return gw;
}
