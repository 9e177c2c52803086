/**
 * Implicit-GEMM convolution for GPUs: the tiled product of gemm-tiled.ts whose loaders
 * gather the input (or output gradient) on the fly with bounds checks, so no im2col matrix
 * and no padded copy exists. One workgroup column per group (dispatch z = group).
 * - forward: C[co][n*L + l] = sum_(ci,tap) w[co][ci][tap] * x[n][ci][l*s - p + tap*d]
 * - input gradient: C[ci][n*plane + i] = sum_(co,tap) w[co][ci][tap] * gy[n][co][(i + p - tap*d) / s]
 * - weight gradient: C[co][ci*KK + tap] = sum_(n,l) gy[n][co][l] * x[n][ci][l*s - p + tap*d]
 */
import { makeKernel, type Kernel } from './kernel';
import { conv3, type ConvParams, type ProductEpilogue } from '@webgrad/kernels-ir';
import { epilogueParts } from './epilogue';
import { geometryFields, split3 } from './conv-geometry';
import { tiledDispatch, tiledGemmMain } from './gemm-tiled';

/** WGSL: x at (n, channel c) for output coordinates q* and taps k*, 0 in the padding. */
export const GATHER_X = `
fn gather_x(n: i32, c: i32, q0: i32, q1: i32, q2: i32, k0: i32, k1: i32, k2: i32) -> f32 {
  let x0 = q0 * p.s0 - p.p0 + k0 * p.d0;
  let x1 = q1 * p.s1 - p.p1 + k1 * p.d1;
  let x2 = q2 * p.s2 - p.p2 + k2 * p.d2;
  if (x0 < 0 || x0 >= p.i0 || x1 < 0 || x1 >= p.i1 || x2 < 0 || x2 >= p.i2) { return 0.0; }
  return X[((n * p.C + c) * p.i0 + x0) * p.i1 * p.i2 + x1 * p.i2 + x2];
}
`;

/** WGSL: gy at (n, channel co) reaching input coordinates x* through taps k*, 0 where none does. */
export const GATHER_GY = `
fn gather_gy(n: i32, co: i32, x0: i32, x1: i32, x2: i32, k0: i32, k1: i32, k2: i32) -> f32 {
  let t0 = x0 + p.p0 - k0 * p.d0;
  let t1 = x1 + p.p1 - k1 * p.d1;
  let t2 = x2 + p.p2 - k2 * p.d2;
  if (t0 < 0 || t1 < 0 || t2 < 0) { return 0.0; }
  let o0 = t0 / p.s0;
  let o1 = t1 / p.s1;
  let o2 = t2 / p.s2;
  if (o0 * p.s0 != t0 || o1 * p.s1 != t1 || o2 * p.s2 != t2 || o0 >= p.o0 || o1 >= p.o1 || o2 >= p.o2) { return 0.0; }
  return GY[((n * p.CO + co) * p.o0 + o0) * p.o1 * p.o2 + o1 * p.o2 + o2];
}
`;

const gemmFields = (M: number, N: number, K: number) => [['M', 'i32', M], ['N', 'i32', N], ['K', 'i32', K]] as [string, 'i32', number][];

/** Bindings X, W, [BIAS], [E1..Ek of the epilogue], Y. */
export function convForwardTiledKernel(p: ConvParams, bias: boolean, epilogue?: ProductEpilogue): Kernel {
  const g = conv3(p);
  const epi = epilogueParts(epilogue);
  const loadA = '  return W[(z * p.COg + row) * p.K + k];';
  const loadB = `  let ci = k / p.KK;
  let tap = k % p.KK;
  ${split3('k', 'tap', 'k')}
  let n = col / p.L;
  let l = col % p.L;
  ${split3('q', 'l', 'o')}
  return gather_x(n, z * p.Cg + ci, q0, q1, q2, k0, k1, k2);`;
  const store = `  let co = z * p.COg + row;
  let n = col / p.L;
  let l = col % p.L;
  Y[(n * p.CO + co) * p.L + l] = ${epi.apply(bias ? 'v + BIAS[co]' : 'v', 'n', 'co', 'l')};`;
  return makeKernel({
    key: `conv/tiled/forward/${bias ? 'bias' : 'nobias'}${epi.key}`,
    storage: [['X', 'read', 'f32'], ['W', 'read', 'f32'], ...(bias ? [['BIAS', 'read', 'f32'] as [string, 'read', string]] : []), ...epi.storage, ['Y', 'read_write', 'f32']],
    fields: [...gemmFields(g.COg, g.N * g.L, g.Cg * g.KK), ...geometryFields(g), ...epi.fields],
    build: () => epi.head + GATHER_X + tiledGemmMain(loadA, loadB, store),
    workgroupSize: [16, 16, 1],
    dispatch: tiledDispatch(g.COg, g.N * g.L, g.G),
  });
}

