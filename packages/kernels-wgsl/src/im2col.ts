/**
 * im2col and its adjoint col2im (1-D to 3-D, stride, padding, dilation). Columns are
 * [N, C * KK, L] with row c * KK + tap. col2im runs one invocation per input element and
 * sums the column entries that read it, so nothing is written twice (no atomics needed).
 */
import { linearDispatch, linearMain, makeKernel, type Kernel } from './kernel';
import { conv3, type ConvParams } from '@webgrad/kernels-ir';
import { geometryFields, split3 } from './conv-geometry';
import { GATHER_X } from './conv-tiled';

const WG = 256;

/** Bindings X, cols. */
export function im2colKernel(p: ConvParams): Kernel {
  const g = conv3(p);
  const count = g.N * g.C * g.KK * g.L;
  const body = `  let l = i % p.L;
  let row = (i / p.L) % (p.C * p.KK);
  let n = i / (p.L * p.C * p.KK);
  let tap = row % p.KK;
  ${split3('k', 'tap', 'k')}
  ${split3('q', 'l', 'o')}
  Y[i] = gather_x(n, row / p.KK, q0, q1, q2, k0, k1, k2);`;
  return makeKernel({
    key: 'im2col',
    storage: [['X', 'read', 'f32'], ['Y', 'read_write', 'f32']],
    fields: [['count', 'i32', count], ...geometryFields(g)],
    build: () => GATHER_X + linearMain(WG, body),
    workgroupSize: WG,
    dispatch: linearDispatch(count, WG),
  });
}

/** Bindings cols, X-shaped out. */
export function col2imKernel(p: ConvParams): Kernel {
  const g = conv3(p);
  const count = g.N * g.C * g.plane;
  const body = `  let pos = i % p.plane;
  let nc = i / p.plane;
  ${split3('x', 'pos', 'i')}
  var acc = 0.0;
  var tap = 0;
  for (var k0 = 0; k0 < p.k0; k0++) {
    for (var k1 = 0; k1 < p.k1; k1++) {
      for (var k2 = 0; k2 < p.k2; k2++) {
        let t0 = x0 + p.p0 - k0 * p.d0;
        let t1 = x1 + p.p1 - k1 * p.d1;
        let t2 = x2 + p.p2 - k2 * p.d2;
        let o0 = t0 / p.s0;
        let o1 = t1 / p.s1;
        let o2 = t2 / p.s2;
        if (t0 >= 0 && t1 >= 0 && t2 >= 0 && o0 * p.s0 == t0 && o1 * p.s1 == t1 && o2 * p.s2 == t2 && o0 < p.o0 && o1 < p.o1 && o2 < p.o2) {
          acc += COLS[(nc * p.KK + tap) * p.L + (o0 * p.o1 + o1) * p.o2 + o2];
        }
        tap++;
      }
    }
  }
  Y[i] = acc;`;
  return makeKernel({
    key: 'col2im',
    storage: [['COLS', 'read', 'f32'], ['Y', 'read_write', 'f32']],
    fields: [['count', 'i32', count], ...geometryFields(g)],
    build: () => linearMain(WG, body),
    workgroupSize: WG,
    dispatch: linearDispatch(count, WG),
  });
}
