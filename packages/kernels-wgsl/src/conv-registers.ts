/**
 * Convolution on CPU-emulated adapters through the register GEMM (gemm-registers.ts), as
 * implicit GEMM over a staged input: the input is zero-padded (or zero-spread) once, so
 * every tap is in range, and a table holds each reduction step's offset; the product loop
 * is then one flat loop with workgroup-uniform gathers and no bounds checks (nested
 * ci/kh/kw loops measured 2x slower on llvmpipe). No im2col matrix is materialised.
 *
 * - forward: rows = output positions, vec4 columns = output channels of the group,
 *   steps = (ci, tap); B = weights packed [g][ci*KK + tap][ceil4(COg)].
 * - input gradient: the same kernel on the output gradient spread by the stride and padded
 *   by (K-1)*d - p, with the kernel flipped and in/out channels swapped.
 * - weight gradient: rows = (ci, tap), columns = output channels, steps = (n, position);
 *   B = output gradient packed position-major [n][l][g][ceil4(COg)].
 */
import { makeKernel, type Field, type Kernel } from './kernel';
import { conv3, sizeOf, type Conv3, type ConvParams, type ProductEpilogue, type V3 } from '@webgrad/kernels-ir';
import { epilogueParts } from './epilogue';
import { split3, v3Fields } from './conv-geometry';
import { spreadPadKernel } from './conv-pad';
import { registerDispatch, registerFields, registerGemmMain, registerTile, tileKey } from './gemm-registers';
import { ceil4, packKernel } from './pack';
import type { Plan } from './plan';

/** A stride-s, unpadded convolution over a staged [N, cin, P0, P1, P2] input. */
interface Staged {
  N: number; G: number; cin: number; cinG: number; cout: number; coutG: number;
  plane: V3; out: V3; stride: V3; kernel: V3; dilation: V3;
}


/** Offsets of each (ci, tap) step in the staged input. */
function tapTable(st: Staged): Int32Array {
  const [K0, K1, K2] = st.kernel, [P0, P1, P2] = st.plane, [d0, d1, d2] = st.dilation;
  const t = new Int32Array(st.cinG * K0 * K1 * K2);
  let r = 0;
  for (let c = 0; c < st.cinG; c++)
    for (let a = 0; a < K0; a++)
      for (let b = 0; b < K1; b++)
        for (let e = 0; e < K2; e++) t[r++] = c * P0 * P1 * P2 + (a * d0 * P1 + b * d1) * P2 + e * d2;
  return t;
}

/** Offsets of each (n, output position) step in the staged input. */
function positionTable(st: Staged): Int32Array {
  const [O0, O1, O2] = st.out, [P0, P1, P2] = st.plane, [s0, s1, s2] = st.stride;
  const t = new Int32Array(st.N * O0 * O1 * O2);
  let q = 0;
  for (let n = 0; n < st.N; n++)
    for (let a = 0; a < O0; a++)
      for (let b = 0; b < O1; b++)
        for (let c = 0; c < O2; c++) t[q++] = n * st.cin * P0 * P1 * P2 + (a * s0 * P1 + b * s1) * P2 + c * s2;
  return t;
}

const stagedKey = (st: Staged) => JSON.stringify(st);

function stagedFields(st: Staged): Field[] {
  return [
    ['cin', 'i32', st.cin], ['cinG', 'i32', st.cinG], ['cout', 'i32', st.cout], ['coutG', 'i32', st.coutG],
    ['L', 'i32', sizeOf(st.out)], ...v3Fields('P', st.plane), ...v3Fields('o', st.out), ...v3Fields('s', st.stride),
  ];
}

