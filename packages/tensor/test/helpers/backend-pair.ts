/**
 * What the webgpu backend suites share: the same inputs on webgpu and cpu, compared with a
 * relative tolerance, and seeded random arrays.
 */
import { expect } from 'vitest';
import type { Backend, DType, Storage, TypedArray } from '../../src/backend';
import { cpuBackend } from '../../src/backends/cpu/index';
import { convOutputLength } from '../../src/shape-rules';
import { rng } from './rng';

export const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** Random float32 in [lo, hi) and int32 in [lo, hi) from one seeded generator. */
export function randoms(seed: number) {
  const r = rng(seed);
  return {
    randF: (n: number, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * r.next()),
    randI: (n: number, lo: number, hi: number) => Int32Array.from({ length: n }, () => r.int(lo, hi)),
  };
}

/** |a - e| <= tol * max(1, |e|); NaN matches NaN, infinities must be equal. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-4): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i], a = actual[i];
    if ((Number.isNaN(e) && Number.isNaN(a)) || e === a) continue;
    const err = Math.abs(a - e) / Math.max(1, Math.abs(e));
    if (!(err <= tol)) expect.fail(`${what}[${i}]: webgpu ${a}, cpu ${e} (err ${err.toExponential(2)} > ${tol})`);
  }
}

/** The same inputs on both backends. */
export class Pair {
  constructor(readonly gpu: Backend) {}
  up(data: TypedArray, dtype: DType = data instanceof Int32Array ? 'int32' : 'float32'): [Storage, Storage] {
    return [this.gpu.upload(data, dtype), cpuBackend.upload(data, dtype)];
  }
  async same(out: [Storage, Storage], size: number, what: string, dtype: DType = 'float32', tol = 1e-4): Promise<void> {
    const [g, c] = await Promise.all([this.gpu.read(out[0], size, dtype), cpuBackend.read(out[1], size, dtype)]);
    expectClose(g, c, what, tol);
    this.gpu.dispose(out[0]);
    cpuBackend.dispose(out[1]);
  }
  /** Runs `f` on both backends. */
  both<T>(f: (b: Backend, i: 0 | 1) => T): [T, T] {
    return [f(this.gpu, 0), f(cpuBackend, 1)];
  }
}

export const convOut = (inLen: number, k: number, s: number, p: number, d: number) => convOutputLength(inLen, k, p, p, s, d);
