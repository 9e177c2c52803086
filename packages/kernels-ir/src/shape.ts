/**
 * Shape arithmetic every layer shares (the tensor package, the WGSL and the WebAssembly
 * generators): element counts, row-major strides, broadcast strides and the merging of dims
 * that step together, which keeps a kernel's index arithmetic small.
 */

export type Shape = readonly number[];

/** Elements in a shape (1 for a scalar, 0 when a dim is 0). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a contiguous shape. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** Strides of `shape` broadcast to `outShape` (same rank): 0 where the dim is broadcast. */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const s = stridesOf(shape);
  return outShape.map((d, i) => (shape[i] === 1 && d !== 1 ? 0 : s[i]));
}

export interface Merged {
  shape: number[];
  /** One stride list per operand, aligned with shape. */
  strides: number[][];
}

/**
 * Drops size-1 dims and merges dim d into d-1 wherever every operand steps through both as
 * one: strides[d-1] == strides[d] * shape[d]. A broadcast add of [64,32,16,16] + [32,1,1]
 * becomes rank 3.
 */
export function mergeDims(shape: Shape, strides: readonly (readonly number[])[]): Merged {
  const sh: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const n = sh.length;
    if (n > 0 && strides.every((s, k) => st[k][n - 1] === s[d] * shape[d])) {
      sh[n - 1] *= shape[d];
      strides.forEach((s, k) => (st[k][n - 1] = s[d]));
    } else {
      sh.push(shape[d]);
      strides.forEach((s, k) => st[k].push(s[d]));
    }
  }
  return { shape: sh, strides: st };
}