/** The GEMM of forward and input-gradient convolutions. Bindings Xs, Wpacked, T, [bias], [E1..Ek of the epilogue], Y. */
function positionsGemm(st: Staged, bias: boolean, epilogue?: ProductEpilogue): Kernel {
  const epi = epilogueParts(epilogue);
  const rows = st.N * sizeOf(st.out);
  const cols4 = ceil4(st.coutG) / 4;
  const steps = st.cinG * sizeOf(st.kernel);
  const t = registerTile(rows, cols4, steps);
  const rowOffset = `  let n = row / p.L;
  let l = row % p.L;
  ${split3('q', 'l', 'o')}
  return (n * p.cin + z * p.cinG) * p.P0 * p.P1 * p.P2 + (q0 * p.s0 * p.P1 + q1 * p.s1) * p.P2 + q2 * p.s2;`;
  const store = `  let n = row / p.L;
  let l = row % p.L;
  let lim = min(4, p.coutG - c4 * 4);
  for (var e = 0; e < lim; e++) {
    let co = z * p.coutG + c4 * 4 + e;
    Y[(n * p.cout + co) * p.L + l] = ${epi.apply(bias ? 'v[e] + BIAS[co]' : 'v[e]', 'n', 'co', 'l')};
  }`;
  return makeKernel({
    key: `conv/registers/positions/${tileKey(t)}/${bias ? 'bias' : 'nobias'}${epi.key}`,
    storage: [['A', 'read', 'f32'], ['B', 'read', 'vec4<f32>'], ['T', 'read', 'i32'], ...(bias ? [['BIAS', 'read', 'f32'] as [string, 'read', string]] : []), ...epi.storage, ['Y', 'read_write', 'f32']],
    fields: [...registerFields(t, rows, cols4, steps, 0, cols4, steps * cols4), ...stagedFields(st), ...epi.fields],
    build: () => epi.head + registerGemmMain(t, true, rowOffset, store),
    workgroupSize: t.WG,
    dispatch: registerDispatch(t, rows, cols4, st.G),
  });
}

/** The weight-gradient GEMM. Bindings Xs, GYpacked, T, GW. */
function tapsGemm(st: Staged): Kernel {
  const rows = st.cinG * sizeOf(st.kernel);
  const cols4 = ceil4(st.coutG) / 4;
  const steps = st.N * sizeOf(st.out);
  const t = registerTile(rows, cols4, steps);
  const rowOffset = `  let ci = row / p.KK;
  let tap = row % p.KK;
  ${split3('k', 'tap', 'K')}
  return (z * p.cinG + ci) * p.P0 * p.P1 * p.P2 + (k0 * p.d0 * p.P1 + k1 * p.d1) * p.P2 + k2 * p.d2;`;
  const store = `  let lim = min(4, p.coutG - c4 * 4);
  for (var e = 0; e < lim; e++) {
    let co = z * p.coutG + c4 * 4 + e;
    Y[co * p.rows + row] = v[e];
  }`;
  return makeKernel({
    key: `conv/registers/taps/${tileKey(t)}`,
    storage: [['A', 'read', 'f32'], ['B', 'read', 'vec4<f32>'], ['T', 'read', 'i32'], ['Y', 'read_write', 'f32']],
    fields: [...registerFields(t, rows, cols4, steps, 0, st.G * cols4, cols4), ...stagedFields(st), ['KK', 'i32', sizeOf(st.kernel)], ...v3Fields('K', st.kernel), ...v3Fields('d', st.dilation)],
    build: () => registerGemmMain(t, true, rowOffset, store),
    workgroupSize: t.WG,
    dispatch: registerDispatch(t, rows, cols4, st.G),
  });
}

/** Staged extent per dim: exactly what output o < O, tap k < K reads: (O-1)s + (K-1)d + 1. */
const extent = (g: Conv3, j: number) => (g.o[j] - 1) * g.s[j] + (g.k[j] - 1) * g.d[j] + 1;

/** Forward staging: plain zero padding, skipped when there is none. */
function forwardStaging(g: Conv3): { staged: Staged; pad: Kernel | null } {
  const noPad = g.p.every((v) => v === 0) && [0, 1, 2].every((j) => extent(g, j) <= g.i[j]);
  const plane: V3 = noPad ? g.i : [extent(g, 0), extent(g, 1), extent(g, 2)];
  const staged: Staged = { N: g.N, G: g.G, cin: g.C, cinG: g.Cg, cout: g.CO, coutG: g.COg, plane, out: g.o, stride: g.s, kernel: g.k, dilation: g.d };
  return { staged, pad: noPad ? null : spreadPadKernel(g.N * g.C, g.i, plane, g.p, [1, 1, 1]) };
}

