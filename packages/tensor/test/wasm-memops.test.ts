/**
 * The memory-bound WASM kernels (pooling backward, average pooling, reductions, optimizer
 * steps) against the plain-JavaScript reference on seeded random float32 inputs with odd
 * shapes, every option and size-1 dims; and the same bits on 1, 2 and 3 threads.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { PoolParams } from '../src/backend';
import { avgPool, avgPoolBackward, maxPool, maxPoolBackward } from '../src/backends/cpu/kernels/pool';
import { defaultThreads, wasmRuntime, WasmRuntime } from '../src/backends/cpu/wasm/runtime';
import { reduceView, wasmAvgPool, wasmAvgPoolBackward, wasmMaxPoolBackward, wasmReduce, wasmSoftmax, wasmUpdate } from '../src/backends/cpu/wasm/memops';
import { softmax } from '../src/backends/cpu/kernels/softmax';
import { updateLoop } from '../src/backends/cpu/elementwise';
import { adamOp, adamScalars, sgdOp, sgdScalars } from '../src/ops/optim';
import type { AdamParams, SgdParams } from '../src/backend';
import { reduce } from '../src/backends/cpu/reduce';
import { cpuBackend } from '../src/backends/cpu';
import { installWasmNodeHost } from '../src/backends/cpu/wasm/node-host';
import { randomF32 } from './helpers/rng';

installWasmNodeHost();
const rt = wasmRuntime();
afterAll(() => rt?.setThreads(defaultThreads()));

const rand = randomF32;

const bits = (a: Float32Array | Int32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
/** Bit-for-bit equality (NaNs and signed zeros included), reporting the first difference. */
function expectBits(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  const a = bits(actual), e = bits(expected);
  const i = a.findIndex((v, k) => v !== e[k]);
  if (i >= 0) expect.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
}

function pool(planes: number, inSize: number[], o: { kernel: number[]; stride?: number[]; padding?: number[]; dilation?: number[]; ceil?: boolean; includePad?: boolean }): PoolParams {
  const r = inSize.length;
  const stride = o.stride ?? o.kernel, padding = o.padding ?? Array(r).fill(0), dilation = o.dilation ?? Array(r).fill(1);
  const outSize = inSize.map((s, d) => {
    const span = s + 2 * padding[d] - dilation[d] * (o.kernel[d] - 1) - 1;
    let out = (o.ceil ? Math.ceil(span / stride[d]) : Math.floor(span / stride[d])) + 1;
    // PyTorch's rule: the last window must start inside the input or its left padding
    if (o.ceil && (out - 1) * stride[d] >= s + padding[d]) out--;
    return out;
  });
  return { planes, inSize, kernel: o.kernel, outSize, stride, padding, dilation, countIncludePad: o.includePad ?? false };
}

const maxCases: [string, PoolParams][] = [
  ['2d 2x2', pool(6, [8, 8], { kernel: [2, 2] })],
  ['2d 3x3 stride 2 pad 1 odd sizes', pool(5, [9, 7], { kernel: [3, 3], stride: [2, 2], padding: [1, 1] })],
  ['2d overlapping windows (stride 1)', pool(3, [6, 5], { kernel: [3, 2], stride: [1, 1] })],
  ['2d dilation 2, ceil mode', pool(3, [7, 10], { kernel: [2, 3], stride: [3, 3], dilation: [2, 1], ceil: true })],
  ['1d', pool(4, [13], { kernel: [3], stride: [2], padding: [1] })],
  ['3d dilation', pool(2, [5, 6, 7], { kernel: [2, 2, 3], stride: [1, 2, 2], dilation: [2, 1, 2], padding: [1, 0, 1] })],
  ['size-1 dims', pool(1, [1, 1], { kernel: [1, 1] })],
  ['many planes (threads)', pool(64 * 32, [16, 16], { kernel: [2, 2] })],
];

describe.skipIf(!rt)('wasm max pooling backward equals the JS reference', () => {
  let seed = 900;
  for (const [name, p] of maxCases) {
    it(name, () => {
      const plane = p.inSize.reduce((a, b) => a * b, 1), L = p.outSize.reduce((a, b) => a * b, 1);
      const x = rand(p.planes * plane, seed++);
      const gy = rand(p.planes * L, seed++);
      const { argmax } = maxPool(x, p);
      expectBits(wasmMaxPoolBackward(rt!, gy, argmax, p), maxPoolBackward(gy, argmax, p) as Float32Array, 'gx');
    });
  }
  it('an empty window (argmax -1) routes nothing', () => {
    const p = pool(2, [3], { kernel: [2], stride: [2], padding: [1] });
    const argmax = new Int32Array([-1, 1, 0, -1]);
    const gy = new Float32Array([5, 7, 11, 13]);
    expect(Array.from(wasmMaxPoolBackward(rt!, gy, argmax, p))).toEqual([0, 7, 0, 11, 0, 0]);
  });
});

