/**
 * Max and average pooling over [planes, ...inSize] (1-D to 3-D), forward and backward,
 * with PyTorch's semantics (the cpu backend's): padding never wins a max, argmax is the
 * flat index in the input plane (-1 for an empty window), NaN propagates, ties keep the
 * first; average pooling's divisor follows count_include_pad and clips windows to
 * in + pad. Backward passes run one invocation per input element and find the windows
 * that cover it, so no two invocations write the same place.
 */
import { FLOAT_SPECIALS, linearDispatch, linearMain, makeKernel, type Field, type Kernel } from './kernel';
import { checkSpatialRank, sizeOf, to3, type PoolParams } from '@webgrad/kernels-ir';
import { split3, v3Fields } from './conv-geometry';

const WG = 128;

function poolFields(p: PoolParams, count: number): Field[] {
  checkSpatialRank('pool', p.inSize.length);
  return [
    ['count', 'i32', count], ['L', 'i32', sizeOf(p.outSize)], ['plane', 'i32', sizeOf(p.inSize)], ['includePad', 'i32', p.countIncludePad ? 1 : 0],
    ...v3Fields('i', to3(p.inSize, 1, 'pool')), ...v3Fields('k', to3(p.kernel, 1, 'pool')), ...v3Fields('o', to3(p.outSize, 1, 'pool')),
    ...v3Fields('s', to3(p.stride, 1, 'pool')), ...v3Fields('p', to3(p.padding, 0, 'pool')), ...v3Fields('d', to3(p.dilation, 1, 'pool')),
  ];
}

/** Bindings X, out, argmax (i32). */
export function maxPoolKernel(p: PoolParams): Kernel {
  const count = p.planes * sizeOf(p.outSize);
  const body = `  let l = i % p.L;
  let base = (i / p.L) * p.plane;
  ${split3('q', 'l', 'o')}
  var best = -inf_f32();
  var at = -1;
  for (var k0 = 0; k0 < p.k0; k0++) {
    let x0 = q0 * p.s0 - p.p0 + k0 * p.d0;
    if (x0 < 0 || x0 >= p.i0) { continue; }
    for (var k1 = 0; k1 < p.k1; k1++) {
      let x1 = q1 * p.s1 - p.p1 + k1 * p.d1;
      if (x1 < 0 || x1 >= p.i1) { continue; }
      for (var k2 = 0; k2 < p.k2; k2++) {
        let x2 = q2 * p.s2 - p.p2 + k2 * p.d2;
        if (x2 < 0 || x2 >= p.i2) { continue; }
        let flat = (x0 * p.i1 + x1) * p.i2 + x2;
        let v = X[base + flat];
        if (at < 0 || is_nan_f32(v) || (!is_nan_f32(best) && v > best)) { best = v; at = flat; }
      }
    }
  }
  Y[i] = best;
  IDX[i] = at;`;
  return makeKernel({
    key: 'maxPool',
    storage: [['X', 'read', 'f32'], ['Y', 'read_write', 'f32'], ['IDX', 'read_write', 'i32']],
    fields: poolFields(p, count),
    build: () => FLOAT_SPECIALS + linearMain(WG, body),
    workgroupSize: WG,
    dispatch: linearDispatch(count, WG),
  });
}

/** WGSL looping over the outputs q* whose window covers input coordinate x*; `visit` sees l (flat output). */
function coveringWindows(visit: string): string {
  let s = '';
  for (let d = 0; d < 3; d++) {
    s += `${'  '.repeat(d + 1)}for (var k${d} = 0; k${d} < p.k${d}; k${d}++) {
${'  '.repeat(d + 2)}let t${d} = x${d} + p.p${d} - k${d} * p.d${d};
${'  '.repeat(d + 2)}let q${d} = t${d} / p.s${d};
${'  '.repeat(d + 2)}if (t${d} < 0 || q${d} * p.s${d} != t${d} || q${d} >= p.o${d}) { continue; }
`;
  }
  s += `        let l = (q0 * p.o1 + q1) * p.o2 + q2;\n        ${visit}\n`;
  for (let d = 2; d >= 0; d--) s += `${'  '.repeat(d + 1)}}\n`;
  return s;
}

/** Windows that never overlap (stride >= dilated kernel extent in every dim). */
export function poolWindowsDisjoint(p: PoolParams): boolean {
  return p.kernel.every((k, d) => p.stride[d] >= (k - 1) * p.dilation[d] + 1);
}

/**
 * Max-pool gradient for disjoint windows: each input has at most one window, so every
 * output adds its gradient at its argmax with no write conflicts, one invocation per OUTPUT
 * (a quarter of the inputs for 2x2 pooling, and no per-tap divisions). GX must be zeroed
 * first. Bindings GY, argmax, GX.
 */
