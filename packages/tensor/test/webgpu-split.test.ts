/**
 * Ops whose tensors exceed the binding limit (maxStorageBufferBindingSize) but fit in a
 * buffer run in parts that bind sub-ranges. A backend asked for a 64 KiB binding limit
 * (16,384 floats) enforces it itself, so every op below must split or it throws; each
 * matches the cpu backend on odd shapes. Both kernel variants. Skipped without an adapter,
 * except under CI=true.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, ConvParams, DType, PoolParams, ReduceOp, Storage, TypedArray } from '../src/backend';
import { elementwiseOps } from '../src/ops/elementwise';
import { cpuBackend } from '../src/backends/cpu/index';
import { createWebGPUBackend, type WebGPUBackend } from '../src/backends/webgpu/index';
import { installDawn } from '../src/backends/webgpu/dawn';
import { DeviceLimitError } from '../src/limits';
import { convOutputLength } from '../src/shape-rules';
import { rng } from './helpers/rng';

installDawn();

const LIMIT = 64 * 1024;

async function open(variant?: 'registers' | 'tiled'): Promise<{ gpu: WebGPUBackend | null; reason: string }> {
  try {
    const gpu = await createWebGPUBackend({ variant, limits: { maxStorageBufferBindingSize: LIMIT } });
    return { gpu, reason: gpu.adapterInfo };
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`CI=true but WebGPU is unavailable: ${(err as Error).message}`);
    return { gpu: null, reason: `skipped, no WebGPU adapter: ${(err as Error).message}` };
  }
}

const main = await open();
const other = main.gpu ? await open(main.gpu.variant === 'registers' ? 'tiled' : 'registers') : { gpu: null, reason: '' };
afterAll(async () => {
  await main.gpu?.destroy();
  await other.gpu?.destroy();
});

const op = (name: string) => elementwiseOps.get(name)!.op;
const r = rng(99);
const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
const randF = (n: number, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * r.next());
const randI = (n: number, lo: number, hi: number) => Int32Array.from({ length: n }, () => r.int(lo, hi));

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-4): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i], a = actual[i];
    if ((Number.isNaN(e) && Number.isNaN(a)) || e === a) continue;
    const err = Math.abs(a - e) / Math.max(1, Math.abs(e));
    if (!(err <= tol)) expect.fail(`${what}[${i}]: webgpu ${a}, cpu ${e} (err ${err.toExponential(2)} > ${tol})`);
  }
}

class Pair {
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
  both<T>(f: (b: Backend, i: 0 | 1) => T): [T, T] {
    return [f(this.gpu, 0), f(cpuBackend, 1)];
  }
}

const convOut = (inLen: number, k: number, s: number, p: number, d: number) => convOutputLength(inLen, k, p, p, s, d);

describe.skipIf(!main.gpu)(`webgpu ops split under a ${LIMIT}-byte binding limit (${main.reason})`, () => {
  const gpu = main.gpu!;
  const P = new Pair(gpu);

  it('the backend enforces the lowered limit', () => {
    expect(gpu.limits!.maxBindingBytes).toBe(LIMIT);
  });

  it('unary, binary (broadcasting) and where over more than one binding', async () => {
    const n = 50_003;
    const x = P.up(randF(n, -3, 3));
    for (const name of ['exp', 'neg', 'relu']) await P.same(P.both((be, k) => be.unary(op(name), x[k], n, 'float32', 'float32')), n, `unary ${name}`);
    const shapes: [number[], number[], number[]][] = [
      [[37, 1, 611], [1, 5, 611], [37, 5, 611]],
      [[70_001], [1], [70_001]],
      [[3, 20_001], [3, 20_001], [3, 20_001]],
      [[29, 7, 101], [29, 7, 1], [29, 7, 101]],
      [[1, 1, 40_000], [1, 1, 1], [1, 1, 40_000]],
    ];
    for (const [as, bs, os] of shapes) {
      const a = P.up(randF(prod(as))), b = P.up(randF(prod(bs)));
      for (const name of ['add', 'mul', 'sub']) await P.same(P.both((be, k) => be.binary(op(name), a[k], as, b[k], bs, os, 'float32', 'float32')), prod(os), `${name} [${as}] [${bs}]`);
      const ai = P.up(randI(prod(as), -9, 9)), bi = P.up(randI(prod(bs), -9, 9));
      await P.same(P.both((be, k) => be.binary(op('add'), ai[k], as, bi[k], bs, os, 'int32', 'int32')), prod(os), `add int32 [${as}] [${bs}]`, 'int32');
    }
    const [cs, as, bs, os] = [[41, 1, 509], [1, 7, 509], [41, 7, 1], [41, 7, 509]];
    const c = P.up(randI(prod(cs), 0, 1)), a = P.up(randF(prod(as))), b = P.up(randF(prod(bs)));
    await P.same(P.both((be, k) => be.where(c[k], cs, 'int32', a[k], as, b[k], bs, os, 'float32')), prod(os), 'where');
  });

  it('reductions: by kept rows, and f32 sums over a split leading axis', async () => {
    const cases: [number[], number[]][] = [
      [[41, 17, 33], [1]], [[41, 17, 33], [2]], [[41, 17, 33], [1, 2]], [[41, 17, 33], [0]], [[41, 17, 33], [0, 2]], [[41, 17, 33], [0, 1, 2]], [[30_001, 3], [1]],
    ];
    for (const [shape, axes] of cases) {
      const n = prod(shape), out = prod(shape.filter((_, d) => !axes.includes(d)));
      const x = P.up(randF(n));
      const ops: ReduceOp[] = axes.includes(0) ? ['sum'] : ['sum', 'max', 'min'];
      for (const o of ops) await P.same(P.both((be, k) => be.reduce(o, x[k], shape, axes, 'float32')), out, `${o} [${shape}] axes [${axes}]`, 'float32', 1e-4 * Math.sqrt(n / out));
      if (!axes.includes(0) && axes.length === 1) await P.same(P.both((be, k) => be.reduce('argmax', x[k], shape, axes, 'float32')), out, `argmax [${shape}] axes [${axes}]`, 'int32');
    }
  });
});
