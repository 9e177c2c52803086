/**
 * The WASM SIMD kernels against the plain-JavaScript reference kernels, on seeded random
 * float32 inputs with odd shapes, transposes, batches, broadcast batches and every conv
 * option; and the same bits for 1, 2 and 3 threads.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ConvParams } from '../src/backend';
import { sizeOf, type MatmulParams } from '@webgrad/kernels-ir';
import { matmul } from '../src/backends/cpu/kernels/matmul';
import { convBackwardInput, convBackwardWeight, convForward } from '../src/backends/cpu/kernels/conv';
import { batchNorm, batchNormBackward } from '../src/backends/cpu/kernels/batch-norm';
import { maxPool } from '../src/backends/cpu/kernels/pool';
import type { PoolParams } from '../src/backend';
import { wasmRuntime, defaultThreads, WasmRuntime } from '../src/backends/cpu/wasm/runtime';
import { directIm2colFits, wasmBatchNorm, wasmBatchNormBackward, wasmMaxPool, wasmConvBackwardInput, wasmConvBackwardWeight, wasmConvForward, wasmMatmul } from '../src/backends/cpu/wasm/kernels';
import { installWasmNodeHost } from '../src/backends/cpu/wasm/node-host';
import { randomF32 } from './helpers/rng';

installWasmNodeHost();
const rt = wasmRuntime();
afterAll(() => rt?.setThreads(defaultThreads()));

const rand = randomF32;

/** |a - e| <= tol * (1 + |e|) elementwise, scaled by the reduction length through tol. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i]));
    if (!(err <= tol)) expect.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]} (err ${err.toExponential(2)})`);
  }
}

const bitsEqual = (a: Float32Array, b: Float32Array) =>
  a.length === b.length && new Uint32Array(a.buffer, a.byteOffset, a.length).every((v, i) => v === new Uint32Array(b.buffer, b.byteOffset, b.length)[i]);

function matmulCase(batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean, broadcast: 'none' | 'a' | 'b'): MatmulParams {
  return {
    batch, m, n, k, transA, transB,
    aBatchStride: broadcast === 'a' ? 0 : m * k,
    bBatchStride: broadcast === 'b' ? 0 : k * n,
  };
}

const sizes = [1, 3, 7, 17, 65, 130];

describe.skipIf(!rt)('wasm matmul equals the JS reference', () => {
  let seed = 1;
  for (const m of sizes) {
    for (const n of [1, 8, 17, 130]) {
      for (const k of [1, 7, 65, 300]) {
        const tA = (m + n + k) % 2 === 0, tB = (m * n + k) % 3 === 0;
        it(`m ${m} n ${n} k ${k} transA ${tA} transB ${tB}`, () => {
          const p = matmulCase(1, m, n, k, tA, tB, 'none');
          const a = rand(m * k, seed++), b = rand(k * n, seed++);
          expectClose(wasmMatmul(rt!, a, b, p), matmul(a, b, p), 1e-5 * Math.sqrt(k) + 1e-6, 'C');
        });
      }
    }
  }
  for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    for (const broadcast of ['none', 'a', 'b'] as const) {
      it(`batch 5 of 17x33x19, transA ${tA} transB ${tB}, broadcast ${broadcast}`, () => {
        const p = matmulCase(5, 17, 33, 19, tA, tB, broadcast);
        const a = rand(broadcast === 'a' ? 17 * 19 : 5 * 17 * 19, seed++), b = rand(broadcast === 'b' ? 19 * 33 : 5 * 19 * 33, seed++);
        expectClose(wasmMatmul(rt!, a, b, p), matmul(a, b, p), 1e-5, 'C');
      });
    }
  }
  it('k = 0 gives zeros, and m = 0 an empty result', () => {
    expect(Array.from(wasmMatmul(rt!, new Float32Array(0), new Float32Array(0), matmulCase(1, 2, 3, 0, false, false, 'none')))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(wasmMatmul(rt!, new Float32Array(0), rand(12, 3), matmulCase(1, 0, 3, 4, false, false, 'none')).length).toBe(0);
  });
});

function conv(spatial: number[], o: { batch?: number; cin?: number; cout?: number; kernel?: number[]; stride?: number[]; padding?: number[]; dilation?: number[]; groups?: number }): ConvParams {
  const r = spatial.length;
  const kernel = o.kernel ?? Array(r).fill(3), stride = o.stride ?? Array(r).fill(1);
  const padding = o.padding ?? Array(r).fill(0), dilation = o.dilation ?? Array(r).fill(1);
  const outSize = spatial.map((s, d) => Math.floor((s + 2 * padding[d] - dilation[d] * (kernel[d] - 1) - 1) / stride[d]) + 1);
  return {
    batch: o.batch ?? 2, inChannels: o.cin ?? 3, outChannels: o.cout ?? 4, groups: o.groups ?? 1,
    inSize: spatial, kernel, outSize, stride, padding, dilation,
  };
}

/** The reference's padding is "before each dim, reads past the end are zero": the same padding after. */
const convCases: [string, ConvParams][] = [
  ['2d 3x3', conv([7, 9], {})],
  ['2d 3x3 pad 1, 64x3x32x32 -> 32', conv([32, 32], { batch: 3, cin: 3, cout: 32, padding: [1, 1] })],
  ['2d stride 2 pad 1', conv([9, 11], { stride: [2, 2], padding: [1, 1], cin: 5, cout: 7 })],
  ['2d dilation 2 pad 2', conv([10, 8], { dilation: [2, 2], padding: [2, 2] })],
  ['2d dilation 5 stride 3 pad (3, 4)', conv([17, 19], { dilation: [5, 3], stride: [3, 2], padding: [3, 4], kernel: [3, 2] })],
  ['2d groups 2', conv([6, 6], { cin: 6, cout: 4, groups: 2, padding: [1, 1] })],
  ['2d depthwise', conv([5, 7], { cin: 5, cout: 10, groups: 5, kernel: [3, 1] })],
  ['2d 1x1', conv([4, 6], { cin: 9, cout: 5, kernel: [1, 1] })],
  ['2d 1x1 stride 2', conv([5, 6], { cin: 9, cout: 5, kernel: [1, 1], stride: [2, 2] })],
  ['2d kernel larger than input with padding', conv([2, 3], { kernel: [5, 5], padding: [2, 2] })],
  ['2d size-1 dims', conv([1, 1], { batch: 1, cin: 1, cout: 1, kernel: [1, 1] })],
  ['2d 64 channels 8x8 -> 17', conv([8, 8], { batch: 5, cin: 64, cout: 17, padding: [1, 1] })],
  ['1d', conv([13], { kernel: [4], stride: [2], padding: [1] })],
  ['1d dilation 3 groups 3', conv([20], { cin: 6, cout: 9, groups: 3, kernel: [3], dilation: [3] })],
  ['3d', conv([4, 5, 6], { kernel: [2, 3, 3], padding: [1, 1, 0], stride: [1, 2, 1] })],
  ['3d dilation', conv([5, 6, 7], { kernel: [2, 2, 2], dilation: [2, 3, 1], cin: 2, cout: 3 })],
];

