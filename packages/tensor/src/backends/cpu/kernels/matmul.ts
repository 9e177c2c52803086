/**
 * Batched matrix multiply on typed arrays: C[b] = op(A[b]) @ op(B[b]).
 *
 * Large products use the GotoBLAS scheme: the current [KC x NC] panel of B and the
 * current [MC x KC] block of A are packed into contiguous Float64 scratch (in micro-panel
 * order, zero padded to whole tiles), and a 4x4 register-tile micro kernel walks them.
 * Packing reads through arbitrary (row, column) strides, so all four transA/transB
 * combinations run at the same speed, and the micro kernel only ever sees Float64Array
 * scratch (monomorphic, no float32 conversions in the inner loop). Accumulation inside
 * a KC block is in double precision.
 *
 * Measured (Node 20, one core of an AMD EPYC, 512^3, float32): ~4.6 GFLOP/s for every
 * trans combination. Variants tried: tiles 1x8, 2x2, 2x4, 2x8, 3x4, 4x2, 4x3, 4x6, 4x8,
 * 6x4, 8x1, 8x4 and KC 64..512, MC 32..128, NC 128..512: 4x4 / 4x6 / 4x3 within noise.
 */

import type { MatmulParams } from '@webgrad/kernels-ir';

export type FloatArray = Float32Array | Float64Array;

const MR = 4;
const NR = 4;
const KC = 256;
const MC = 64;
const NC = 512;

// Packing scratch, grown on demand and reused (the kernels are still pure: nothing
// observable survives a call).
let aPack = new Float64Array(MC * KC);
let bPack = new Float64Array(NC * KC);

function newLike(x: FloatArray, n: number): FloatArray {
  return new (x.constructor as { new (n: number): FloatArray })(n);
}

/**
 * C[b] = op(A[b]) @ op(B[b]) with C = [batch, m, n] contiguous. A[b] starts at
 * b * aBatchStride (0 broadcasts one matrix), likewise B. A is [m, k] ([k, m] when
 * transA), B is [k, n] ([n, k] when transB), row-major. `out`, when given, is overwritten.
 */
export function matmul(a: FloatArray, b: FloatArray, p: MatmulParams, out?: FloatArray): FloatArray {
  const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride } = p;
  const c = out ?? newLike(a, batch * m * n);
  if (c.length < batch * m * n) throw new RangeError(`matmul: out has ${c.length} elements, need ${batch * m * n}`);
  const rsA = transA ? 1 : k;
  const csA = transA ? m : 1;
  const rsB = transB ? 1 : n;
  const csB = transB ? k : 1;
  for (let bi = 0; bi < batch; bi++) {
    gemm(a, bi * aBatchStride, rsA, csA, b, bi * bBatchStride, rsB, csB, c, bi * m * n, n, m, n, k, false);
  }
  return c;
}

/**
 * General strided GEMM: C[cOff + i*ldc + j] (+)= sum_p A[aOff + i*rsA + p*csA] * B[bOff + p*rsB + j*csB].
 * Overwrites C unless `accumulate`. Exported for the convolution kernels.
 */
export function gemm(
  A: FloatArray, aOff: number, rsA: number, csA: number,
  B: FloatArray, bOff: number, rsB: number, csB: number,
  C: FloatArray, cOff: number, ldc: number,
  m: number, n: number, k: number,
  accumulate: boolean,
): void {
  if (m === 0 || n === 0) return;
  if (!accumulate) {
    for (let i = 0; i < m; i++) {
      const o = cOff + i * ldc;
      C.fill(0, o, o + n);
    }
  }
  if (k === 0) return;
  if (m < MR || n < NR || m * n * k < 4096) {
    gemmSmall(A, aOff, rsA, csA, B, bOff, rsB, csB, C, cOff, ldc, m, n, k);
    return;
  }
  const kcMax = Math.min(KC, k);
  const needA = Math.ceil(Math.min(MC, m) / MR) * MR * kcMax;
  const needB = Math.ceil(Math.min(NC, n) / NR) * NR * kcMax;
  if (aPack.length < needA) aPack = new Float64Array(needA);
  if (bPack.length < needB) bPack = new Float64Array(needB);
  const Ap = aPack;
  const Bp = bPack;

  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      packB(B, bOff + pc * rsB + jc * csB, rsB, csB, kc, nc, Bp);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        packA(A, aOff + ic * rsA + pc * csA, rsA, csA, mc, kc, Ap);
        macroKernel(Ap, Bp, C, cOff + ic * ldc + jc, ldc, mc, nc, kc);
      }
    }
  }
}

/** Pack a [kc x nc] block of B into NR-wide micro-panels: panel j holds kc rows of NR. */
function packB(B: FloatArray, off: number, rs: number, cs: number, kc: number, nc: number, Bp: Float64Array): void {
  let o = 0;
  for (let j = 0; j < nc; j += NR) {
    const nr = Math.min(NR, nc - j);
    const base0 = off + j * cs;
    if (nr === NR) {
      if (cs === 1) {
        for (let p = 0; p < kc; p++) {
          const s = base0 + p * rs;
          Bp[o] = B[s]; Bp[o + 1] = B[s + 1]; Bp[o + 2] = B[s + 2]; Bp[o + 3] = B[s + 3];
          o += 4;
        }
      } else {
        // transposed B: walk each of the NR columns contiguously (rs is 1)
        for (let jj = 0; jj < NR; jj++) {
          let s = base0 + jj * cs;
          let d = o + jj;
          for (let p = 0; p < kc; p++) { Bp[d] = B[s]; s += rs; d += NR; }
        }
        o += kc * NR;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const s = base0 + p * rs;
        let jj = 0;
        for (; jj < nr; jj++) Bp[o++] = B[s + jj * cs];
        for (; jj < NR; jj++) Bp[o++] = 0;
      }
    }
  }
}

