/**
 * Zero padding and zero insertion of [planes, D, H, W] in one pass, the input staging of
 * the register convolution: out[j] = x[(j - before) / spread] when that divides and lands
 * inside, else 0 (per spatial dim). Spread 1 is plain padding (forward, weight gradient);
 * spread = stride turns the input gradient into a stride-1 convolution of the spread
 * output gradient with the flipped kernel. Negative `before` crops.
 */
import { linearDispatch, linearMain, makeKernel, type Kernel } from './kernel';
import type { V3 } from '@webgrad/kernels-ir';
import { v3Fields } from './conv-geometry';

const WG = 256;

/** Bindings X, out. One invocation per output row: integer division is slow on CPU-emulated adapters. */
export function spreadPadKernel(planes: number, inSize: V3, outSize: V3, before: V3, spread: V3): Kernel {
  const rows = planes * outSize[0] * outSize[1];
  const unitInner = spread[2] === 1;
  const inner = unitInner
    ? `      let x2 = j2 - p.b2;
      let ok = x2 >= 0 && x2 < p.i2;`
    : `      let t2 = j2 - p.b2;
      let x2 = t2 / p.s2;
      let ok = t2 >= 0 && x2 * p.s2 == t2 && x2 < p.i2;`;
  const body = `  let j1 = i % p.o1;
  let j0 = (i / p.o1) % p.o0;
  let plane = i / (p.o1 * p.o0);
  let t0 = j0 - p.b0;
  let t1 = j1 - p.b1;
  let x0 = t0 / p.s0;
  let x1 = t1 / p.s1;
  let rowOk = t0 >= 0 && t1 >= 0 && x0 * p.s0 == t0 && x1 * p.s1 == t1 && x0 < p.i0 && x1 < p.i1;
  let out = i * p.o2;
  if (rowOk) {
    let src = ((plane * p.i0 + x0) * p.i1 + x1) * p.i2;
    for (var j2 = 0; j2 < p.o2; j2++) {
${inner}
      Y[out + j2] = select(0.0, X[src + max(x2, 0)], ok);
    }
  } else {
    for (var j2 = 0; j2 < p.o2; j2++) { Y[out + j2] = 0.0; }
  }`;
  return makeKernel({
    key: `spreadPad/${unitInner ? 'unit' : 'spread'}`,
    storage: [['X', 'read', 'f32'], ['Y', 'read_write', 'f32']],
    fields: [['count', 'i32', rows], ...v3Fields('i', inSize), ...v3Fields('o', outSize), ...v3Fields('b', before), ...v3Fields('s', spread)],
    build: () => linearMain(WG, body),
    workgroupSize: WG,
    dispatch: linearDispatch(rows, WG),
  });
}