const avgCases: [string, PoolParams][] = [
  ['2d 2x2', pool(6, [8, 8], { kernel: [2, 2] })],
  ['2d 3x3 stride 2 pad 1, count_include_pad', pool(5, [9, 7], { kernel: [3, 3], stride: [2, 2], padding: [1, 1], includePad: true })],
  ['2d 3x3 stride 2 pad 1, padding not counted', pool(5, [9, 7], { kernel: [3, 3], stride: [2, 2], padding: [1, 1] })],
  ['2d ceil mode, clipped last windows, count_include_pad', pool(3, [7, 10], { kernel: [3, 4], stride: [2, 3], padding: [1, 2], ceil: true, includePad: true })],
  ['2d ceil mode, padding not counted', pool(3, [7, 10], { kernel: [3, 4], stride: [2, 3], padding: [1, 2], ceil: true })],
  ['2d overlapping windows', pool(2, [6, 5], { kernel: [3, 2], stride: [1, 1] })],
  ['1d', pool(4, [13], { kernel: [3], stride: [2], padding: [1], includePad: true })],
  ['3d', pool(2, [4, 5, 6], { kernel: [2, 2, 3], stride: [1, 2, 2], padding: [1, 1, 1] })],
  ['size-1 dims', pool(1, [1, 1], { kernel: [1, 1] })],
  ['global average (resnet head)', pool(64 * 17, [4, 4], { kernel: [4, 4] })],
];

describe.skipIf(!rt)('wasm average pooling equals the JS reference', () => {
  let seed = 1000;
  for (const [name, p] of avgCases) {
    it(name, () => {
      const plane = p.inSize.reduce((a, b) => a * b, 1), L = p.outSize.reduce((a, b) => a * b, 1);
      const x = rand(p.planes * plane, seed++), gy = rand(p.planes * L, seed++);
      expectBits(wasmAvgPool(rt!, x, p), avgPool(x, p) as Float32Array, 'out');
      expectBits(wasmAvgPoolBackward(rt!, gy, p), avgPoolBackward(gy, p) as Float32Array, 'gx');
    });
  }
});

/** [shape, axes]: the patterns training hits and odd ones; every reduced-dims pattern the kernel takes. */
const reduceCases: [number[], number[]][] = [
  [[7, 13], [1]], // last axis (loss rows)
  [[64, 10], [0]], // linear bias grad
  [[5, 3, 9, 7], [0, 2, 3]], // conv bias grad
  [[64, 32, 8, 8], [0, 2, 3]],
  [[3, 5, 6], [1]], // middle axis, D > 1 with a tail
  [[2, 3, 4, 5, 3], [0, 2, 3]], // R K R K
  [[1031], [0]], // everything, odd length
  [[6, 1, 7], [0, 1, 2]],
  [[4, 1, 9], [1]], // a size-1 reduced dim only: a copy
  [[1, 1], [0]],
  [[5, 6], []],
  [[9, 1, 3, 1, 7], [0, 1, 3]], // size-1 dims merge away
  [[3, 17, 2], [0, 2]],
  [[130, 3], [1]],
  [[2, 0, 3], [1]], // an empty reduced dim
  [[0, 4], [1]], // no outputs
];