/** Buffers: x, w, [bias], [e1..ek: the epilogue's further inputs] -> y. */
export function convForwardRegistersPlan(p: ConvParams, bias: boolean, epilogue?: ProductEpilogue): Plan {
  const g = conv3(p);
  const { staged, pad } = forwardStaging(g);
  const coPad = ceil4(g.COg);
  const plan: Plan = {
    temps: { wp: g.G * g.Cg * g.KK * coPad, ...(pad ? { xs: g.N * g.C * sizeOf(staged.plane) } : {}) },
    tables: { taps: { key: `taps/${stagedKey(staged)}`, build: () => tapTable(staged) } },
    steps: [],
  };
  if (pad) plan.steps.push({ kernel: pad, buffers: ['x', 'xs'] });
  // w [G][COg][Cg*KK] -> [G][Cg*KK][ceil4(COg)]
  plan.steps.push({ kernel: packKernel([g.G, g.Cg * g.KK, 1, g.COg], [g.COg * g.Cg * g.KK, 1, 0, g.Cg * g.KK], 0), buffers: ['w', 'wp'] });
  const others = (epilogue?.shapes ?? []).map((_, k) => `e${k + 1}`);
  plan.steps.push({ kernel: positionsGemm(staged, bias, epilogue), buffers: [pad ? 'xs' : 'x', 'wp', 'taps', ...(bias ? ['bias'] : []), ...others, 'y'] });
  return plan;
}

/** Buffers: gy, w -> gx. */
export function convBackwardInputRegistersPlan(p: ConvParams): Plan {
  const g = conv3(p);
  const before = [0, 1, 2].map((j) => (g.k[j] - 1) * g.d[j] - g.p[j]) as V3;
  const plane = [0, 1, 2].map((j) => g.i[j] + (g.k[j] - 1) * g.d[j]) as V3;
  const staged: Staged = { N: g.N, G: g.G, cin: g.CO, cinG: g.COg, cout: g.C, coutG: g.Cg, plane, out: g.i, stride: [1, 1, 1], kernel: g.k, dilation: g.d };
  const ciPad = ceil4(g.Cg);
  return {
    temps: { gys: g.N * g.CO * sizeOf(plane), wp: g.G * g.COg * g.KK * ciPad },
    tables: { taps: { key: `taps/${stagedKey(staged)}`, build: () => tapTable(staged) } },
    steps: [
      { kernel: spreadPadKernel(g.N * g.CO, g.o, plane, before, g.s), buffers: ['gy', 'gys'] },
      // w [G][COg][Cg][KK] -> [G][COg][KK flipped][ceil4(Cg)]
      { kernel: packKernel([g.G, g.COg, g.KK, g.Cg], [g.COg * g.Cg * g.KK, g.Cg * g.KK, -1, g.KK], g.KK - 1), buffers: ['w', 'wp'] },
      { kernel: positionsGemm(staged, false), buffers: ['gys', 'wp', 'taps', 'gx'] },
    ],
  };
}

/** Buffers: x, gy -> gw. */
export function convBackwardWeightRegistersPlan(p: ConvParams): Plan {
  const g = conv3(p);
  const { staged, pad } = forwardStaging(g);
  const coPad = ceil4(g.COg);
  const plan: Plan = {
    temps: { gyp: g.N * g.L * g.G * coPad, ...(pad ? { xs: g.N * g.C * sizeOf(staged.plane) } : {}) },
    tables: { positions: { key: `positions/${stagedKey(staged)}`, build: () => positionTable(staged) } },
    steps: [],
  };
  if (pad) plan.steps.push({ kernel: pad, buffers: ['x', 'xs'] });
  // gy [N][G][COg][L] -> [N][L][G][ceil4(COg)]
  plan.steps.push({ kernel: packKernel([g.N, g.L, g.G, g.COg], [g.CO * g.L, 1, g.COg * g.L, g.L], 0), buffers: ['gy', 'gyp'] });
  plan.steps.push({ kernel: tapsGemm(staged), buffers: [pad ? 'xs' : 'x', 'gyp', 'positions', 'gw'] });
  return plan;
}
