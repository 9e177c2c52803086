/**
 * Ops whose tensors exceed the binding limit (maxStorageBufferBindingSize) but fit in a
 * buffer run in parts that bind sub-ranges. A backend asked for a 64 KiB binding limit
 * (16,384 floats) enforces it itself, so every op below must split or it throws; each
 * matches the cpu backend on odd shapes. Both kernel variants. Skipped without an adapter,
 * except under CI=true.
 */
import { adamSteps, sgdSteps } from './helpers/optim-steps';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConvParams, PoolParams, ReduceOp } from '../src/backend';
import { elementwiseOps } from '../src/ops/elementwise';
import { openBackend } from './helpers/webgpu-backend';
import { DeviceLimitError } from '../src/limits';
import { Pair, convOut, prod, randoms, sameBatchNorm } from './helpers/backend-pair';

const LIMIT = 64 * 1024;

const open = (variant?: 'registers' | 'tiled') => openBackend({ variant, limits: { maxStorageBufferBindingSize: LIMIT } });

const main = await open();
const other = main.gpu ? await open(main.gpu.variant === 'registers' ? 'tiled' : 'registers') : { gpu: null, reason: '' };
afterAll(async () => {
  await main.gpu?.destroy();
  await other.gpu?.destroy();
});

const op = (name: string) => elementwiseOps.get(name)!.op;
const { randF, randI } = randoms(99);

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

const VARIANTS = [['', main], [' (other kernel variant)', other]] as const;

function convParams(batch: number, inC: number, outC: number, groups: number, inSize: number[], kernel: number[], o: { stride?: number[]; padding?: number[] } = {}): ConvParams {
  const n = inSize.length;
  const stride = o.stride ?? new Array(n).fill(1), padding = o.padding ?? new Array(n).fill(0), dilation = new Array(n).fill(1);
  const outSize = inSize.map((l, i) => convOut(l, kernel[i], stride[i], padding[i], 1));
  return { batch, inChannels: inC, outChannels: outC, groups, inSize, kernel, outSize, stride, padding, dilation };
}

function poolParams(planes: number, inSize: number[], kernel: number[], o: { stride?: number[]; padding?: number[] } = {}): PoolParams {
  const n = inSize.length;
  const stride = o.stride ?? kernel, padding = o.padding ?? new Array(n).fill(0), dilation = new Array(n).fill(1);
  const outSize = inSize.map((l, i) => convOut(l, kernel[i], stride[i], padding[i], 1));
  return { planes, inSize, kernel, outSize, stride, padding, dilation, countIncludePad: true };
}