/** Random x, w, bias and gy of a convolution (seeds seed..seed+3), and the tolerance for its sums' length. */
function convOperands(p: ConvParams, seed: number) {
  const L = sizeOf(p.outSize), plane = sizeOf(p.inSize), K = sizeOf(p.kernel);
  return {
    x: rand(p.batch * p.inChannels * plane, seed),
    w: rand(p.outChannels * (p.inChannels / p.groups) * K, seed + 1),
    bias: rand(p.outChannels, seed + 2),
    gy: rand(p.batch * p.outChannels * L, seed + 3),
    tol: 1e-5 * Math.sqrt(p.batch * L * K * p.inChannels) + 1e-6,
  };
}

describe.skipIf(!rt)('wasm convolution equals the JS reference', () => {
  let seed = 100;
  for (const [name, p] of convCases) {
    it(name, () => {
      const { x, w, bias, gy, tol } = convOperands(p, seed);
      seed += 4;
      expectClose(wasmConvForward(rt!, x, w, bias, p), convForward(x, w, bias, p), tol, 'y');
      expectClose(wasmConvForward(rt!, x, w, null, p), convForward(x, w, null, p), tol, 'y without bias');
      expectClose(wasmConvBackwardInput(rt!, gy, w, p), convBackwardInput(gy, w, p), tol, 'gx');
      expectClose(wasmConvBackwardWeight(rt!, x, gy, p), convBackwardWeight(x, gy, p), tol, 'gw');
    });
  }
});