/** Bindings GY, W, GX. */
export function convBackwardInputTiledKernel(p: ConvParams): Kernel {
  const g = conv3(p);
  const loadA = `  let co = k / p.KK;
  return W[((z * p.COg + co) * p.Cg + row) * p.KK + k % p.KK];`;
  const loadB = `  let co = k / p.KK;
  let tap = k % p.KK;
  ${split3('k', 'tap', 'k')}
  let n = col / p.plane;
  let pos = col % p.plane;
  ${split3('x', 'pos', 'i')}
  return gather_gy(n, z * p.COg + co, x0, x1, x2, k0, k1, k2);`;
  const store = '  GX[((col / p.plane) * p.C + z * p.Cg + row) * p.plane + col % p.plane] = v;';
  return makeKernel({
    key: 'conv/tiled/backwardInput',
    storage: [['GY', 'read', 'f32'], ['W', 'read', 'f32'], ['GX', 'read_write', 'f32']],
    fields: [...gemmFields(g.Cg, g.N * g.plane, g.COg * g.KK), ...geometryFields(g)],
    build: () => GATHER_GY + tiledGemmMain(loadA, loadB, store),
    workgroupSize: [16, 16, 1],
    dispatch: tiledDispatch(g.Cg, g.N * g.plane, g.G),
  });
}

/**
 * Bindings X, GY, GW, [GB]. With `bias`, the bias gradient GB[co] = sum_(n,l) gy[n][co][l]
 * is one more column of the same product, whose B is all ones: it costs no separate pass
 * over gy, and no dispatch.
 */
export function convBackwardWeightTiledKernel(p: ConvParams, bias = false): Kernel {
  const g = conv3(p);
  const loadA = '  return GY[((k / p.L) * p.CO + z * p.COg + row) * p.L + k % p.L];';
  const loadB = `${bias ? '  if (col == p.Cg * p.KK) { return 1.0; }\n' : ''}  let ci = col / p.KK;
  let tap = col % p.KK;
  ${split3('k', 'tap', 'k')}
  let n = k / p.L;
  let l = k % p.L;
  ${split3('q', 'l', 'o')}
  return gather_x(n, z * p.Cg + ci, q0, q1, q2, k0, k1, k2);`;
  const store = `${bias ? '  if (col == p.Cg * p.KK) { GB[z * p.COg + row] = v; return; }\n' : ''}  GW[(z * p.COg + row) * p.Cg * p.KK + col] = v;`;
  return makeKernel({
    key: `conv/tiled/backwardWeight/${bias ? 'bias' : 'nobias'}`,
    storage: [['X', 'read', 'f32'], ['GY', 'read', 'f32'], ['GW', 'read_write', 'f32'], ...(bias ? [['GB', 'read_write', 'f32'] as [string, 'read_write', string]] : [])],
    fields: [...gemmFields(g.COg, g.Cg * g.KK + (bias ? 1 : 0), g.N * g.L), ...geometryFields(g)],
    build: () => GATHER_X + tiledGemmMain(loadA, loadB, store),
    workgroupSize: [16, 16, 1],
    dispatch: tiledDispatch(g.COg, g.Cg * g.KK + (bias ? 1 : 0), g.G),
  });
}