describe.skipIf(!rt)('wasm reductions equal the JS reference', () => {
  let seed = 1200;
  for (const [shape, axes] of reduceCases) {
    for (const op of ['sum', 'max', 'min'] as const) {
      it(`${op} of [${shape}] over [${axes}]`, () => {
        const n = shape.reduce((a, b) => a * b, 1);
        const x = rand(n, seed++).map((v, i) => v * 3 + (i % 5));
        if (n > 20) x[17] = op === 'sum' ? 1e7 : x[17]; // a large value: sums stay exact to f32 rounding
        const outN = shape.filter((_, d) => !axes.includes(d)).reduce((a, b) => a * b, 1);
        const ref = new Float32Array(outN);
        reduce(op, x, shape, axes, ref);
        const got = wasmReduce(rt!, op, x, shape, axes)!;
        expect(got).not.toBeNull();
        if (op !== 'sum') return expectBits(got, ref, op);
        // sums accumulate in f64 (as the reference), in another order only where the run is contiguous
        for (let i = 0; i < outN; i++) expect(Math.abs(got[i] - ref[i]), `sum[${i}]`).toBeLessThanOrEqual(Math.abs(ref[i]) * 2 ** -23);
      });
    }
  }
  it('sums of strided (D > 1) outputs equal the reference bit for bit', () => {
    const shape = [33, 7, 5, 13], x = rand(33 * 7 * 5 * 13, 77), ref = new Float32Array(7 * 13);
    reduce('sum', x, shape, [0, 2], ref);
    expectBits(wasmReduce(rt!, 'sum', x, shape, [0, 2])!, ref, 'sum');
  });
  it('max and min propagate NaN', () => {
    const x = rand(4 * 9, 5);
    x[9 + 2] = NaN; // row 1, and column 2
    for (const op of ['max', 'min'] as const) {
      expect(Array.from(wasmReduce(rt!, op, x, [4, 9], [1])!).map(Number.isNaN)).toEqual([false, true, false, false]);
      expect(Array.from(wasmReduce(rt!, op, x, [4, 9], [0])!).map(Number.isNaN)).toEqual([false, false, true, false, false, false, false, false, false]);
    }
  });
  it('views each pattern as [A, B, C, D] and leaves the rest (and arg ops) to the reference', () => {
    expect(reduceView([7, 13], [1])).toEqual([1, 7, 13, 1]);
    expect(reduceView([64, 10], [0])).toEqual([64, 1, 1, 10]);
    expect(reduceView([64, 32, 8, 8], [0, 2, 3])).toEqual([64, 32, 64, 1]);
    expect(reduceView([1031], [0])).toEqual([1, 1, 1031, 1]);
    expect(reduceView([2, 3, 4, 5], [1, 3])).toBeNull();
    expect(wasmReduce(rt!, 'argmax', rand(6, 1), [2, 3], [1])).toBeNull();
    // the backend falls back to the reference for those
    const x = rand(2 * 3 * 4 * 5, 3);
    const s = cpuBackend.reduce('sum', cpuBackend.upload(x, 'float32'), [2, 3, 4, 5], [1, 3], 'float32') as unknown as Float32Array;
    const ref = new Float32Array(8);
    reduce('sum', x, [2, 3, 4, 5], [1, 3], ref);
    expectBits(s.subarray(0, 8), ref, 'K R K R sum');
  });
});

/** A copy of `a` living in the WASM memory, as the cpu backend's float32 storage does. */
function inMemory(a: Float32Array): Float32Array {
  const m = rt!.allocArray('float32', a.length) as Float32Array;
  m.set(a);
  return m;
}

// The optimizer steps as the op layer runs them: their update op, on the JS reference loop or on WASM.
const sgdArrays = (w: Float32Array, g: Float32Array, buf: Float32Array | null) => [w, g, ...(buf ? [buf] : [])];
const sgdStep = (w: Float32Array, g: Float32Array, buf: Float32Array | null, n: number, p: SgdParams) => updateLoop(sgdOp(p, buf !== null))(sgdArrays(w, g, buf), sgdScalars(p), 0, n);
const wasmSgdStep = (r: WasmRuntime, w: Float32Array, g: Float32Array, buf: Float32Array | null, n: number, p: SgdParams) => wasmUpdate(r, sgdOp(p, buf !== null), sgdArrays(w, g, buf), n, sgdScalars(p));
const adamStep = (w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, p: AdamParams) => updateLoop(adamOp(p))([w, g, m, v], adamScalars(p), 0, n);
const wasmAdamStep = (r: WasmRuntime, w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, p: AdamParams) => wasmUpdate(r, adamOp(p), [w, g, m, v], n, adamScalars(p));

/**
 * The update ops are float32 arithmetic node by node: the JS loop rounds each node to float32
 * (exact for +, −, ×, ÷ and √ computed in f64) and the WASM kernel computes in f32x4, so the
 * results are the reference's bit for bit, in the vector body and the scalar tail alike.
 */
