/**
 * Every Backend method on webgpu against the cpu backend, on seeded random inputs with
 * sizes that are not multiples of any tile, every convolution and pooling option, both
 * kernel variants (register GEMMs for CPU-emulated adapters, workgroup-memory tiles for
 * GPUs). One device per variant for the whole file: shader compilation is slow on a
 * software adapter. Without an adapter the suite is skipped, except under CI=true, where
 * that is a failure.
 */
import { adamSteps, sgdSteps } from './helpers/optim-steps';
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, ConvParams, PadMode, PoolParams, ReduceOp, Storage } from '../src/backend';
import { elementwiseOps } from '../src/ops/elementwise';
import { openBackend } from './helpers/webgpu-backend';
import { Pair, convOut, prod, randoms, sameBatchNorm } from './helpers/backend-pair';

// ---------------------------------------------------------------------------------------
// device


const open = (variant?: 'registers' | 'tiled') => openBackend({ variant });

const main = await open();
const other = main.gpu ? await open(main.gpu.variant === 'registers' ? 'tiled' : 'registers') : { gpu: null, reason: '' };

afterAll(async () => {
  await main.gpu?.destroy();
  await other.gpu?.destroy();
});

// ---------------------------------------------------------------------------------------
// helpers

/** The op table's declarations (every elementwise op, internal ones included). */
const table = [...elementwiseOps.values()].map((f) => f.op);
const op = (name: string) => elementwiseOps.get(name)!.op;

const { randF, randI } = randoms(1234);

function convParams(batch: number, inC: number, outC: number, groups: number, inSize: number[], kernel: number[], o: { stride?: number[]; padding?: number[]; dilation?: number[] } = {}): ConvParams {
  const n = inSize.length;
  const stride = o.stride ?? new Array(n).fill(1), padding = o.padding ?? new Array(n).fill(0), dilation = o.dilation ?? new Array(n).fill(1);
  const outSize = inSize.map((l, i) => convOut(l, kernel[i], stride[i], padding[i], dilation[i]));
  return { batch, inChannels: inC, outChannels: outC, groups, inSize, kernel, outSize, stride, padding, dilation };
}

const CONV_CASES: [string, ConvParams][] = [
  ['1-D stride 2 pad 2', convParams(2, 3, 5, 1, [17], [3], { stride: [2], padding: [2] })],
  ['1-D dilation 5', convParams(3, 4, 6, 1, [33], [3], { dilation: [5], padding: [5] })],
  ['2-D 3x3 pad 1', convParams(2, 5, 9, 1, [9, 7], [3, 3], { padding: [1, 1] })],
  ['2-D non-square 2x5, stride (2,1), pad (0,2)', convParams(3, 4, 6, 1, [11, 13], [2, 5], { stride: [2, 1], padding: [0, 2] })],
  ['2-D dilation 2', convParams(2, 6, 8, 1, [13, 12], [3, 3], { dilation: [2, 2], padding: [2, 2] })],
  ['2-D dilation 5, stride 2', convParams(1, 4, 5, 1, [17, 19], [3, 3], { dilation: [5, 5], padding: [5, 3], stride: [2, 2] })],
  ['2-D groups 2', convParams(2, 8, 12, 2, [9, 9], [3, 3], { padding: [1, 1] })],
  ['2-D depthwise (groups = channels)', convParams(2, 6, 6, 6, [10, 9], [3, 3], { padding: [1, 1], stride: [2, 2] })],
  ['2-D 1x1', convParams(3, 7, 17, 1, [5, 6], [1, 1])],
  ['3-D 3x2x3 stride (1,2,1) pad 1 dilation (2,1,1)', convParams(2, 3, 5, 1, [7, 6, 5], [3, 2, 3], { stride: [1, 2, 1], padding: [1, 1, 1], dilation: [2, 1, 1] })],
  ['2-D 3 -> 29 channels over 429 positions (register lanes on rows)', convParams(3, 3, 29, 1, [13, 11], [3, 3], { padding: [1, 1] })],
  ['2-D more channels (tile edges)', convParams(2, 33, 65, 1, [6, 7], [3, 3], { padding: [1, 1] })],
  ['2-D more channels, groups 2, stride 2, dilation 2', convParams(2, 34, 36, 2, [9, 8], [3, 2], { padding: [2, 1], stride: [2, 2], dilation: [2, 2] })],
  ['3-D more channels, stride 2, dilation (1,2,1)', convParams(1, 17, 18, 1, [5, 7, 6], [2, 3, 3], { padding: [1, 2, 1], stride: [2, 1, 2], dilation: [1, 2, 1] })],
];

