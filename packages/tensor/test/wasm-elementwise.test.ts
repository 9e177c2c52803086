/**
 * The WASM SIMD elementwise kernels rendered from the op table, against the JavaScript
 * loops rendered from the same table: every op with a SIMD rendering on odd sizes and
 * special values, broadcasting shapes, `where`; exp and log in ulps over the whole float32
 * range; the same bits on 1, 2 and 3 threads; the cpu backend routing float32 to them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import { elementwiseModule, simdRenderable } from '@webgrad/kernels-wasm';
import type { Shape } from '../src/backend';
import { binaryLoop, broadcastLoop, unaryLoop } from '../src/backends/cpu/elementwise';
import { collapse, wasmBinary, wasmUnary, wasmWhere } from '../src/backends/cpu/wasm/elementwise';
import { defaultThreads, wasmRuntime } from '../src/backends/cpu/wasm/runtime';
import { installWasmNodeHost } from '../src/backends/cpu/wasm/node-host';
import { rng } from './helpers/rng';

installWasmNodeHost();
const rt = wasmRuntime();
afterAll(() => rt?.setThreads(defaultThreads()));

const ops = [...wg.elementwiseOps.values()].map((f) => f.op).filter((op) => op.name !== 'cast');
const simdOps = ops.filter((op) => simdRenderable(op.expr));

const SPECIAL = [0, -0, Infinity, -Infinity, NaN, 1e-40, -1e-40, 3e38, -3e38, 1, -1, 0.5, 89, -104, 20, -20];

/** Random values of the op's domain, scaled so every branch is taken; special values first. */
function inputs(n: number, seed: number, positive = false): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = (r.next() * 2 - 1) * (i % 3 === 0 ? 100 : 6);
    a[i] = i < SPECIAL.length && n > 2 * SPECIAL.length ? SPECIAL[i] : positive ? Math.abs(v) : v;
  }
  return a;
}

const bits = new Int32Array(1), asFloat = new Float32Array(bits.buffer);
/** float32 values in order as integers: their difference counts ulps. */
function ordinal(v: number): number {
  asFloat[0] = v;
  return bits[0] < 0 ? -(bits[0] & 0x7fffffff) : bits[0];
}
const ulps = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? (Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity) : Math.abs(ordinal(a) - ordinal(b)));

/**
 * The float32 trees round at every step where the JavaScript loops compute in float64 and
 * round once: within 4 ulps, or 1e-6 of max(1, |expected|) where a difference of nearly
 * equal terms (erf near 0, gelu's tail) leaves few significant bits in either.
 */
function expectClose(got: Float32Array, want: Float32Array, what: string, exact = false): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const u = ulps(got[i], want[i]);
    if (exact ? u === 0 : u <= 4 || Math.abs(got[i] - want[i]) <= 1e-6 * Math.max(1, Math.abs(want[i]))) continue;
    expect.fail(`${what}[${i}]: got ${got[i]}, expected ${want[i]} (${u} ulps)`);
  }
}

const args = (op: (typeof ops)[number]) => {
  const check = (op as { check?: { args?: number[] } }).check;
  const params = (op as { params?: readonly (readonly [string, number])[] }).params ?? [];
  return [check?.args?.[0] ?? params[0]?.[1] ?? 0, check?.args?.[1] ?? params[1]?.[1] ?? 0];
};
const positive = (op: (typeof ops)[number]) => (op as { check?: { input?: string } }).check?.input === 'positive';

/** The JavaScript reference for a binary op with broadcasting. */
function refBinary(op: (typeof ops)[number], x: Float32Array, xs: Shape, y: Float32Array, ys: Shape, out: Shape): Float32Array {
  const r = new Float32Array(out.reduce((a, b) => a * b, 1));
  binaryLoop(op, false)(x, xs, y, ys, out, r);
  return r;
}