/**
 * Output widths that are multiples of 4 can take the direct path (im2col values packed straight
 * into the GEMM panels). It must give the bits of the materialised columns: row edges,
 * strides, dilation, groups, 1-D and 3-D, partial panels (widths 4 and 12), item groups of
 * several items, several KC blocks of rows (cin·K > 256) and NC blocks of columns (> 512).
 */
const directCases: [string, ConvParams][] = [
  ['2d 3x3 pad 1, 8x8, 64 channels (several items per product)', conv([8, 8], { batch: 9, cin: 64, cout: 20, padding: [1, 1] })],
  ['2d 3x3 pad 1, 32x32 (NC blocks), 40 channels (KC blocks)', conv([32, 32], { batch: 2, cin: 40, cout: 9, padding: [1, 1] })],
  ['2d 3x3 pad 1, 4x4 (half panels)', conv([4, 4], { batch: 3, cin: 30, cout: 13, padding: [1, 1] })],
  ['2d 3x12 output width 12 pad (2, 3)', conv([5, 10], { batch: 2, cin: 7, cout: 11, kernel: [3, 3], padding: [2, 2] })],
  ['2d stride 2 pad 1 (gathered lanes)', conv([16, 15], { batch: 4, cin: 9, cout: 17, stride: [2, 2], padding: [1, 1] })],
  ['2d 1x1 stride 2', conv([16, 16], { batch: 3, cin: 33, cout: 10, kernel: [1, 1], stride: [2, 2] })],
  ['2d dilation 3 pad 3', conv([12, 8], { batch: 2, cin: 6, cout: 7, dilation: [3, 3], padding: [3, 3] })],
  ['2d groups 3', conv([6, 8], { batch: 2, cin: 9, cout: 6, groups: 3, padding: [1, 1] })],
  ['2d kernel larger than input', conv([3, 4], { batch: 2, cin: 3, cout: 5, kernel: [5, 5], padding: [2, 2] })],
  ['1d stride 2', conv([13], { batch: 3, cin: 5, cout: 6, kernel: [3], stride: [2], padding: [2] })],
  ['3d', conv([4, 5, 8], { batch: 2, cin: 3, cout: 5, kernel: [2, 3, 3], padding: [1, 1, 1], stride: [1, 2, 1] })],
];

describe.skipIf(!rt)('wasm convolution: im2col packed into the GEMM panels gives the bits of the materialised columns', () => {
  let seed = 300;
  for (const [name, p] of directCases) {
    it(name, () => {
      expect(directIm2colFits(p), 'the case takes the direct path').toBe(true);
      const { x, w, bias, gy, tol } = convOperands(p, seed);
      seed += 4;
      for (const threads of [1, 3]) {
        rt!.setThreads(threads);
        const y = wasmConvForward(rt!, x, w, bias, p, { direct: true });
        expectClose(y, convForward(x, w, bias, p), tol, 'y');
        expect(bitsEqual(y, wasmConvForward(rt!, x, w, bias, p, { direct: false })), `y bits on ${threads} threads`).toBe(true);
        const gw = wasmConvBackwardWeight(rt!, x, gy, p, { direct: true });
        expectClose(gw, convBackwardWeight(x, gy, p), tol, 'gw');
        expect(bitsEqual(gw, wasmConvBackwardWeight(rt!, x, gy, p, { direct: false })), `gw bits on ${threads} threads`).toBe(true);
      }
      rt!.setThreads(defaultThreads());
    });
  }
});

describe.skipIf(!rt)('wasm batch norm equals the JS reference', () => {
  let seed = 500;
  for (const [n, c, s] of [[1, 1, 1], [2, 3, 5], [7, 17, 9], [64, 5, 64], [3, 130, 1], [1, 2, 1031]]) {
    for (const affine of [true, false]) {
      it(`n ${n} c ${c} s ${s}${affine ? ' with weight and bias' : ''}`, () => {
        const p = { n, c, s, eps: 1e-5 };
        const x = rand(n * c * s, seed++).map((v, i) => v * 3 + (i % 7));
        const w = affine ? rand(c, seed++) : null, b = affine ? rand(c, seed++) : null;
        const gy = rand(n * c * s, seed++);
        const ref = batchNorm(x, w, b, p), got = wasmBatchNorm(rt!, x, w, b, p);
        expectClose(got.mean, ref.mean, 1e-5, 'mean');
        expectClose(got.invstd, ref.invstd, 1e-4, 'invstd');
        expectClose(got.y, ref.y, 1e-4, 'y');
        const refB = batchNormBackward(gy, x, ref.mean, ref.invstd, w, p);
        const gotB = wasmBatchNormBackward(rt!, gy, x, ref.mean as Float32Array, ref.invstd as Float32Array, w, p);
        expectClose(gotB.gbias, refB.gbias, 1e-5 * Math.sqrt(n * s), 'gbias');
        expectClose(gotB.gweight, refB.gweight, 1e-5 * Math.sqrt(n * s), 'gweight');
        expectClose(gotB.gx, refB.gx, 1e-4, 'gx');
      });
    }
  }
});

