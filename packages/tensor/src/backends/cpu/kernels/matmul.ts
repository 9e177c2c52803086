export type FloatArray = Float32Array | Float64Array;

export interface MatmulParams {
  batch: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  aBatchStride: number;
  bBatchStride: number;
}

const alloc = (like: FloatArray, n: number): FloatArray =>
  like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);

// Block sizes chosen so a packed B panel (KC × NC) and a row of C stay in L1/L2.
const KC = 256;
const NC = 512;

/**
 * Batched C[b] = op(A[b]) · op(B[b]). B's panel is packed row-major [k][n] once per block,
 * so every transpose combination runs the same i-k-j inner loop over contiguous rows.
 */
export function matmul(a: FloatArray, b: FloatArray, p: MatmulParams, out?: FloatArray): FloatArray {
  const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride } = p;
  const c = out ?? alloc(a, batch * m * n);
  if (out) c.fill(0, 0, batch * m * n);
  const panel = alloc(a, KC * NC);
  const aRow = alloc(a, KC);
  for (let bi = 0; bi < batch; bi++) {
    const aOff = bi * aBatchStride;
    const bOff = bi * bBatchStride;
    const cOff = bi * m * n;
    for (let j0 = 0; j0 < n; j0 += NC) {
      const nc = Math.min(NC, n - j0);
      for (let p0 = 0; p0 < k; p0 += KC) {
        const kc = Math.min(KC, k - p0);
        packB(b, bOff, transB, k, n, p0, kc, j0, nc, panel);
        for (let i = 0; i < m; i++) {
          // A's row segment, contiguous whatever A's layout.
          if (transA) for (let q = 0; q < kc; q++) aRow[q] = a[aOff + (p0 + q) * m + i];
          else for (let q = 0; q < kc; q++) aRow[q] = a[aOff + i * k + p0 + q];
          rowTimesPanel(aRow, kc, panel, nc, c, cOff + i * n + j0);
        }
      }
    }
  }
  return c;
}

function packB(b: FloatArray, off: number, transB: boolean, k: number, n: number, p0: number, kc: number, j0: number, nc: number, panel: FloatArray): void {
  if (transB) {
    // B stored [n][k]: element (q, j) is at j*k + q.
    for (let j = 0; j < nc; j++) {
      const src = off + (j0 + j) * k + p0;
      for (let q = 0; q < kc; q++) panel[q * nc + j] = b[src + q];
    }
  } else {
    for (let q = 0; q < kc; q++) {
      const src = off + (p0 + q) * n + j0;
      const dst = q * nc;
      for (let j = 0; j < nc; j++) panel[dst + j] = b[src + j];
    }
  }
}

/** c[cOff .. cOff+nc) += Σ_q aRow[q] · panel[q][..], four rows of the panel per pass. */
function rowTimesPanel(aRow: FloatArray, kc: number, panel: FloatArray, nc: number, c: FloatArray, cOff: number): void {
  let q = 0;
  for (; q + 4 <= kc; q += 4) {
    const a0 = aRow[q], a1 = aRow[q + 1], a2 = aRow[q + 2], a3 = aRow[q + 3];
    const r0 = q * nc, r1 = r0 + nc, r2 = r1 + nc, r3 = r2 + nc;
    for (let j = 0; j < nc; j++) {
      c[cOff + j] += a0 * panel[r0 + j] + a1 * panel[r1 + j] + a2 * panel[r2 + j] + a3 * panel[r3 + j];
    }
  }
  for (; q < kc; q++) {
    const av = aRow[q];
    if (av === 0) continue;
    const r = q * nc;
    for (let j = 0; j < nc; j++) c[cOff + j] += av * panel[r + j];
  }
}
