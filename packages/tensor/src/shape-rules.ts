/**
 * Shape rules shared by the ops and the backends, each written once with its error message:
 * convolution and pooling output sizes, padding amounts per mode, the float-only dtype guard.
 */
import type { DType, PadMode } from './backend';
import { fmt } from './shape';

/** Output size of one convolution dim: ⌊(I + before + after − d·(k−1) − 1) / s⌋ + 1. */
export function convOutputLength(input: number, kernel: number, padBefore: number, padAfter: number, stride: number, dilation: number): number {
  return Math.floor((input + padBefore + padAfter - dilation * (kernel - 1) - 1) / stride) + 1;
}

/**
 * Output size of one pooling dim (PyTorch's pooling_output_shape): the convolution size
 * with `pad` on both sides, rounded up with ceilMode as long as the last window starts
 * inside the left-padded input.
 */
export function poolOutputLength(input: number, kernel: number, pad: number, stride: number, dilation: number, ceilMode: boolean): number {
  if (!ceilMode) return convOutputLength(input, kernel, pad, pad, stride, dilation);
  let out = convOutputLength(input + stride - 1, kernel, pad, pad, stride, dilation);
  if ((out - 1) * stride >= input + pad) out--;
  return out;
}

/**
 * Checks [before, after] pads per dim of `shape` for `mode`, as every backend's pad kernel
 * needs them: negative pads crop, but no dim below zero; reflect needs each pad smaller
 * than its dim, circular at most its dim, and no mode but constant can fill an empty dim.
 */
export function checkPads(shape: readonly number[], pads: readonly (readonly [number, number])[], mode: PadMode): void {
  if (pads.length !== shape.length) throw new Error(`pad: ${pads.length} (before, after) pairs for ${fmt(shape)} of rank ${shape.length}`);
  shape.forEach((n, i) => {
    const [b, a] = pads[i];
    if (n + b + a < 0) throw new Error(`pad: pads (${b}, ${a}) crop dim ${i} of size ${n} below zero`);
    if (mode === 'constant') return;
    if (mode === 'reflect' && (b >= n || a >= n) && (b > 0 || a > 0)) {
      throw new Error(`pad: reflect padding (${b}, ${a}) must be smaller than dim ${i} of size ${n} in ${fmt(shape)}`);
    }
    if ((mode === 'circular' && (b > n || a > n)) || (n === 0 && (b > 0 || a > 0))) {
      throw new Error(`pad: ${mode} padding (${b}, ${a}) is too large for dim ${i} of size ${n} in ${fmt(shape)}`);
    }
  });
}

/** The pad op's arguments: the kernel rules, and (as PyTorch) no cropping outside constant mode. */
export function checkPadArguments(shape: readonly number[], pads: readonly (readonly [number, number])[], mode: PadMode): void {
  checkPads(shape, pads, mode);
  if (mode !== 'constant' && pads.some(([b, a]) => b < 0 || a < 0)) {
    throw new Error(`pad: ${mode} padding needs non-negative pads, got [${pads.map((q) => `(${q})`)}] (crop with narrow or constant padding)`);
  }
}

/** The guard of float-only ops, for ops (with the tensor's shape) and backends alike. */
export function requireFloatDtype(op: string, dtype: DType, shape?: readonly number[]): void {
  if (dtype === 'int32') throw new Error(`${op}: expected a float tensor but got int32${shape ? ` ${fmt(shape)}` : ''}; convert it with .float() first`);
}