export function maxPoolBackwardScatterKernel(p: PoolParams): Kernel {
  if (!poolWindowsDisjoint(p)) throw new Error('maxPoolBackwardScatterKernel: windows overlap');
  const count = p.planes * sizeOf(p.outSize);
  const body = `  let at = IDX[i];
  if (at >= 0) { GX[(i / p.L) * p.plane + at] = GY[i]; }`;
  return makeKernel({
    key: 'maxPoolBackward/scatter',
    storage: [['GY', 'read', 'f32'], ['IDX', 'read', 'i32'], ['GX', 'read_write', 'f32']],
    fields: poolFields(p, count),
    build: () => linearMain(WG, body),
    workgroupSize: WG,
    dispatch: linearDispatch(count, WG),
  });
}

/** Bindings GY, argmax, GX. */
export function maxPoolBackwardKernel(p: PoolParams): Kernel {
  const count = p.planes * sizeOf(p.inSize);
  const body = `  let pos = i % p.plane;
  let ob = (i / p.plane) * p.L;
  ${split3('x', 'pos', 'i')}
  var acc = 0.0;
${coveringWindows('if (IDX[ob + l] == pos) { acc += GY[ob + l]; }')}  GX[i] = acc;`;
  return makeKernel({
    key: 'maxPoolBackward',
    storage: [['GY', 'read', 'f32'], ['IDX', 'read', 'i32'], ['GX', 'read_write', 'f32']],
    fields: poolFields(p, count),
    build: () => linearMain(WG, body),
    workgroupSize: WG,
    dispatch: linearDispatch(count, WG),
  });
}

/** WGSL fn divisor(q0, q1, q2) -> f32 and the valid range per dim (dilation 1). */
const AVG_HELPERS = `
fn window(q: i32, s: i32, pad: i32, k: i32, n: i32) -> vec3<i32> {
  let start = q * s - pad;
  let end = min(start + k, n + pad);
  return vec3<i32>(max(start, 0), min(end, n), end - start);
}
fn divisor(q0: i32, q1: i32, q2: i32) -> f32 {
  let w0 = window(q0, p.s0, p.p0, p.k0, p.i0);
  let w1 = window(q1, p.s1, p.p1, p.k1, p.i1);
  let w2 = window(q2, p.s2, p.p2, p.k2, p.i2);
  if (p.includePad != 0) { return f32(w0.z * w1.z * w2.z); }
  return f32(max(w0.y - w0.x, 0) * max(w1.y - w1.x, 0) * max(w2.y - w2.x, 0));
}
`;

/** Bindings X, out. Average pooling takes dilation 1. */
export function avgPoolKernel(p: PoolParams): Kernel {
  const count = p.planes * sizeOf(p.outSize);
  const body = `  let l = i % p.L;
  let base = (i / p.L) * p.plane;
  ${split3('q', 'l', 'o')}
  let w0 = window(q0, p.s0, p.p0, p.k0, p.i0);
  let w1 = window(q1, p.s1, p.p1, p.k1, p.i1);
  let w2 = window(q2, p.s2, p.p2, p.k2, p.i2);
  var acc = 0.0;
  for (var x0 = w0.x; x0 < w0.y; x0++) {
    for (var x1 = w1.x; x1 < w1.y; x1++) {
      for (var x2 = w2.x; x2 < w2.y; x2++) { acc += X[base + (x0 * p.i1 + x1) * p.i2 + x2]; }
    }
  }
  let empty = w0.y <= w0.x || w1.y <= w1.x || w2.y <= w2.x;
  Y[i] = select(acc / divisor(q0, q1, q2), 0.0, empty);`;
  return makeKernel({
    key: 'avgPool',
    storage: [['X', 'read', 'f32'], ['Y', 'read_write', 'f32']],
    fields: poolFields(p, count),
    build: () => AVG_HELPERS + linearMain(WG, body),
    workgroupSize: WG,
    dispatch: linearDispatch(count, WG),
  });
}

/** Bindings GY, GX. */
export function avgPoolBackwardKernel(p: PoolParams): Kernel {
  const count = p.planes * sizeOf(p.inSize);
  const body = `  let pos = i % p.plane;
  let ob = (i / p.plane) * p.L;
  ${split3('x', 'pos', 'i')}
  var acc = 0.0;
${coveringWindows('acc += GY[ob + l] / divisor(q0, q1, q2);')}  GX[i] = acc;`;
  return makeKernel({
    key: 'avgPoolBackward',
    storage: [['GY', 'read', 'f32'], ['GX', 'read_write', 'f32']],
    fields: poolFields(p, count),
    build: () => AVG_HELPERS + linearMain(WG, body),
    workgroupSize: WG,
    dispatch: linearDispatch(count, WG),
  });
}