describe.skipIf(!main.gpu)(`webgpu products, convolutions and nn ops split (${main.reason})`, () => {
  for (const [label, which] of VARIANTS) {
    it(`matmul by rows, by batch items and by k (summed)${label}`, async () => {
      const Q = new Pair(which.gpu!);
      const cases: [number, number, number, number, boolean, boolean, 'ab' | 'a' | 'b'][] = [
        [1, 3001, 37, 29, false, false, 'ab'], [1, 3001, 37, 29, false, true, 'ab'],
        [7, 61, 45, 53, false, false, 'ab'], [7, 61, 45, 53, true, true, 'ab'], [9, 300, 20, 31, false, false, 'a'],
        [3, 700, 19, 30, false, false, 'a'], [1, 37, 29, 5001, true, false, 'ab'],
      ];
      for (const [batch, m, n, k, transA, transB, strided] of cases) {
        const aB = strided.includes('a') && batch > 1 ? m * k : 0, bB = strided.includes('b') && batch > 1 ? k * n : 0;
        const A = Q.up(randF(aB === 0 ? m * k : batch * m * k)), B = Q.up(randF(bB === 0 ? k * n : batch * k * n));
        const p = { batch, m, n, k, transA, transB, aBatchStride: aB, bBatchStride: bB };
        await Q.same(Q.both((be, i) => be.matmul(A[i], B[i], p, 'float32')), batch * m * n, `matmul ${JSON.stringify(p)}`, 'float32', 2e-4 * Math.sqrt(k / 30));
      }
    });

    it(`convolution forward, input and weight gradients by batch items${label}`, async () => {
      const Q = new Pair(which.gpu!);
      const cases: [string, ConvParams][] = [
        ['3x3 pad 1, 3 -> 8 channels', convParams(23, 3, 8, 1, [31, 29], [3, 3], { padding: [1, 1] })],
        ['stride 2, 6 -> 17 channels, odd item size', convParams(13, 6, 17, 1, [23, 21], [3, 3], { stride: [2, 2], padding: [1, 1] })],
        ['depthwise', convParams(11, 8, 8, 8, [27, 25], [3, 3], { padding: [1, 1] })],
        ['1-D', convParams(17, 5, 20, 1, [301], [5], { padding: [2] })],
      ];
      for (const [name, p] of cases) {
        const K = prod(p.kernel), L = prod(p.outSize);
        const x = Q.up(randF(p.batch * p.inChannels * prod(p.inSize)));
        const w = Q.up(randF(p.outChannels * (p.inChannels / p.groups) * K));
        const bias = Q.up(randF(p.outChannels));
        const gy = Q.up(randF(p.batch * p.outChannels * L));
        await Q.same(Q.both((be, i) => be.conv(x[i], w[i], bias[i], p, 'float32')), p.batch * p.outChannels * L, `conv ${name}`);
        await Q.same(Q.both((be, i) => be.convBackwardInput(gy[i], w[i], p, 'float32')), p.batch * p.inChannels * prod(p.inSize), `convBackwardInput ${name}`);
        const [gw, cw] = Q.both((be, i) => be.convBackwardWeight(x[i], gy[i], p, 'float32', true));
        await Q.same([gw.weight, cw.weight], p.outChannels * (p.inChannels / p.groups) * K, `convBackwardWeight ${name}`, 'float32', 1e-3);
        await Q.same([gw.bias!, cw.bias!], p.outChannels, `convBackwardWeight's bias gradient ${name}`, 'float32', 1e-3);
      }
    });
  }

  it('pooling by planes, forward and backward', async () => {
    const P = new Pair(main.gpu!);
    for (const [name, p] of [
      ['2x2', poolParams(130, [13, 17], [2, 2])],
      ['3x3 stride 1 pad 1 (overlapping)', poolParams(97, [15, 13], [3, 3], { stride: [1, 1], padding: [1, 1] })],
    ] as [string, PoolParams][]) {
      const inN = p.planes * prod(p.inSize), outN = p.planes * prod(p.outSize);
      const x = P.up(randF(inN)), gy = P.up(randF(outN));
      const [g, c] = P.both((be, i) => be.maxPool(x[i], p, 'float32'));
      await P.same(P.both((be, i) => be.maxPoolBackward(gy[i], [g.argmax, c.argmax][i], p, 'float32')), inN, `maxPoolBackward ${name}`);
      await P.same([g.out, c.out], outN, `maxPool ${name}`);
      await P.same([g.argmax, c.argmax], outN, `maxPool argmax ${name}`, 'int32');
      await P.same(P.both((be, i) => be.avgPool(x[i], p, 'float32')), outN, `avgPool ${name}`);
      await P.same(P.both((be, i) => be.avgPoolBackward(gy[i], p, 'float32')), inN, `avgPoolBackward ${name}`);
    }
  });

  it('batch norm: statistics of the parts combined, gradient sums added up', async () => {
    const P = new Pair(main.gpu!);
    for (const [n, c, s] of [[37, 5, 111], [300, 3, 97], [9, 17, 149]]) {
      await sameBatchNorm(P, [n, c, s], randF);
    }
  });

  it('crossEntropy and its backward by rows (the one-workgroup forward does not bind)', async () => {
    const P = new Pair(main.gpu!);
    for (const [rows, cols] of [[3001, 17], [70, 1001], [9, 5001]]) {
      const x = P.up(randF(rows * cols, -8, 8)), t = P.up(randI(rows, 0, cols - 1));
      for (const reduction of ['mean', 'sum', 'none'] as const) {
        const p = { reduction, labelSmoothing: 0.1 }, name = `crossEntropy ${rows}x${cols} ${reduction}`;
        const [fg, fc] = P.both((be, i) => be.crossEntropy(x[i], t[i], rows, cols, p, 'float32'));
        const g = P.up(randF(reduction === 'none' ? rows : 1, 0.5, 2));
        const gx = P.both((be, i) => be.crossEntropyBackward(g[i], x[i], [fg.lse, fc.lse][i], t[i], rows, cols, p, 'float32'));
        await P.same([fg.loss, fc.loss], reduction === 'none' ? rows : 1, `${name} loss`, 'float32', 1e-5);
        await P.same([fg.lse, fc.lse], rows, `${name} lse`, 'float32', 1e-5);
        await P.same(gx, rows * cols, `${name} gx`, 'float32', 1e-5);
      }
    }
  });

  it('softmax by rows, optimizer steps and fill by element ranges', async () => {
    const P = new Pair(main.gpu!);
    for (const [rows, cols] of [[3001, 17], [70, 1001]]) {
      const x = P.up(randF(rows * cols, -20, 20));
      for (const log of [false, true]) await P.same(P.both((be, i) => be.softmax(x[i], rows, cols, log, 'float32')), rows * cols, `softmax ${rows}x${cols} log=${log}`);
    }
    const n = 40_001;
    const sgd = { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 1e-2, nesterov: true, firstStep: false };
    const w = P.up(randF(n)), g = P.up(randF(n)), m = P.up(randF(n)), v = P.up(randF(n, 0, 1));
    P.both((be, i) => sgdSteps(be, [{ param: w[i], grad: g[i], momentumBuf: m[i], size: n }], sgd));
    P.both((be, i) => adamSteps(be, [{ param: w[i], grad: g[i], m: m[i], v: v[i], size: n }], { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, decoupled: true, step: 3 }));
    await P.same(w, n, 'param after sgd and adam');
    await P.same(m, n, 'first moment');
    await P.same(v, n, 'second moment');
    await P.same(P.both((be) => be.fill(50_001, 2.5, 'float32')), 50_001, 'fill');
  });

  it('an op that cannot be split this finely is a DeviceLimitError naming the kernel and the limit', () => {
    const gpu = main.gpu!;
    const x = gpu.upload(randF(20_000), 'float32');
    expect(() => gpu.gather(x, [20_000], gpu.upload(randI(20_000, 0, 9), 'int32'), [20_000], 0, 'float32')).toThrow(DeviceLimitError);
    expect(() => gpu.gather(x, [20_000], gpu.upload(randI(20_000, 0, 9), 'int32'), [20_000], 0, 'float32')).toThrow(`maxStorageBufferBindingSize (${LIMIT} bytes)`);
  });
});