describe.skipIf(!rt)('wasm optimizer steps equal the JS reference bit for bit', () => {
  const n = 1037; // odd, so thread parts and any lane tail are uneven
  let seed = 1500;
  const sgdCases: [string, Omit<SgdParams, 'firstStep'>][] = [
    ['plain', { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false }],
    ['momentum, dampening, weight decay', { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 1e-4, nesterov: false }],
    ['nesterov', { lr: 0.01, momentum: 0.8, dampening: 0, weightDecay: 5e-4, nesterov: true }],
  ];
  for (const [name, p] of sgdCases) {
    it(`SGD ${name}, three steps`, () => {
      const w = rand(n, seed++), wRef = w.slice(), wGot = inMemory(w);
      const buf = p.momentum > 0, bRef = new Float32Array(n), bGot = inMemory(bRef);
      for (let step = 0; step < 3; step++) {
        const g = rand(n, seed++), q = { ...p, firstStep: step === 0 };
        sgdStep(wRef, g, buf ? bRef : null, n, q);
        expect(wasmSgdStep(rt!, wGot, inMemory(g), buf ? bGot : null, n, q)).toBe(true);
        expectBits(wGot, wRef, `w after step ${step + 1}`);
        if (buf) expectBits(bGot, bRef, `momentum after step ${step + 1}`);
      }
    });
  }
  for (const [name, p] of [
    ['Adam', { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false }],
    ['Adam with L2 weight decay', { lr: 3e-3, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.01, decoupled: false }],
    ['AdamW', { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, decoupled: true }],
  ] as [string, Omit<AdamParams, 'step'>][]) {
    it(`${name}, three steps`, () => {
      const w = rand(n, seed++), wRef = w.slice(), wGot = inMemory(w);
      const mRef = new Float32Array(n), vRef = new Float32Array(n), mGot = inMemory(mRef), vGot = inMemory(vRef);
      for (let step = 1; step <= 3; step++) {
        const g = rand(n, seed++), q = { ...p, step };
        adamStep(wRef, g, mRef, vRef, n, q);
        expect(wasmAdamStep(rt!, wGot, inMemory(g), mGot, vGot, n, q)).toBe(true);
        expectBits(wGot, wRef, `w after step ${step}`);
        expectBits(mGot, mRef, `m after step ${step}`);
        expectBits(vGot, vRef, `v after step ${step}`);
      }
    });
  }
  it('declines (and leaves the arrays alone) when an updated array is not in the memory; copies in a gradient that is not', () => {
    const w = rand(8, 1), g = rand(8, 2), before = w.slice();
    expect(wasmAdamStep(rt!, w, inMemory(g), inMemory(g), inMemory(g), 8, { lr: 1, beta1: 0.9, beta2: 0.9, eps: 1e-8, weightDecay: 0, decoupled: false, step: 1 })).toBe(false);
    expect(wasmSgdStep(rt!, inMemory(w), inMemory(g), w, 8, { lr: 1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, firstStep: true })).toBe(false);
    expectBits(w, before, 'w');
    const p = { lr: 0.5, momentum: 0, dampening: 0, weightDecay: 0.1, nesterov: false, firstStep: true };
    const wGot = inMemory(w), wRef = w.slice();
    expect(wasmSgdStep(rt!, wGot, g, null, 8, p)).toBe(true);
    sgdStep(wRef, g, null, 8, p);
    expectBits(wGot, wRef, 'w after a step with a JS-heap gradient');
  });
});