/** Pack an [mc x kc] block of A into MR-tall micro-panels: panel i holds kc columns of MR. */
function packA(A: FloatArray, off: number, rs: number, cs: number, mc: number, kc: number, Ap: Float64Array): void {
  let o = 0;
  for (let i = 0; i < mc; i += MR) {
    const mr = Math.min(MR, mc - i);
    const base0 = off + i * rs;
    if (mr === MR) {
      if (cs === 1) {
        // row-major A: walk each of the MR rows contiguously
        for (let ii = 0; ii < MR; ii++) {
          let s = base0 + ii * rs;
          let d = o + ii;
          for (let p = 0; p < kc; p++) { Ap[d] = A[s]; s++; d += MR; }
        }
        o += kc * MR;
      } else {
        for (let p = 0; p < kc; p++) {
          const s = base0 + p * cs;
          Ap[o] = A[s]; Ap[o + 1] = A[s + rs]; Ap[o + 2] = A[s + 2 * rs]; Ap[o + 3] = A[s + 3 * rs];
          o += 4;
        }
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const s = base0 + p * cs;
        let ii = 0;
        for (; ii < mr; ii++) Ap[o++] = A[s + ii * rs];
        for (; ii < MR; ii++) Ap[o++] = 0;
      }
    }
  }
}

/** C[cOff..] += packed A block @ packed B panel, one 4x4 register tile at a time. */
function macroKernel(Ap: Float64Array, Bp: Float64Array, C: FloatArray, cOff: number, ldc: number, mc: number, nc: number, kc: number): void {
  for (let j = 0; j < nc; j += NR) {
    const nr = Math.min(NR, nc - j);
    const bo = j * kc;
    for (let i = 0; i < mc; i += MR) {
      const mr = Math.min(MR, mc - i);
      let ao = i * kc;
      let bp = bo;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let p = 0; p < kc; p++) {
        const a0 = Ap[ao], a1 = Ap[ao + 1], a2 = Ap[ao + 2], a3 = Ap[ao + 3];
        const b0 = Bp[bp], b1 = Bp[bp + 1], b2 = Bp[bp + 2], b3 = Bp[bp + 3];
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
        c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
        c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
        ao += MR;
        bp += NR;
      }
      const co = cOff + i * ldc + j;
      if (mr === MR && nr === NR) {
        let r = co;
        C[r] += c00; C[r + 1] += c01; C[r + 2] += c02; C[r + 3] += c03; r += ldc;
        C[r] += c10; C[r + 1] += c11; C[r + 2] += c12; C[r + 3] += c13; r += ldc;
        C[r] += c20; C[r + 1] += c21; C[r + 2] += c22; C[r + 3] += c23; r += ldc;
        C[r] += c30; C[r + 1] += c31; C[r + 2] += c32; C[r + 3] += c33;
      } else {
        const t = tile;
        t[0] = c00; t[1] = c01; t[2] = c02; t[3] = c03;
        t[4] = c10; t[5] = c11; t[6] = c12; t[7] = c13;
        t[8] = c20; t[9] = c21; t[10] = c22; t[11] = c23;
        t[12] = c30; t[13] = c31; t[14] = c32; t[15] = c33;
        for (let ii = 0; ii < mr; ii++) {
          const r = co + ii * ldc;
          for (let jj = 0; jj < nr; jj++) C[r + jj] += t[ii * NR + jj];
        }
      }
    }
  }
}
const tile = new Float64Array(MR * NR);

/** Small or skinny products: direct loops in the order that keeps the inner loop contiguous. */
function gemmSmall(
  A: FloatArray, aOff: number, rsA: number, csA: number,
  B: FloatArray, bOff: number, rsB: number, csB: number,
  C: FloatArray, cOff: number, ldc: number,
  m: number, n: number, k: number,
): void {
  if (csB === 1) {
    // i-p-j: axpy of B's rows into a row of C, 4 rows of B at a time
    const row = n <= rowScratch.length ? rowScratch : n > 1 << 20 ? new Float64Array(n) : (rowScratch = new Float64Array(n));
    for (let i = 0; i < m; i++) {
      row.fill(0, 0, n);
      const ai = aOff + i * rsA;
      let p = 0;
      for (; p + 3 < k; p += 4) {
        const a0 = A[ai + p * csA], a1 = A[ai + (p + 1) * csA], a2 = A[ai + (p + 2) * csA], a3 = A[ai + (p + 3) * csA];
        const b0 = bOff + p * rsB, b1 = b0 + rsB, b2 = b1 + rsB, b3 = b2 + rsB;
        for (let j = 0; j < n; j++) row[j] += a0 * B[b0 + j] + a1 * B[b1 + j] + a2 * B[b2 + j] + a3 * B[b3 + j];
      }
      for (; p < k; p++) {
        const a0 = A[ai + p * csA];
        const b0 = bOff + p * rsB;
        for (let j = 0; j < n; j++) row[j] += a0 * B[b0 + j];
      }
      const co = cOff + i * ldc;
      for (let j = 0; j < n; j++) C[co + j] += row[j];
    }
  } else {
    // dot products along k
    for (let i = 0; i < m; i++) {
      const ai = aOff + i * rsA;
      const co = cOff + i * ldc;
      for (let j = 0; j < n; j++) {
        const bj = bOff + j * csB;
        let s = 0;
        for (let p = 0; p < k; p++) s += A[ai + p * csA] * B[bj + p * rsB];
        C[co + j] += s;
      }
    }
  }
}
let rowScratch = new Float64Array(1024);