function pool(planes: number, inSize: number[], o: { kernel: number[]; stride?: number[]; padding?: number[]; dilation?: number[]; ceil?: boolean }): PoolParams {
  const r = inSize.length;
  const stride = o.stride ?? o.kernel, padding = o.padding ?? Array(r).fill(0), dilation = o.dilation ?? Array(r).fill(1);
  const round = o.ceil ? Math.ceil : Math.floor;
  const outSize = inSize.map((s, d) => round((s + 2 * padding[d] - dilation[d] * (o.kernel[d] - 1) - 1) / stride[d]) + 1);
  return { planes, inSize, kernel: o.kernel, outSize, stride, padding, dilation, countIncludePad: false };
}

describe.skipIf(!rt)('wasm max pooling equals the JS reference', () => {
  let seed = 700;
  const cases: [string, PoolParams][] = [
    ['2d 2x2', pool(6, [8, 8], { kernel: [2, 2] })],
    ['2d 3x3 stride 2 pad 1 odd sizes', pool(5, [9, 7], { kernel: [3, 3], stride: [2, 2], padding: [1, 1] })],
    ['2d dilation 2, ceil mode (clipped last windows)', pool(3, [7, 10], { kernel: [2, 3], stride: [3, 3], dilation: [2, 1], ceil: true })],
    ['1d', pool(4, [13], { kernel: [3], stride: [2], padding: [1] })],
    ['3d', pool(2, [4, 5, 6], { kernel: [2, 2, 3], stride: [1, 2, 2] })],
    ['size-1 dims', pool(1, [1, 1], { kernel: [1, 1] })],
    ['many planes (threads)', pool(64 * 32, [16, 16], { kernel: [2, 2] })],
    // the 2×2 stride-2 SIMD kernel: odd sizes leave a last row and column out of every window
    ['2d 2x2, odd input (the SIMD kernel)', pool(5, [9, 17], { kernel: [2, 2] })],
    ['2d 2x2, 5 outputs a row (the generic loop)', pool(3, [10, 11], { kernel: [2, 2] })],
  ];
  for (const [name, p] of cases) {
    it(name, () => {
      const plane = p.inSize.reduce((a, b) => a * b, 1);
      const x = rand(p.planes * plane, seed++);
      x[3] = NaN; // NaN wins its window, as in PyTorch
      if (x.length > 10) x[10] = x[11]; // a tie keeps the first
      const ref = maxPool(x, p), got = wasmMaxPool(rt!, x, p);
      expect(Array.from(got.argmax)).toEqual(Array.from(ref.argmax));
      expect(Array.from(got.out)).toEqual(Array.from(ref.out));
    });
  }
});

describe.skipIf(!rt)('wasm 2×2 max pooling with NaN, ±Infinity, ±0 and ties anywhere in its windows', () => {
  it('gives the reference\'s bits, values and argmax, on 1 and 3 threads', () => {
    const specials = [NaN, Infinity, -Infinity, 0, -0, 1, 1, -2];
    const p = pool(37, [6, 16], { kernel: [2, 2] });
    const x = Float32Array.from(randomF32(p.planes * 96, 31), (u) => specials[Math.floor(((u + 1) / 2) * specials.length)]);
    const ref = maxPool(x, p);
    for (const threads of [1, 3]) {
      rt!.setThreads(threads);
      const got = wasmMaxPool(rt!, x, p);
      expect(Array.from(got.argmax)).toEqual(Array.from(ref.argmax));
      expect(Array.from(new Uint32Array(got.out.buffer, got.out.byteOffset, got.out.length))).toEqual(Array.from(new Uint32Array(ref.out.buffer, ref.out.byteOffset, ref.out.length)));
    }
    rt!.setThreads(defaultThreads());
  });
});