describe.skipIf(!rt)('the memory-bound wasm kernels give the same bits on 1, 2 and 3 threads', () => {
  it('pooling backward, average pooling, every reduction path, the optimizer steps and softmax', () => {
    const p: PoolParams = { planes: 64 * 20, inSize: [20, 30], kernel: [3, 3], outSize: [10, 15], stride: [2, 2], padding: [1, 1], dilation: [1, 1], countIncludePad: false };
    const x = rand(64 * 20 * 600, 11), gy = rand(64 * 20 * 150, 12);
    const { argmax } = maxPool(x, p);
    const runs = [1, 2, 3].map((threads) => {
      rt!.setThreads(threads);
      expect(rt!.threads).toBe(threads);
      const out: Float32Array[] = [
        wasmMaxPoolBackward(rt!, gy, argmax, p),
        wasmAvgPool(rt!, x, { ...p, countIncludePad: true }),
        wasmAvgPoolBackward(rt!, gy, p),
      ];
      // split by b (D = 1 and D > 1), by d (few b), whole-tensor
      for (const [shape, axes] of [[[64, 20, 600], [0, 2]], [[64, 20, 600], [2]], [[64, 12000], [0]], [[3, 256, 1000], [1]], [[768000], [0]]] as [number[], number[]][]) {
        for (const op of ['sum', 'max', 'min'] as const) out.push(wasmReduce(rt!, op, x, shape, axes)!);
      }
      const w = inMemory(x.subarray(0, 300_001)), buf = inMemory(new Float32Array(300_001)), g = inMemory(rand(300_001, 13));
      wasmSgdStep(rt!, w, g, buf, w.length, { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 1e-4, nesterov: true, firstStep: true });
      const m = inMemory(new Float32Array(w.length)), v = inMemory(new Float32Array(w.length));
      wasmAdamStep(rt!, w, g, m, v, w.length, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled: true, step: 1 });
      out.push(w.slice(), buf.slice(), m.slice(), v.slice());
      out.push(wasmSoftmax(rt!, x, 3000, 256, false), wasmSoftmax(rt!, x, 768, 1000, true));
      return out;
    });
    for (let t = 1; t < runs.length; t++) {
      runs[t].forEach((r, i) => expectBits(r, runs[0][i], `result ${i} on ${t + 1} threads`));
    }
  });
});

describe.skipIf(!rt)('the memory-bound kernels on a plain (unshared) memory, as in a page without cross-origin isolation', () => {
  it('copy their inputs in, hand out JS-heap results, and leave in-place steps to the reference', () => {
    const plain = new WasmRuntime({ relaxed: rt!.relaxed, shared: false });
    const x = rand(5 * 3 * 9 * 7, 3), ref = new Float32Array(3);
    reduce('sum', x, [5, 3, 9, 7], [0, 2, 3], ref);
    const got = wasmReduce(plain, 'sum', x, [5, 3, 9, 7], [0, 2, 3])!;
    expect(plain.addressOf(got)).toBeNull();
    for (let i = 0; i < 3; i++) expect(Math.abs(got[i] - ref[i])).toBeLessThanOrEqual(Math.abs(ref[i]) * 2 ** -23);
    const p = maxCases[1][1], plane = 9 * 7, L = p.outSize[0] * p.outSize[1];
    const px = rand(p.planes * plane, 4), gy = rand(p.planes * L, 5), { argmax } = maxPool(px, p);
    expectBits(wasmMaxPoolBackward(plain, gy, argmax, p), maxPoolBackward(gy, argmax, p) as Float32Array, 'gx');
    expectBits(wasmAvgPool(plain, px, p), avgPool(px, p) as Float32Array, 'avg');
    expect(wasmSgdStep(plain, x, x, null, x.length, { lr: 1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, firstStep: true })).toBe(false);
  });
});

/**
 * Softmax rows against the JS reference: the kernel's exp is within 2 ulp of Math.exp (see
 * kernels-wasm's softmax-exp test) and both sum in f64, so results agree to float32 rounding.
 */
describe.skipIf(!rt)('wasm softmax and log-softmax equal the JS reference to float32 rounding', () => {
  let seed = 1700;
  for (const [rows, cols] of [[1, 1], [7, 10], [64, 10], [3, 1031], [130, 2], [5, 3], [1, 4]]) {
    for (const log of [false, true]) {
      it(`${log ? 'log-softmax' : 'softmax'} of [${rows}, ${cols}]`, () => {
        const x = rand(rows * cols, seed++).map((v) => v * 30);
        const ref = softmax(x, rows, cols, log), got = wasmSoftmax(rt!, x, rows, cols, log);
        for (let i = 0; i < ref.length; i++) {
          const tol = 2 ** -23 * Math.max(Math.abs(ref[i]), log ? 1 : 0) + (log ? 0 : 2 ** -30);
          if (!(Math.abs(got[i] - ref[i]) <= tol)) expect.fail(`[${i}]: got ${got[i]}, expected ${ref[i]}`);
        }
      });
    }
  }
  it('rows with NaN, -Infinity or +Infinity behave as in the reference', () => {
    const x = new Float32Array([1, NaN, 2, -Infinity, -Infinity, -Infinity, 0, -Infinity, 3, 5, Infinity, 1]);
    for (const log of [false, true]) {
      const ref = Array.from(softmax(x, 4, 3, log)), got = Array.from(wasmSoftmax(rt!, x, 4, 3, log));
      expect(got).toEqual(ref);
    }
  });
});