describe.skipIf(!main.gpu)(`webgpu copies split (${main.reason})`, () => {
  it('strided copies (slice, expand, permute within rows, a scalar) read windows of a large buffer', async () => {
    const P = new Pair(main.gpu!);
    const x = P.up(randF(41 * 17 * 53)), xi = P.up(randI(41 * 17 * 53, -99, 99));
    const cases: [number[], number[], number][] = [
      [[39, 17, 50], [901, 53, 1], 3 * 53 + 1],   // slice
      [[41, 53, 17], [901, 1, 53], 0],            // permute the inner dims
      [[41, 3, 17, 53], [901, 0, 53, 1], 0],      // expand
      [[1, 1, 30_000], [0, 0, 1], 6_001],         // leading ones
      [[], [], 30_011],                           // one element of a large tensor
    ];
    for (const [shape, strides, off] of cases) {
      await P.same(P.both((be, k) => be.strided(x[k], shape, strides, off, 'float32')), prod(shape), `strided [${shape}] [${strides}] +${off}`);
      await P.same(P.both((be, k) => be.strided(xi[k], shape, strides, off, 'int32')), prod(shape), `strided int32 [${shape}]`, 'int32');
    }
    const dst = P.up(randF(41 * 30 * 53));
    const src = P.up(randF(41 * 13 * 53));
    P.both((be, k) => be.writeStrided(dst[k], src[k], [41, 13, 53], [30 * 53, 53, 1], 17 * 53, 'float32')); // cat along dim 1
    const row = P.up(randF(3 * 30 * 53));
    P.both((be, k) => be.writeStrided(dst[k], row[k], [3, 30, 53], [30 * 53, 53, 1], 38 * 30 * 53, 'float32')); // along dim 0
    await P.same(dst, 41 * 30 * 53, 'writeStrided');
  });

  it('pad along unpadded leading dims (NCHW padding), every mode', async () => {
    const P = new Pair(main.gpu!);
    const shape = [13, 3, 27, 25];
    const pads: [number, number][] = [[0, 0], [0, 0], [1, 2], [3, 1]];
    const x = P.up(randF(prod(shape)));
    const out = prod(shape.map((n, d) => n + pads[d][0] + pads[d][1]));
    for (const mode of ['constant', 'reflect', 'replicate', 'circular'] as const) {
      await P.same(P.both((be, k) => be.pad(x[k], shape, pads, mode, 0.5, 'float32')), out, `pad ${mode}`);
    }
  });
});
