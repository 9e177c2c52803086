/**
 * A 4-D strided gather into a contiguous buffer whose last dim is padded with zeros to a
 * multiple of 4: the layout the register GEMM reads as vec4. It transposes B for matmul,
 * transposes (and flips) convolution weights, and lays gradients out position-major.
 * dst[a][b][c][d] = d < D ? src[offset + a*s0 + b*s1 + c*s2 + d*s3] : 0, d < ceil4(D).
 */
import { linearDispatch, linearMain, makeKernel, type Kernel } from './kernel';

const WG = 256;

export const ceil4 = (n: number) => Math.ceil(n / 4) * 4;

/** Bindings src, dst. */
export function packKernel(shape: readonly [number, number, number, number], strides: readonly [number, number, number, number], offset: number): Kernel {
  const [A, B, C, D] = shape;
  const dPad = ceil4(D);
  // One invocation per row: integer division is slow on CPU-emulated adapters.
  const count = A * B * C;
  return makeKernel({
    key: 'pack',
    storage: [['X', 'read', 'f32'], ['Y', 'read_write', 'f32']],
    fields: [
      ['count', 'i32', count], ['offset', 'i32', offset], ['b', 'i32', B], ['c', 'i32', C], ['d', 'i32', D], ['dpad', 'i32', dPad],
      ['s0', 'i32', strides[0]], ['s1', 'i32', strides[1]], ['s2', 'i32', strides[2]], ['s3', 'i32', strides[3]],
    ],
    build: () => linearMain(WG, `  let c = i % p.c;
  let b = (i / p.c) % p.b;
  let a = i / (p.c * p.b);
  let base = p.offset + a * p.s0 + b * p.s1 + c * p.s2;
  let out = i * p.dpad;
  for (var d = 0; d < p.d; d++) { Y[out + d] = X[base + d * p.s3]; }
  for (var d = p.d; d < p.dpad; d++) { Y[out + d] = 0.0; }`),
    workgroupSize: WG,
    dispatch: linearDispatch(count, WG),
  });
}
