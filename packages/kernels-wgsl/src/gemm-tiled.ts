/**
 * The classic tiled matrix product for real GPUs: a 64x64 output tile per workgroup of
 * 16x16 invocations (4x4 outputs each), 64x16 slices of A and B staged in workgroup
 * memory between barriers. Operand access goes through generated load functions, so the
 * same template serves plain matmul (with transposes and batch strides) and implicit-GEMM
 * convolution (the im2col gather done inside load_b, nothing materialised).
 *
 * C[z][row][col] = sum_k load_a(z, row, k) * load_b(z, k, col); store(z, row, col, v).
 * The template bounds-checks (rows < p.M, cols < p.N, k < p.K) before calling the loaders.
 */
import { MAX_GROUPS } from './kernel';

export const TILE = 64;
const BK = 16;

/** Column tiles along x, row tiles along y; column tiles past 65535 fold into y. */
export function tiledDispatch(m: number, n: number, z: number): [number, number, number] {
  if (m === 0 || n === 0 || z === 0) return [0, 0, 0];
  if (z > MAX_GROUPS) throw new RangeError(`a batch of ${z} products exceeds ${MAX_GROUPS}`);
  const xt = Math.ceil(n / TILE), yt = Math.ceil(m / TILE);
  const fold = Math.ceil(xt / MAX_GROUPS);
  return [Math.ceil(xt / fold), yt * fold, z];
}

/** loadA / loadB / store are function bodies (see the header for their signatures). */
export function tiledGemmMain(loadA: string, loadB: string, store: string): string {
  return `
fn load_a(z: i32, row: i32, k: i32) -> f32 {
${loadA}
}
fn load_b(z: i32, k: i32, col: i32) -> f32 {
${loadB}
}
fn store(z: i32, row: i32, col: i32, v: f32) {
${store}
}
var<workgroup> As: array<array<f32, ${TILE}>, ${BK}>;
var<workgroup> Bs: array<array<f32, ${TILE}>, ${BK}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let z = i32(wid.z);
  let rowTiles = (p.M + ${TILE - 1}) / ${TILE};
  let row0 = (i32(wid.y) % rowTiles) * ${TILE};
  let col0 = ((i32(wid.y) / rowTiles) * i32(nwg.x) + i32(wid.x)) * ${TILE};
  let tx = i32(lid.x);
  let ty = i32(lid.y);
  let flat = ty * 16 + tx;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0; k0 < p.K; k0 += ${BK}) {
    for (var e = 0; e < ${(TILE * BK) / 256}; e++) {
      let q = flat + e * 256;
      let kk = q / ${TILE};
      let rc = q % ${TILE};
      let k = k0 + kk;
      var av = 0.0;
      if (row0 + rc < p.M && k < p.K) { av = load_a(z, row0 + rc, k); }
      As[kk][rc] = av;
      var bv = 0.0;
      if (col0 + rc < p.N && k < p.K) { bv = load_b(z, k, col0 + rc); }
      Bs[kk][rc] = bv;
    }
    workgroupBarrier();
    for (var kk = 0; kk < ${BK}; kk++) {
      let a = vec4<f32>(As[kk][ty * 4], As[kk][ty * 4 + 1], As[kk][ty * 4 + 2], As[kk][ty * 4 + 3]);
      let b = vec4<f32>(Bs[kk][tx * 4], Bs[kk][tx * 4 + 1], Bs[kk][tx * 4 + 2], Bs[kk][tx * 4 + 3]);
      for (var i = 0; i < 4; i++) {
        for (var j = 0; j < 4; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0; i < 4; i++) {
    for (var j = 0; j < 4; j++) {
      let row = row0 + ty * 4 + i;
      let col = col0 + tx * 4 + j;
      if (row < p.M && col < p.N) { store(z, row, col, acc[i][j]); }
    }
  }
}
`;
}
