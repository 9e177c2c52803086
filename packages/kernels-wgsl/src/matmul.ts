/**
 * Batched matrix product C[b] = op(A[b]) @ op(B[b]), two variants picked by adapter:
 * - 'registers' (CPU-emulated adapters): B first packed [batchB, k, ceil4(n)] by packKernel
 *   (this absorbs transB, odd n and batch strides), then the register GEMM; A is read in
 *   place (transA only changes its strides).
 * - 'tiled' (GPUs): workgroup-memory tiles; transposes and batch strides in the loaders.
 */
import type { MatmulParams, ProductEpilogue } from '@webgrad/kernels-ir';
import { epilogueParts } from './epilogue';
import { makeKernel, type Kernel } from './kernel';
import { ceil4, packKernel } from './pack';
import { registerDispatch, registerFields, registerGemmMain, registerTile, tileKey } from './gemm-registers';
import { tiledDispatch, tiledGemmMain } from './gemm-tiled';

export type GemmVariant = 'registers' | 'tiled';

/** Whether B can be read as vec4 rows in place (no pack needed). */
export function matmulNeedsPack(p: MatmulParams): boolean {
  return p.transB || p.n % 4 !== 0 || p.bBatchStride % 4 !== 0;
}

/** Packs B for the register variant: [bBatch, k, ceil4(n)]. Bindings B, packed. */
export function matmulPackB(p: MatmulParams): Kernel {
  const zb = p.bBatchStride === 0 ? 1 : p.batch;
  const [rs, cs] = p.transB ? [1, p.k] : [p.n, 1];
  return packKernel([zb, p.k, 1, p.n], [p.bBatchStride, rs, 0, cs], 0);
}

export function matmulPackedSize(p: MatmulParams): number {
  return (p.bBatchStride === 0 ? 1 : p.batch) * p.k * ceil4(p.n);
}

/**
 * Register variant over packed B (or B itself, when matmulNeedsPack is false). Bindings A,
 * B (vec4), [E1..Ek of the epilogue], C.
 */
export function matmulRegistersKernel(p: MatmulParams, epilogue?: ProductEpilogue): Kernel {
  const epi = epilogueParts(epilogue);
  const cols4 = ceil4(p.n) / 4;
  const t = registerTile(p.m, cols4, p.k);
  const bz4 = !matmulNeedsPack(p) ? p.bBatchStride / 4 : p.bBatchStride === 0 ? 0 : p.k * cols4;
  const rowOffset = p.transA ? '  return z * p.az + row;' : '  return z * p.az + row * p.steps;';
  const store = `  let base = (z * p.rows + row) * p.n + c4 * 4;
  let lim = min(4, p.n - c4 * 4);
  for (var e = 0; e < lim; e++) { C[base + e] = ${epi.apply('v[e]', 'z', 'row', 'c4 * 4 + e')}; }`;
  return makeKernel({
    key: `matmul/registers/${tileKey(t)}/${p.transA ? 'tA' : 'nA'}${epi.key}`,
    storage: [['A', 'read', 'f32'], ['B', 'read', 'vec4<f32>'], ...epi.storage, ['C', 'read_write', 'f32']],
    fields: [...registerFields(t, p.m, cols4, p.k, p.transA ? p.m : 1, cols4, bz4), ['az', 'i32', p.aBatchStride], ['n', 'i32', p.n], ...epi.fields],
    build: () => epi.head + registerGemmMain(t, false, rowOffset, store),
    workgroupSize: t.WG,
    dispatch: registerDispatch(t, p.m, cols4, p.batch),
  });
}

/** Tiled variant. Bindings A, B, [E1..Ek of the epilogue], C. */
export function matmulTiledKernel(p: MatmulParams, epilogue?: ProductEpilogue): Kernel {
  const epi = epilogueParts(epilogue);
  const loadA = p.transA ? '  return A[z * p.az + k * p.M + row];' : '  return A[z * p.az + row * p.K + k];';
  const loadB = p.transB ? '  return B[z * p.bz + col * p.K + k];' : '  return B[z * p.bz + k * p.N + col];';
  return makeKernel({
    key: `matmul/tiled/${p.transA ? 'tA' : 'nA'}/${p.transB ? 'tB' : 'nB'}${epi.key}`,
    storage: [['A', 'read', 'f32'], ['B', 'read', 'f32'], ...epi.storage, ['C', 'read_write', 'f32']],
    fields: [['M', 'i32', p.m], ['N', 'i32', p.n], ['K', 'i32', p.k], ['az', 'i32', p.aBatchStride], ['bz', 'i32', p.bBatchStride], ...epi.fields],
    build: () => epi.head + tiledGemmMain(loadA, loadB, `  C[(z * p.M + row) * p.N + col] = ${epi.apply('v', 'z', 'row', 'col')};`),
    workgroupSize: [16, 16, 1],
    dispatch: tiledDispatch(p.m, p.n, p.batch),
  });
}