describe.skipIf(!rt)('wasm elementwise kernels equal the JS loops of the op table', () => {
  it('every op has a SIMD rendering but those calling tanh, sin, cos or pow', () => {
    const jsOnly = ops.filter((op) => !simdRenderable(op.expr)).map((op) => op.name);
    expect(jsOnly.sort()).toEqual(['cos', 'geluTanh', 'pow', 'powScalar', 'sin', 'tanh']);
    for (const op of ops) expect(elementwiseModule(op) === null, op.name).toBe(jsOnly.includes(op.name));
  });

  let seed = 1;
  for (const op of simdOps) {
    it(`${op.name} on sizes 0, 1, 3, 5, 17, 1023, 100003 and special values`, () => {
      const [a, b] = args(op);
      for (const n of [0, 1, 3, 5, 17, 1023, 100_003]) {
        const x = inputs(n, seed++, positive(op));
        if (op.arity === 1) {
          const want = new Float32Array(n);
          unaryLoop(op, false)(x, want, a, b);
          expectClose(wasmUnary(rt!, op, x, n, a, b)!, want, `${op.name} n ${n}`);
        } else {
          const y = inputs(n, seed++, positive(op)).reverse();
          expectClose(wasmBinary(rt!, op, x, [n], y, [n], [n])!, refBinary(op, x, [n], y, [n], [n]), `${op.name} n ${n}`);
        }
      }
    });
  }

  it('relu, its backward, add, sub, mul, div, maximum and comparisons give the same bits as the JS loops', () => {
    for (const name of ['relu', 'reluGrad', 'add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'gt', 'eq', 'neg', 'abs', 'sqrt']) {
      const op = wg.elementwiseOps.get(name)!.op;
      const x = inputs(1029, seed++, name === 'sqrt'), y = inputs(1029, seed++).reverse();
      if (op.arity === 1) {
        const want = new Float32Array(x.length);
        unaryLoop(op, false)(x, want, 0, 0);
        expectClose(wasmUnary(rt!, op, x, x.length, 0, 0)!, want, name, true);
      } else {
        expectClose(wasmBinary(rt!, op, x, [x.length], y, [y.length], [x.length])!, refBinary(op, x, [x.length], y, [y.length], [x.length]), name, true);
      }
    }
  });
});

/** [x shape, y shape], padded to the output's rank by the caller as the ops do. */
const broadcasts: [string, Shape, Shape][] = [
  ['same shape', [3, 5, 7], [3, 5, 7]],
  ['scalar y', [5, 7], [1, 1]],
  ['scalar x', [1, 1], [5, 7]],
  ['both scalars', [], []],
  ['row', [3, 17], [1, 17]],
  ['column', [17, 3], [17, 1]],
  ['NCHW + [C,1,1]', [4, 3, 5, 7], [1, 3, 1, 1]],
  ['[C,1,1] + NCHW', [1, 3, 1, 1], [4, 3, 5, 7]],
  ['NCHW + [N,C,1,1], 1x1 spatial', [6, 5, 1, 1], [6, 5, 1, 1]],
  ['size-1 dims on both sides', [1, 5, 1, 3], [2, 1, 4, 1]],
  ['outer product', [9, 1], [1, 11]],
  ['alternating', [2, 1, 3, 1, 5], [1, 4, 1, 2, 5]],
  ['big NCHW + [C,1,1] (threads)', [16, 32, 17, 19], [1, 32, 1, 1]],
  ['big row (threads)', [700, 301], [1, 301]],
];
const outOf = (a: Shape, b: Shape): Shape => a.map((d, i) => Math.max(d, b[i]));
const sizeOfShape = (s: Shape) => s.reduce((a, b) => a * b, 1);

describe.skipIf(!rt)('wasm broadcasting', () => {
  let seed = 300;
  for (const [name, xs, ys] of broadcasts) {
    it(`${name}: ${JSON.stringify(xs)} with ${JSON.stringify(ys)}`, () => {
      const out = outOf(xs, ys);
      const x = inputs(sizeOfShape(xs), seed++), y = inputs(sizeOfShape(ys), seed++);
      for (const opName of ['add', 'sub', 'div', 'maximum', 'lt', 'reluGrad', 'sigmoidGrad']) {
        const op = wg.elementwiseOps.get(opName)!.op;
        expectClose(wasmBinary(rt!, op, x, xs, y, ys, out)!, refBinary(op, x, xs, y, ys, out), `${opName}`);
      }
    });
  }

  it('collapses a broadcast to runs along the last dim, each operand advancing or repeating', () => {
    expect(collapse([4, 3, 5, 7], [[4, 3, 5, 7], [1, 3, 1, 1]])).toEqual([
      { size: 4, strides: [105, 0] }, { size: 3, strides: [35, 1] }, { size: 35, strides: [1, 0] },
    ]);
    expect(collapse([3, 5, 7], [[3, 5, 7], [3, 5, 7]])).toEqual([{ size: 105, strides: [1, 1] }]);
    expect(collapse([5, 1, 7], [[5, 1, 7], [1, 1, 1]])).toEqual([{ size: 35, strides: [1, 0] }]);
    expect(collapse([], [[], []])).toEqual([{ size: 1, strides: [1, 1] }]);
  });

  for (const condType of ['float32', 'int32'] as const) {
    it(`where with a ${condType} condition, broadcast three ways`, () => {
      const cases: [Shape, Shape, Shape][] = [
        [[7, 9], [7, 9], [7, 9]], [[1, 9], [7, 1], [1, 1]], [[4, 3, 1, 1], [1, 3, 5, 7], [4, 3, 5, 7]], [[1, 1], [1, 1], [1, 1]], [[300, 301], [300, 301], [1, 1]],
      ];
      let s = 900;
      for (const [cs, as, bs] of cases) {
        const out = outOf(outOf(cs, as), bs);
        const r = rng(s++);
        const condF = Float32Array.from({ length: sizeOfShape(cs) }, (_, i) => [0, -0, 1, NaN, -2][(i + Math.floor(r.next() * 5)) % 5]);
        const cond = condType === 'int32' ? Int32Array.from(condF, (v) => (Number.isNaN(v) ? 3 : v)) : condF;
        const a = inputs(sizeOfShape(as), s++), b = inputs(sizeOfShape(bs), s++);
        const want = new Float32Array(sizeOfShape(out));
        broadcastLoop(out, [cs, as, bs], (o, [oc, oa, ob], [sc, sa, sb], n) => {
          for (let i = 0; i < n; i++) want[o + i] = cond[oc + i * sc] !== 0 ? a[oa + i * sa] : b[ob + i * sb];
        });
        expectClose(wasmWhere(rt!, cond, cs, a, as, b, bs, out), want, `where ${JSON.stringify([cs, as, bs])}`, true);
      }
    });
  }
});

describe.skipIf(!rt)('SIMD exp and log against Math.exp and Math.log', () => {
  /** Every 61st float32 bit pattern (positive and negative), and the specials. */
  function sweep(): Float32Array {
    const n = Math.floor(0x7f800000 / 61);
    const v = new Float32Array(2 * n + SPECIAL.length);
    const b = new Int32Array(v.buffer);
    for (let i = 0; i < n; i++) {
      b[2 * i] = i * 61;
      b[2 * i + 1] = (i * 61) | 0x80000000;
    }
    v.set(SPECIAL, 2 * n);
    return v;
  }
  const x = sweep();
  for (const [name, fn] of [['exp', Math.exp], ['log', Math.log]] as const) {
    it(`${name}: within 2 ulps over the float32 range (denormals, overflow, underflow), special values exact`, () => {
      const got = wasmUnary(rt!, wg.elementwiseOps.get(name)!.op, x, x.length, 0, 0)!;
      let worst = 0, at = 0;
      for (let i = 0; i < x.length; i++) {
        const u = ulps(got[i], Math.fround(fn(x[i])));
        if (u > worst) [worst, at] = [u, i];
      }
      expect(worst, `${name}(${x[at]}) = ${got[at]}, Math.${name} gives ${Math.fround(fn(x[at]))}`).toBeLessThanOrEqual(2);
      const specials = [0, -0, Infinity, -Infinity, NaN, -1, 1, 1e-45, -1e-45];
      const s = wasmUnary(rt!, wg.elementwiseOps.get(name)!.op, Float32Array.from(specials), specials.length, 0, 0)!;
      expect(Array.from(s)).toEqual(specials.map((v) => Math.fround(fn(Math.fround(v)))));
    });
  }
});

describe.skipIf(!rt)('wasm elementwise kernels give the same bits on 1, 2 and 3 threads', () => {
  it('unary, same-shape and broadcast binary, and where, over sizes that split unevenly', () => {
    const n = 300_007;
    const x = inputs(n, 1), y = inputs(n, 2);
    const c = Float32Array.from(x, (v) => (v > 0 ? 1 : 0));
    const nchw: Shape = [8, 32, 31, 37], ch: Shape = [1, 32, 1, 1];
    const big = inputs(sizeOfShape(nchw), 3), bias = inputs(32, 4);
    const get = (name: string) => wg.elementwiseOps.get(name)!.op;
    const runs = [1, 2, 3].map((threads) => {
      rt!.setThreads(threads);
      expect(rt!.threads).toBe(threads);
      return [
        wasmUnary(rt!, get('sigmoid'), x, n, 0, 0)!, wasmUnary(rt!, get('gelu'), x, n, 0, 0)!,
        wasmBinary(rt!, get('mul'), x, [n], y, [n], [n])!, wasmBinary(rt!, get('add'), x, [n], y.subarray(0, 1), [1], [n])!,
        wasmBinary(rt!, get('add'), big, nchw, bias, ch, nchw)!, wasmBinary(rt!, get('reluGrad'), big, nchw, bias, ch, nchw)!,
        wasmWhere(rt!, c, [n], x, [n], y, [n], [n]),
      ];
    });
    for (let t = 1; t < runs.length; t++) {
      runs[t].forEach((r, i) => expectClose(r, runs[0][i], `result ${i} on ${t + 1} threads`, true));
    }
  });
});

describe.skipIf(!rt)('the cpu backend runs float32 elementwise ops on the WASM kernels', () => {
  it('exp, mul and where of float32 tensors are the WASM results; float64 stays on the JS loops', async () => {
    await wg.useDevice('cpu');
    const v = inputs(1000, 7);
    const t = wg.tensor(v, { shape: [1000] });
    const expOp = wg.elementwiseOps.get('exp')!.op;
    expectClose(t.exp().dataSync() as Float32Array, wasmUnary(rt!, expOp, v, 1000, 0, 0)!, 'exp', true);
    const t64 = wg.tensor(v, { shape: [1000], dtype: 'float64' });
    const ref = new Float64Array(1000);
    unaryLoop(expOp, false)(Float64Array.from(v), ref, 0, 0);
    expect(Array.from(t64.exp().dataSync())).toEqual(Array.from(ref));
    const m = wg.tensor(v.slice(0, 6), { shape: [2, 3] }).mul(wg.tensor([1, 2, 3]));
    expect(Array.from(m.dataSync())).toEqual(Array.from(refBinary(wg.elementwiseOps.get('mul')!.op, v.slice(0, 6), [2, 3], Float32Array.from([1, 2, 3]), [1, 3], [2, 3])));
    expect(Array.from(wg.where(wg.tensor([1, 0]), wg.tensor([5, 6]), 7).dataSync())).toEqual([5, 7]);
  });

  it("relu's backward is one kernel that passes g where x > 0 and gradchecks with its own gradient", () => {
    const x = wg.tensor([-1, 2, 0, 3], { requiresGrad: true });
    x.relu().backward(wg.tensor([10, 20, 30, NaN]));
    expect(Array.from(x.grad!.dataSync())).toEqual([0, 20, 0, NaN]);
    for (const name of ['reluGrad', 'sigmoidGrad']) {
      const fn = wg.elementwiseOps.get(name) as unknown as (a: wg.Tensor, b: wg.Tensor) => wg.Tensor;
      const g = wg.tensor([0.3, -1.2, 0.7, 2, -0.4], { dtype: 'float64', requiresGrad: true });
      const s = wg.tensor([0.6, 0.2, -0.5, 0.9, 0.35], { dtype: 'float64', requiresGrad: true });
      expect(wg.gradcheck(fn, [g, s], { atol: 1e-6, rtol: 1e-4 }).checked, name).toBeGreaterThan(0);
    }
  });
});
