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

/** batchNorm forward and backward of one [n, c, s] case on both backends, with and without weight and bias. */
export async function sameBatchNorm(P: Pair, [n, c, s]: readonly number[], randF: (n: number, lo?: number, hi?: number) => Float32Array): Promise<void> {
  const p = { n, c, s, eps: 1e-5 };
  const size = n * c * s;
  const x = P.up(randF(size, -3, 5)), gy = P.up(randF(size)), w = P.up(randF(c, 0.5, 2)), b = P.up(randF(c));
  for (const affine of [true, false]) {
    const name = `batchNorm [${n}, ${c}, ${s}] affine=${affine}`;
    const [g, cp] = P.both((be, i) => be.batchNorm(x[i], affine ? w[i] : null, affine ? b[i] : null, p, 'float32'));
    const [gb, cb] = P.both((be, i) => be.batchNormBackward(gy[i], x[i], [g.mean, cp.mean][i], [g.invstd, cp.invstd][i], affine ? w[i] : null, p, 'float32'));
    await P.same([g.y, cp.y], size, `${name} y`);
    await P.same([g.mean, cp.mean], c, `${name} mean`);
    await P.same([g.invstd, cp.invstd], c, `${name} invstd`);
    await P.same([gb.gx, cb.gx], size, `${name} gx`, 'float32', 1e-3);
    await P.same([gb.gweight, cb.gweight], c, `${name} gweight`, 'float32', 1e-3);
    await P.same([gb.gbias, cb.gbias], c, `${name} gbias`, 'float32', 1e-3);
  }
  // The running statistics from this batch's mean and invstd (in the same call on each backend).
  const rm = P.up(randF(c)), rv = P.up(randF(c, 0.5, 2));
  const [gr, cr] = P.both((be, i) => be.batchNorm(x[i], null, null, { ...p, running: { mean: rm[i], var: rv[i], momentum: 0.1, count: n * s } }, 'float32'));
  await P.same([gr.runningMean!, cr.runningMean!], c, `batchNorm running statistics [${n}, ${c}, ${s}] mean`);
  await P.same([gr.runningVar!, cr.runningVar!], c, `batchNorm running statistics [${n}, ${c}, ${s}] var`, 'float32', 1e-3);
}
