/**
 * Direct (dilated, grouped) convolution: one invocation per output element, looping over
 * its window with bounds checks. Any geometry; the fallback where a GEMM would waste most
 * of its tile (depthwise and other thin groups), and the plainest statement of the maths.
 */
import { linearDispatch, linearMain, makeKernel, type Kernel } from './kernel';
import { conv3, type ConvParams, type ProductEpilogue } from '@webgrad/kernels-ir';
import { epilogueParts } from './epilogue';
import { geometryFields, split3 } from './conv-geometry';
import { GATHER_GY, GATHER_X } from './conv-tiled';

const WG = 64;

/** Bindings X, W, [BIAS], [E1..Ek of the epilogue], Y. */
export function convForwardDirectKernel(p: ConvParams, bias: boolean, epilogue?: ProductEpilogue): Kernel {
  const g = conv3(p);
  const epi = epilogueParts(epilogue);
  const count = g.N * g.CO * g.L;
  const body = `  let l = i % p.L;
  let co = (i / p.L) % p.CO;
  let n = i / (p.L * p.CO);
  ${split3('q', 'l', 'o')}
  let grp = co / p.COg;
  var acc = ${bias ? 'BIAS[co]' : '0.0'};
  for (var ci = 0; ci < p.Cg; ci++) {
    let wb = (co * p.Cg + ci) * p.KK;
    for (var k0 = 0; k0 < p.k0; k0++) {
      for (var k1 = 0; k1 < p.k1; k1++) {
        for (var k2 = 0; k2 < p.k2; k2++) {
          acc += W[wb + (k0 * p.k1 + k1) * p.k2 + k2] * gather_x(n, grp * p.Cg + ci, q0, q1, q2, k0, k1, k2);
        }
      }
    }
  }
  Y[i] = ${epi.apply('acc', 'n', 'co', 'l')};`;
  return makeKernel({
    key: `conv/direct/forward/${bias ? 'bias' : 'nobias'}${epi.key}`,
    storage: [['X', 'read', 'f32'], ['W', 'read', 'f32'], ...(bias ? [['BIAS', 'read', 'f32'] as [string, 'read', string]] : []), ...epi.storage, ['Y', 'read_write', 'f32']],
    fields: [['count', 'i32', count], ...geometryFields(g), ...epi.fields],
    build: () => epi.head + GATHER_X + linearMain(WG, body),
    workgroupSize: WG,
    dispatch: linearDispatch(count, WG),
  });
}

/** Bindings GY, W, GX. */
export function convBackwardInputDirectKernel(p: ConvParams): Kernel {
  const g = conv3(p);
  const count = g.N * g.C * g.plane;
  const body = `  let pos = i % p.plane;
  let ci = (i / p.plane) % p.C;
  let n = i / (p.plane * p.C);
  ${split3('x', 'pos', 'i')}
  let grp = ci / p.Cg;
  let cig = ci % p.Cg;
  var acc = 0.0;
  for (var cog = 0; cog < p.COg; cog++) {
    let co = grp * p.COg + cog;
    let wb = (co * p.Cg + cig) * p.KK;
    for (var k0 = 0; k0 < p.k0; k0++) {
      for (var k1 = 0; k1 < p.k1; k1++) {
        for (var k2 = 0; k2 < p.k2; k2++) {
          acc += W[wb + (k0 * p.k1 + k1) * p.k2 + k2] * gather_gy(n, co, x0, x1, x2, k0, k1, k2);
        }
      }
    }
  }
  GX[i] = acc;`;
  return makeKernel({
    key: 'conv/direct/backwardInput',
    storage: [['GY', 'read', 'f32'], ['W', 'read', 'f32'], ['GX', 'read_write', 'f32']],
    fields: [['count', 'i32', count], ...geometryFields(g)],
    build: () => GATHER_GY + linearMain(WG, body),
    workgroupSize: WG,
    dispatch: linearDispatch(count, WG),
  });
}

/**
 * Bindings X, GY, GW, [GB]. With `bias`, CO more invocations after the weights' each sum
 * one channel of gy into GB: the bias gradient in the same dispatch.
 */
export function convBackwardWeightDirectKernel(p: ConvParams, bias = false): Kernel {
  const g = conv3(p);
  const weights = g.CO * g.Cg * g.KK;
  const count = weights + (bias ? g.CO : 0);
  const biasBody = `  if (i >= p.weights) {
    let co = i - p.weights;
    var sum = 0.0;
    for (var n = 0; n < p.NB; n++) {
      for (var l = 0; l < p.L; l++) { sum += GY[(n * p.CO + co) * p.L + l]; }
    }
    GB[co] = sum;
    continue;
  }
`;
  const body = `${bias ? biasBody : ''}  let tap = i % p.KK;
  let ci = (i / p.KK) % p.Cg;
  let co = i / (p.KK * p.Cg);
  ${split3('k', 'tap', 'k')}
  let c = (co / p.COg) * p.Cg + ci;
  var acc = 0.0;
  for (var n = 0; n < p.NB; n++) {
    var l = 0;
    for (var q0 = 0; q0 < p.o0; q0++) {
      for (var q1 = 0; q1 < p.o1; q1++) {
        for (var q2 = 0; q2 < p.o2; q2++) {
          acc += GY[(n * p.CO + co) * p.L + l] * gather_x(n, c, q0, q1, q2, k0, k1, k2);
          l++;
        }
      }
    }
  }
  GW[i] = acc;`;
  return makeKernel({
    key: `conv/direct/backwardWeight/${bias ? 'bias' : 'nobias'}`,
    storage: [['X', 'read', 'f32'], ['GY', 'read', 'f32'], ['GW', 'read_write', 'f32'], ...(bias ? [['GB', 'read_write', 'f32'] as [string, 'read_write', string]] : [])],
    fields: [['count', 'i32', count], ['weights', 'i32', weights], ...geometryFields(g)],
    build: () => GATHER_X + linearMain(WG, body),
    workgroupSize: WG,
    dispatch: linearDispatch(count, WG),
  });
}