function poolParams(planes: number, inSize: number[], kernel: number[], o: { stride?: number[]; padding?: number[]; dilation?: number[]; countIncludePad?: boolean } = {}): PoolParams {
  const n = inSize.length;
  const stride = o.stride ?? kernel, padding = o.padding ?? new Array(n).fill(0), dilation = o.dilation ?? new Array(n).fill(1);
  const outSize = inSize.map((l, i) => convOut(l, kernel[i], stride[i], padding[i], dilation[i]));
  return { planes, inSize, kernel, outSize, stride, padding, dilation, countIncludePad: o.countIncludePad ?? true };
}

// ---------------------------------------------------------------------------------------

describe.skipIf(!main.gpu)(`webgpu backend equals cpu (${main.reason})`, () => {
  const gpu = main.gpu!;
  const P = new Pair(gpu);

  it('uploads, reads, fills and copies float32 and int32, size 0 included; small fills are written, large ones dispatched', async () => {
    for (const n of [0, 1, 3, 17, 65, 5000]) {
      const f = randF(n), i = randI(n, -1000, 1000);
      expect(Array.from(await gpu.read(gpu.upload(f, 'float32'), n, 'float32'))).toEqual(Array.from(f));
      expect(Array.from(await gpu.read(gpu.upload(i, 'int32'), n, 'int32'))).toEqual(Array.from(i));
      for (const [v, dt] of [[0, 'float32'], [2.5, 'float32'], [-Infinity, 'float32'], [7, 'int32'], [0, 'int32']] as const) {
        expect(Array.from(await gpu.read(gpu.fill(n, v, dt), n, dt))).toEqual(new Array(n).fill(v));
      }
      const dst = gpu.fill(n + 2, 9, 'float32');
      gpu.copyInto(dst, gpu.upload(f, 'float32'), n, 'float32');
      await gpu.sync();
      expect(Array.from(await gpu.read(dst, n + 2, 'float32'))).toEqual([...f, 9, 9]);
    }
  });

  it('counts live storages in stats() and frees them on dispose', () => {
    const before = gpu.stats();
    const s = gpu.upload(randF(1000), 'float32');
    const t = gpu.fill(0, 0, 'float32');
    expect(gpu.stats().buffers).toBe(before.buffers + 2);
    expect(gpu.stats().bytes).toBeGreaterThanOrEqual(before.bytes + 4000);
    gpu.dispose(s);
    gpu.dispose(t);
    expect(gpu.stats()).toEqual(before);
  });

  it('rejects float64 with an error naming the op and dtype', () => {
    expect(() => gpu.upload(new Float64Array(3), 'float64')).toThrow(/upload.*float64/);
    const x = gpu.upload(randF(4), 'float32');
    expect(() => gpu.unary(op('exp'), x, 4, 'float64', 'float64')).toThrow(/exp.*float64/);
    expect(() => gpu.matmul(x, x, { batch: 1, m: 2, n: 2, k: 2, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 }, 'int32')).toThrow(/matmul.*int32/);
  });

  it('a storage disposed while queued work still reads it is not overwritten by a new upload', async () => {
    const x = gpu.upload(Float32Array.from([1, 2, 3]), 'float32');
    const ys: Storage[] = [];
    for (let k = 0; k < 5; k++) {
      ys.push(gpu.unary(op('neg'), x, 3, 'float32', 'float32'));
    }
    gpu.dispose(x);
    for (let k = 0; k < 5; k++) gpu.upload(Float32Array.from([7, 7, 7]), 'float32');
    for (const y of ys) expect(Array.from(await gpu.read(y, 3, 'float32'))).toEqual([-1, -2, -3]);
  });

  it('one submission: a buffer freed after its last reader is reused by a later kernel of the same encoder, not by an upload', async () => {
    const wg = gpu as unknown as { oneSubmission(run: () => void): void; commandCounts(): { submits: number } };
    await gpu.sync();
    const submitsBefore = wg.commandCounts().submits;
    // Sizes no other test asks for, so that the pool has no free buffer of their class.
    const n = 99_991;
    let chain: Storage = gpu.upload(Float32Array.from({ length: n }, (_, i) => i), 'float32');
    const buffers = new Set<unknown>();
    // 60 dispatches, more than one eager batch: each output takes the buffer its input
    // freed two steps before, so the encoder holds 3 buffers, not 60.
    wg.oneSubmission(() => {
      for (let k = 0; k < 60; k++) {
        const next = gpu.unary(op('neg'), chain, n, 'float32', 'float32');
        gpu.dispose(chain);
        chain = next;
        buffers.add((chain as unknown as { buffer: unknown }).buffer);
      }
    });
    expect(wg.commandCounts().submits - submitsBefore).toBe(1);
    expect(buffers.size).toBeLessThanOrEqual(3);
    expect(Array.from(await gpu.read(chain, 4, 'float32'))).toEqual([0, 1, 2, 3]);

    // The hazard: x is freed with a pending reader. An upload's host write would land before
    // that reader runs, so the upload gets another buffer; a kernel's output may take x's.
    let y: Storage | null = null, z: Storage | null = null, w: Storage | null = null;
    const same = { upload: true, kernel: false };
    wg.oneSubmission(() => {
      const m = 77_777;
      const x = gpu.upload(Float32Array.from({ length: m }, (_, i) => i + 1), 'float32');
      const xBuffer = (x as unknown as { buffer: unknown }).buffer;
      y = gpu.unary(op('neg'), x, m, 'float32', 'float32');
      gpu.dispose(x);
      z = gpu.upload(Float32Array.from({ length: m }, (_, i) => 7 + i), 'float32');
      same.upload = (z as unknown as { buffer: unknown }).buffer === xBuffer;
      w = gpu.unary(op('neg'), z, m, 'float32', 'float32');
      same.kernel = (w as unknown as { buffer: unknown }).buffer === xBuffer;
    });
    expect(same).toEqual({ upload: false, kernel: true });
    expect(Array.from(await gpu.read(y!, 3, 'float32'))).toEqual([-1, -2, -3]);
    expect(Array.from(await gpu.read(z!, 3, 'float32'))).toEqual([7, 8, 9]);
    expect(Array.from(await gpu.read(w!, 3, 'float32'))).toEqual([-7, -8, -9]);
    for (const s of [chain, y!, z!, w!]) gpu.dispose(s);
  });

  it('unary ops, float32 and int32 (and casts)', async () => {
    // Every unary op of the table with its test (or default) parameters, plus parameter edge cases.
    const ops: [string, number?, number?][] = [
      ...table.filter((o) => o.arity === 1).map((o): [string, number?, number?] => {
        const args = 'params' in o ? o.check?.args ?? o.params.map(([, v]) => v) : [];
        return [o.name, args[0], args[1]];
      }),
      ['leakyRelu', 0.1], ['leakyReluGrad', 0.1], ['powScalar', 3], ['powScalar', 0.5], ['clamp', -0.3, 0.4], ['clamp', -Infinity, 0.2], ['affine', 2, -1],
    ];
    const n = 1000;
    const x = P.up(Float32Array.from(randF(n, -30, 30), (v, i) => (i % 7 === 0 ? 0 : v)));
    for (const [name, a, b] of ops) await P.same(P.both((be, k) => be.unary(op(name), x[k], n, 'float32', 'float32', a, b)), n, `unary ${name}(${a},${b})`);
    const xi = P.up(randI(n, -50, 50));
    const intOps = new Set(['neg', 'abs', 'sign', 'relu', 'step', 'cast', 'affine', ...table.filter((o) => o.arity === 1 && o.ints === 'exact').map((o) => o.name)]);
    for (const name of intOps) {
      await P.same(P.both((be, k) => be.unary(op(name), xi[k], n, 'int32', 'int32', 3, 1)), n, `unary ${name} int32`, 'int32');
    }
    await P.same(P.both((be, k) => be.unary(op('cast'), xi[k], n, 'int32', 'float32')), n, 'cast int32 -> float32');
    await P.same(P.both((be, k) => be.unary(op('cast'), x[k], n, 'float32', 'int32')), n, 'cast float32 -> int32', 'int32');
  });

  it('binary ops with broadcasting, float32 and int32', async () => {
    const ops = table.filter((o) => o.arity === 2).map((o) => o.name);
    const shapes: [number[], number[], number[]][] = [
      [[3, 1, 17], [1, 5, 17], [3, 5, 17]],
      [[65], [1], [65]],
      [[2, 3, 33], [2, 3, 33], [2, 3, 33]],
      [[4, 1], [1, 3], [4, 3]],
      [[1], [1], [1]],
    ];
    for (const [as, bs, os] of shapes) {
      const a = P.up(Float32Array.from(randF(prod(as), -2, 2), (v, i) => (i % 5 === 0 ? Math.round(v) : v)));
      const b = P.up(Float32Array.from(randF(prod(bs), -2, 2), (v, i) => (i % 3 === 0 ? Math.round(v) : v)));
      for (const name of ops) await P.same(P.both((be, k) => be.binary(op(name), a[k], as, b[k], bs, os, 'float32', 'float32')), prod(os), `${name} [${as}] [${bs}]`);
      const ai = P.up(randI(prod(as), -9, 9)), bi = P.up(randI(prod(bs), -3, 3));
      for (const name of ops.filter((o) => o !== 'pow')) await P.same(P.both((be, k) => be.binary(op(name), ai[k], as, bi[k], bs, os, 'int32', 'int32')), prod(os), `${name} int32 [${as}] [${bs}]`, 'int32');
      await P.same(P.both((be, k) => be.binary(op('lt'), a[k], as, b[k], bs, os, 'float32', 'int32')), prod(os), `lt -> int32 [${as}]`, 'int32');
    }
  });

  it('where with broadcasting', async () => {
    const [cs, as, bs, os] = [[3, 1, 5], [1, 4, 5], [3, 4, 1], [3, 4, 5]];
    const c = P.up(randI(prod(cs), 0, 1)), a = P.up(randF(prod(as))), b = P.up(randF(prod(bs)));
    await P.same(P.both((be, k) => be.where(c[k], cs, 'int32', a[k], as, b[k], bs, os, 'float32')), prod(os), 'where');
    const cf = P.up(Float32Array.from(randI(prod(cs), 0, 1)));
    const ai = P.up(randI(prod(as), -5, 5)), bi = P.up(randI(prod(bs), -5, 5));
    await P.same(P.both((be, k) => be.where(cf[k], cs, 'float32', ai[k], as, bi[k], bs, os, 'int32')), prod(os), 'where int32', 'int32');
  });

  it('reductions along any axes (thread and workgroup modes), float32 and int32', async () => {
    const ops: ReduceOp[] = ['sum', 'max', 'min'];
    const cases: [number[], number[]][] = [
      [[3, 17, 33], [0]], [[3, 17, 33], [1]], [[3, 17, 33], [2]], [[3, 17, 33], [0, 2]], [[3, 17, 33], [0, 1, 2]], [[3, 17, 33], [1, 2]],
      [[5, 3001], [1]], [[3001, 5], [0]], [[6, 4, 65, 9], [0, 2, 3]], [[17], [0]], [[4, 1, 3], [1]],
    ];
    for (const [shape, axes] of cases) {
      const n = prod(shape);
      const out = prod(shape.filter((_, d) => !axes.includes(d)));
      const x = P.up(randF(n)), xi = P.up(randI(n, -100, 100));
      for (const op of ops) {
        await P.same(P.both((be, k) => be.reduce(op, x[k], shape, axes, 'float32')), out, `${op} [${shape}] axes [${axes}]`, 'float32', 1e-4 * Math.sqrt(n / out));
        await P.same(P.both((be, k) => be.reduce(op, xi[k], shape, axes, 'int32')), out, `${op} int32 [${shape}] axes [${axes}]`, 'int32');
      }
      if (axes.length === 1) {
        for (const op of ['argmax', 'argmin'] as ReduceOp[]) {
          await P.same(P.both((be, k) => be.reduce(op, x[k], shape, axes, 'float32')), out, `${op} [${shape}] axis ${axes}`, 'int32');
          await P.same(P.both((be, k) => be.reduce(op, xi[k], shape, axes, 'int32')), out, `${op} int32 [${shape}] axis ${axes}`, 'int32');
        }
      }
    }
  });

  it('strided copies (permute, expand, slice) and writeStrided (cat)', async () => {
    const x = P.up(randF(3 * 17 * 5)), xi = P.up(randI(3 * 17 * 5, -9, 9));
    const cases: [number[], number[], number][] = [
      [[5, 3, 17], [1, 85, 5], 0],        // permute
      [[3, 4, 17, 5], [85, 0, 5, 1], 0],  // expand
      [[2, 8, 3], [85, 10, 1], 7],        // slice
      [[17, 3], [5, 85], 2],
      [[], [], 11],
    ];
    for (const [shape, strides, off] of cases) {
      await P.same(P.both((be, k) => be.strided(x[k], shape, strides, off, 'float32')), prod(shape), `strided [${shape}]`);
      await P.same(P.both((be, k) => be.strided(xi[k], shape, strides, off, 'int32')), prod(shape), `strided int32 [${shape}]`, 'int32');
    }
    const dst = P.up(randF(6 * 17));
    const src = P.up(randF(2 * 17));
    P.both((be, k) => be.writeStrided(dst[k], src[k], [2, 17], [17, 1], 3 * 17, 'float32'));
    P.both((be, k) => be.writeStrided(dst[k], src[k], [17, 2], [3, 1], 1, 'float32'));
    await P.same(dst, 6 * 17, 'writeStrided');
  });

  it('pad: constant, reflect, replicate, circular; negative crops', async () => {
    const shapes: [number[], [number, number][]][] = [
      [[3, 17], [[1, 2], [3, 0]]],
      [[2, 5, 6], [[0, 0], [2, 1], [-1, 3]]],
      [[2, 3, 4, 5], [[0, 0], [1, 1], [2, 0], [0, 4]]],
    ];
    for (const [shape, pads] of shapes) {
      const x = P.up(randF(prod(shape)));
      const out = prod(shape.map((n, d) => n + pads[d][0] + pads[d][1]));
      for (const mode of ['constant', 'reflect', 'replicate', 'circular'] as PadMode[]) {
        await P.same(P.both((be, k) => be.pad(x[k], shape, pads, mode, 0.5, 'float32')), out, `pad ${mode} [${shape}]`);
      }
    }
    const xi = P.up(randI(12, -5, 5));
    await P.same(P.both((be, k) => be.pad(xi[k], [3, 4], [[1, 1], [2, 2]], 'constant', 3, 'int32')), 5 * 8, 'pad int32', 'int32');
  });

  it('gather and scatterAdd along each axis', async () => {
    const xShape = [4, 7, 5];
    const x = P.up(randF(prod(xShape)));
    for (let axis = 0; axis < 3; axis++) {
      const indexShape = xShape.map((n, d) => (d === axis ? 9 : Math.max(1, n - 1)));
      const index = P.up(randI(prod(indexShape), 0, xShape[axis] - 1));
      await P.same(P.both((be, k) => be.gather(x[k], xShape, index[k], indexShape, axis, 'float32')), prod(indexShape), `gather axis ${axis}`);
      const src = P.up(randF(prod(indexShape)));
      await P.same(P.both((be, k) => be.scatterAdd(src[k], index[k], indexShape, xShape, axis, 'float32')), prod(xShape), `scatterAdd axis ${axis}`);
    }
    const idx = P.up(randI(6, 0, 9)), src = P.up(randF(6));
    await P.same(P.both((be, k) => be.scatterAdd(src[k], idx[k], [6, 1], [6, 10], 1, 'float32')), 60, 'scatterAdd (cross-entropy shape)');
  });

  for (const [label, which] of [['', main], [' (other kernel variant)', other]] as const) {
    it(`matmul: odd sizes, transposes, batch strides incl. 0${label}`, async () => {
      const b = which.gpu!;
      const Q = new Pair(b);
      const cases: [number, number, number, number][] = [[1, 1, 1, 1], [1, 3, 17, 33], [1, 65, 33, 17], [3, 17, 5, 33], [2, 130, 129, 67], [1, 7, 1, 9]];
      for (const [batch, m, n, k] of cases) {
        for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
          for (const [aB, bB] of [[m * k, k * n], [0, k * n], [m * k, 0]]) {
            if (batch === 1 && (aB === 0 || bB === 0)) continue;
            const A = Q.up(randF(aB === 0 ? m * k : batch * m * k)), B = Q.up(randF(bB === 0 ? k * n : batch * k * n));
            const p = { batch, m, n, k, transA, transB, aBatchStride: aB, bBatchStride: bB };
            await Q.same(Q.both((be, i) => be.matmul(A[i], B[i], p, 'float32')), batch * m * n, `matmul ${JSON.stringify(p)}`);
          }
        }
      }
    });

    it(`convolution forward, input and weight gradients, every option${label}`, async () => {
      const b = which.gpu!;
      const Q = new Pair(b);
      for (const [name, p] of CONV_CASES) {
        if (which === other && !/channels|depthwise|1-D stride/.test(name)) continue;
        const K = prod(p.kernel), L = prod(p.outSize);
        const x = Q.up(randF(p.batch * p.inChannels * prod(p.inSize)));
        const w = Q.up(randF(p.outChannels * (p.inChannels / p.groups) * K));
        const bias = Q.up(randF(p.outChannels));
        const gy = Q.up(randF(p.batch * p.outChannels * L));
        await Q.same(Q.both((be, i) => be.conv(x[i], w[i], bias[i], p, 'float32')), p.batch * p.outChannels * L, `conv ${name}`);
        await Q.same(Q.both((be, i) => be.conv(x[i], w[i], null, p, 'float32')), p.batch * p.outChannels * L, `conv (no bias) ${name}`);
        await Q.same(Q.both((be, i) => be.convBackwardInput(gy[i], w[i], p, 'float32')), p.batch * p.inChannels * prod(p.inSize), `convBackwardInput ${name}`);
        const weights = p.outChannels * (p.inChannels / p.groups) * K;
        const [gw, cw] = Q.both((be, i) => be.convBackwardWeight(x[i], gy[i], p, 'float32'));
        expect(gw.bias === null && cw.bias === null).toBe(true);
        await Q.same([gw.weight, cw.weight], weights, `convBackwardWeight ${name}`);
        // with the bias gradient: one dispatch on the tiled and direct kernels, a reduction beside the register plan
        const [gwb, cwb] = Q.both((be, i) => be.convBackwardWeight(x[i], gy[i], p, 'float32', true));
        await Q.same([gwb.weight, cwb.weight], weights, `convBackwardWeight (with bias) ${name}`);
        await Q.same([gwb.bias!, cwb.bias!], p.outChannels, `convBackwardWeight's bias gradient ${name}`);
        if (which === main) {
          const cols = p.batch * p.inChannels * K * L;
          await Q.same(Q.both((be, i) => be.im2col(x[i], p, 'float32')), cols, `im2col ${name}`);
          const c = Q.up(randF(cols));
          await Q.same(Q.both((be, i) => be.col2im(c[i], p, 'float32')), p.batch * p.inChannels * prod(p.inSize), `col2im ${name}`);
        }
      }
    });
  }

  it('products with more row blocks than one dispatch dimension holds (folded dispatch)', async () => {
    for (const b of [main.gpu!, other.gpu!]) {
      const Q = new Pair(b);
      const p = { batch: 1, m: 600_000, n: 3, k: 2, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 };
      const A = Q.up(randF(p.m * p.k)), B = Q.up(randF(p.k * p.n));
      await Q.same(Q.both((be, i) => be.matmul(A[i], B[i], p, 'float32')), p.m * p.n, `matmul m=600000 (${b === main.gpu ? 'main' : 'other'} variant)`);
      const c = convParams(1, 2, 16, 1, [1_100_000], [3], { padding: [1] });
      const t = Q.up(randF(2 * 1_100_000)), tw = Q.up(randF(16 * 2 * 3));
      await Q.same(Q.both((be, i) => be.conv(t[i], tw[i], null, c, 'float32')), 16 * 1_100_000, `conv over 1.1M positions (${b === main.gpu ? 'main' : 'other'} variant)`);
    }
  });

  it('max and average pooling, forward and backward, 1-D to 3-D', async () => {
    const cases: [string, PoolParams][] = [
      ['1-D k3 s2 p1', poolParams(5, [17], [3], { stride: [2], padding: [1] })],
      ['2-D 2x2', poolParams(6, [9, 8], [2, 2])],
      ['2-D 3x2 stride (2,1) pad (1,1)', poolParams(4, [11, 7], [3, 2], { stride: [2, 1], padding: [1, 1], countIncludePad: false })],
      ['2-D k3 s1 p1 (overlapping)', poolParams(3, [7, 9], [3, 3], { stride: [1, 1], padding: [1, 1] })],
      ['3-D 2x3x2 pad (1,1,0)', poolParams(2, [5, 7, 6], [2, 3, 2], { padding: [1, 1, 0], countIncludePad: false })],
    ];
    for (const [name, p] of cases) {
      const inN = p.planes * prod(p.inSize), outN = p.planes * prod(p.outSize);
      const x = P.up(randF(inN)), gy = P.up(randF(outN));
      const [g, c] = P.both((be, i) => be.maxPool(x[i], p, 'float32'));
      await P.same([g.out, c.out], outN, `maxPool ${name}`);
      await P.same(P.both((be, i) => be.maxPoolBackward(gy[i], [g.argmax, c.argmax][i], p, 'float32')), inN, `maxPoolBackward ${name}`);
      await P.same([g.argmax, c.argmax], outN, `maxPool argmax ${name}`, 'int32');
      await P.same(P.both((be, i) => be.avgPool(x[i], p, 'float32')), outN, `avgPool ${name}`);
      await P.same(P.both((be, i) => be.avgPoolBackward(gy[i], p, 'float32')), inN, `avgPoolBackward ${name}`);
      const dil = { ...p, dilation: p.inSize.map(() => 2), outSize: p.inSize.map((l, i) => convOut(l, p.kernel[i], p.stride[i], p.padding[i], 2)) };
      if (dil.outSize.every((o) => o > 0)) {
        const [gd, cd] = P.both((be, i) => be.maxPool(x[i], dil, 'float32'));
        await P.same([gd.out, cd.out], p.planes * prod(dil.outSize), `maxPool dilation 2 ${name}`);
        await P.same([gd.argmax, cd.argmax], p.planes * prod(dil.outSize), `maxPool argmax dilation 2 ${name}`, 'int32');
      }
    }
  });

  it('batch norm forward and backward (fused statistics), n·s many times one workgroup, c = 1, 3, 17, with and without weight/bias', async () => {
    // n·s = 6·1000 values per channel: the stats and backward reductions loop many times
    // over one 256-wide workgroup; c = 17 with [2, 17, 3] covers s = 3.
    const cases: [number, number, number][] = [[6, 1, 1000], [6, 3, 1000], [4, 17, 700], [2, 17, 3], [5, 3, 1]];
    for (const [n, c, s] of cases) {
      await sameBatchNorm(P, [n, c, s], randF);
    }
  });

  it('softmax and log-softmax over rows, short and long rows', async () => {
    for (const [rows, cols] of [[1, 1], [7, 10], [33, 65], [3, 1000], [5000, 3]]) {
      const x = P.up(randF(rows * cols, -20, 20));
      for (const log of [false, true]) await P.same(P.both((be, i) => be.softmax(x[i], rows, cols, log, 'float32')), rows * cols, `softmax ${rows}x${cols} log=${log}`);
    }
  });

  it('fused SGD (momentum, dampening, Nesterov, first step) and Adam/AdamW updates', async () => {
    const n = 1001;
    for (const p of [
      { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, firstStep: false },
      { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 1e-2, nesterov: false, firstStep: true },
      { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 1e-2, nesterov: true, firstStep: false },
    ]) {
      const w = P.up(randF(n)), g = P.up(randF(n)), m = P.up(randF(n));
      P.both((be, i) => sgdSteps(be, [{ param: w[i], grad: g[i], momentumBuf: p.momentum > 0 ? m[i] : null, size: n }], p));
      await P.same(w, n, `sgd param ${JSON.stringify(p)}`);
      await P.same(m, n, `sgd momentum ${JSON.stringify(p)}`);
    }
    for (const p of [
      { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, step: 1 },
      { lr: 1e-2, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1, decoupled: false, step: 7 },
      { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, decoupled: true, step: 3 },
    ]) {
      const w = P.up(randF(n)), g = P.up(randF(n)), m = P.up(randF(n)), v = P.up(randF(n, 0, 1));
      P.both((be, i) => adamSteps(be, [{ param: w[i], grad: g[i], m: m[i], v: v[i], size: n }], p));
      await P.same(w, n, `adam param ${JSON.stringify(p)}`);
      await P.same(m, n, `adam m ${JSON.stringify(p)}`);
      await P.same(v, n, `adam v ${JSON.stringify(p)}`);
    }
  });

  it('multi-tensor SGD and Adam steps (several parameters per dispatch) equal the per-parameter steps', async () => {
    const sizes = [1001, 5, 64, 300, 1, 17, 2000, 33, 7];
    const up = (lo = -1, hi = 1) => sizes.map((n) => P.up(randF(n, lo, hi)));
    for (const p of [
      { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, firstStep: false },
      { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 1e-2, nesterov: false, firstStep: true },
      { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 1e-2, nesterov: true, firstStep: false },
    ]) {
      const w = up(), g = up(), m = up();
      P.both((be, i) => sgdSteps(be, sizes.map((size, j) => ({ param: w[j][i], grad: g[j][i], momentumBuf: p.momentum > 0 ? m[j][i] : null, size })), p));
      for (let j = 0; j < sizes.length; j++) {
        await P.same(w[j], sizes[j], `sgdSteps param ${j} ${JSON.stringify(p)}`);
        await P.same(m[j], sizes[j], `sgdSteps momentum ${j} ${JSON.stringify(p)}`);
      }
    }
    const p = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, decoupled: true, step: 3 };
    const w = up(), g = up(), m = up(), v = up(0, 1);
    P.both((be, i) => adamSteps(be, sizes.map((size, j) => ({ param: w[j][i], grad: g[j][i], m: m[j][i], v: v[j][i], size })), p));
    for (let j = 0; j < sizes.length; j++) {
      for (const [t, name] of [[w, 'param'], [m, 'm'], [v, 'v']] as const) await P.same(t[j], sizes[j], `adamSteps ${name} ${j}`);
    }
  });
});

describe.runIf(process.env.CI === 'true')('webgpu under CI', () => {
  it('has an adapter (a missing one fails, never skips)', () => {
    expect(main.gpu, main.reason).not.toBeNull();
  });
});