describe.skipIf(!rt)('wasm kernels give the same bits on 1, 2 and 3 threads', () => {
  it('matmul (split over columns, rows and the batch), the three conv kernels, batch norm and max pooling', () => {
    const runs = [1, 2, 3].map((threads) => {
      rt!.setThreads(threads);
      expect(rt!.threads).toBe(threads);
      const out: Float32Array[] = [];
      for (const [seed, p] of [
        [1, matmulCase(1, 64, 700, 300, false, false, 'none')],
        [2, matmulCase(1, 700, 24, 300, true, false, 'none')],
        [3, matmulCase(6, 90, 70, 130, false, true, 'b')],
      ] as const) {
        out.push(wasmMatmul(rt!, rand(p.batch * p.m * p.k, seed), rand(p.batch * p.k * p.n, seed + 10), p));
      }
      const p = conv([16, 16], { batch: 7, cin: 12, cout: 20, padding: [1, 1] });
      const x = rand(7 * 12 * 256, 5), w = rand(20 * 12 * 9, 6), gy = rand(7 * 20 * 256, 7);
      out.push(wasmConvForward(rt!, x, w, rand(20, 8), p), wasmConvBackwardInput(rt!, gy, w, p), wasmConvBackwardWeight(rt!, x, gy, p));
      const bn = { n: 64, c: 20, s: 600, eps: 1e-5 };
      const bx = rand(64 * 20 * 600, 11), bgy = rand(64 * 20 * 600, 12);
      const f = wasmBatchNorm(rt!, bx, rand(20, 9), rand(20, 10), bn);
      const b = wasmBatchNormBackward(rt!, bgy, bx, f.mean, f.invstd, rand(20, 9), bn);
      out.push(f.y, f.mean, f.invstd, b.gx, b.gweight, b.gbias);
      out.push(wasmMaxPool(rt!, bx, { planes: 64 * 20, inSize: [20, 30], kernel: [3, 3], outSize: [10, 15], stride: [2, 2], padding: [1, 1], dilation: [1, 1], countIncludePad: false }).out);
      return out;
    });
    for (let t = 1; t < runs.length; t++) {
      runs[t].forEach((r, i) => expect(bitsEqual(r, runs[0][i]), `result ${i} on ${t + 1} threads`).toBe(true));
    }
  });
});

describe.skipIf(!rt)('a runtime on a plain (unshared) memory, as in a page without cross-origin isolation', () => {
  it('runs one thread and hands out results that survive the memory growing', () => {
    const plain = new WasmRuntime({ relaxed: rt!.relaxed, shared: false });
    plain.setThreads(4);
    expect(plain.threads).toBe(1);
    const p = matmulCase(1, 65, 130, 17, false, true, 'none');
    const a = rand(65 * 17, 1), b = rand(130 * 17, 2);
    const first = wasmMatmul(plain, a, b, p);
    expect(plain.addressOf(first)).toBeNull(); // a JS-heap copy
    const before = plain.memoryUse().size;
    const big = 4 * before; // forces a growth
    const q = matmulCase(1, 1, big / 4, 1, false, false, 'none');
    wasmMatmul(plain, rand(1, 3), rand(big / 4, 4), q);
    expect(plain.memoryUse().size).toBeGreaterThan(before);
    expectClose(first, matmul(a, b, p), 1e-5, 'C after growth');
    const c = conv([9, 11], { stride: [2, 2], padding: [1, 1], cin: 5, cout: 7 });
    const x = rand(2 * 5 * 99, 5), w = rand(7 * 5 * 9, 6);
    expectClose(wasmConvForward(plain, x, w, null, c), convForward(x, w, null, c), 1e-4, 'y');
    // the parameter blocks are written after the scratch that grows the memory is allocated
    const fresh = new WasmRuntime({ relaxed: rt!.relaxed, shared: false });
    const long = conv([300_000], { batch: 1, cin: 2, cout: 16, kernel: [3], padding: [1] });
    const lx = rand(2 * 300_000, 7), lw = rand(16 * 2 * 3, 8);
    expectClose(wasmConvForward(fresh, lx, lw, null, long), convForward(lx, lw, null, long), 1e-4, 'y of a conv that grows the memory');
  });
});
