/**
 * The cpu backend's numeric kernels against naive reference loops (written here, in
 * float64), on seeded random inputs with odd sizes and every option.
 */
import { describe, expect, it } from 'vitest';
import type { ConvParams, PadMode, PoolParams, TypedArray } from '../src/backend';
import { matmul, gemm, type FloatArray } from '../src/backends/cpu/kernels/matmul';
import { col2im, convBackwardInput, convBackwardWeight, convForward, im2col } from '../src/backends/cpu/kernels/conv';
import { avgPool, avgPoolBackward, maxPool, maxPoolBackward } from '../src/backends/cpu/kernels/pool';
import { pad } from '../src/backends/cpu/kernels/pad';
import { softmax } from '../src/backends/cpu/kernels/softmax';
import { gather, scatterAdd, strided, writeStrided } from '../src/backends/cpu/kernels/strided';
import { convOutputLength, poolOutputLength } from '../src/shape-rules';
import { rng } from './helpers/rng';

// ---------------------------------------------------------------------------------------
// helpers

type Rng = ReturnType<typeof rng>;

type FloatCtor = Float32ArrayConstructor | Float64ArrayConstructor;
const FLOATS: [string, FloatCtor][] = [['float32', Float32Array], ['float64', Float64Array]];

function randArray<C extends FloatCtor>(ctor: C, n: number, r: Rng): InstanceType<C> {
  const a = new ctor(n) as InstanceType<C>;
  for (let i = 0; i < n; i++) a[i] = r.next() * 2 - 1;
  return a;
}

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** |actual - expected| <= tol * max(1, |expected|) elementwise, and same length. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i], a = actual[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (e === a) continue; // infinities
    const err = Math.abs(a - e) / Math.max(1, Math.abs(e));
    if (!(err <= tol)) expect.fail(`${what}[${i}]: got ${a}, expected ${e} (err ${err.toExponential(2)} > ${tol})`);
  }
}
const tolFor = (ctor: FloatCtor) => (ctor === Float32Array ? 2e-5 : 1e-11);

function expectSameType(out: unknown, input: unknown, what: string): void {
  expect((out as object).constructor, `${what}: output array type`).toBe((input as object).constructor);
}

/** Left-pad a per-dim list to 3 entries. */
const to3 = (v: readonly number[], fill: number) => [...new Array<number>(3 - v.length).fill(fill), ...v];

// ---------------------------------------------------------------------------------------
// matmul

function refMatmul(a: ArrayLike<number>, b: ArrayLike<number>, p: { batch: number; m: number; n: number; k: number; transA: boolean; transB: boolean; aBatchStride: number; bBatchStride: number }): Float64Array {
  const { batch, m, n, k } = p;
  const c = new Float64Array(batch * m * n);
  for (let bi = 0; bi < batch; bi++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) {
          const av = p.transA ? a[bi * p.aBatchStride + q * m + i] : a[bi * p.aBatchStride + i * k + q];
          const bv = p.transB ? b[bi * p.bBatchStride + j * k + q] : b[bi * p.bBatchStride + q * n + j];
          s += av * bv;
        }
        c[(bi * m + i) * n + j] = s;
      }
    }
  }
  return c;
}

describe('matmul', () => {
  const r = rng(1);
  const sizes = [1, 3, 5, 17, 33, 65];
  const shapes: [number, number, number][] = [];
  for (const m of sizes) for (const n of sizes) for (const k of sizes) if ((m * 7 + n * 3 + k) % 4 === 0 || m === n) shapes.push([m, n, k]);
  // blocking edges: k > KC (256), m > MC (64), n > NC (512), sizes not multiples of the 4x4 tile
  shapes.push([67, 517, 259], [129, 33, 513], [4, 4, 4], [8, 12, 300], [0, 3, 5], [3, 0, 5], [3, 5, 0]);

  for (const [name, ctor] of FLOATS) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        it(`${name} transA=${transA} transB=${transB} on ${shapes.length} shapes`, () => {
          for (const [m, n, k] of shapes) {
            const batch = m * n * k > 100000 ? 1 : r.pick([1, 2, 3]);
            // broadcast one operand sometimes (batch stride 0)
            const aBatchStride = batch > 1 && r.next() < 0.3 ? 0 : m * k;
            const bBatchStride = batch > 1 && aBatchStride !== 0 && r.next() < 0.4 ? 0 : k * n;
            const a = randArray(ctor, Math.max(m * k, aBatchStride * (batch - 1) + m * k), r);
            const b = randArray(ctor, Math.max(k * n, bBatchStride * (batch - 1) + k * n), r);
            const p = { batch, m, n, k, transA, transB, aBatchStride, bBatchStride };
            const c = matmul(a, b, p);
            expectSameType(c, a, 'matmul');
            expectClose(c, refMatmul(a, b, p), tolFor(ctor), `matmul ${JSON.stringify(p)}`);
          }
        });
      }
    }
  }

  it('overwrites a given out array and returns it', () => {
    const a = randArray(Float32Array, 17 * 33, r), b = randArray(Float32Array, 33 * 65, r);
    const p = { batch: 1, m: 17, n: 65, k: 33, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 };
    const out = new Float32Array(17 * 65).fill(123);
    expect(matmul(a, b, p, out)).toBe(out);
    expectClose(out, refMatmul(a, b, p), 2e-5, 'matmul out');
  });

  it('gemm accumulates into a strided C with offsets', () => {
    const m = 37, n = 41, k = 29, ldc = 50, cOff = 7;
    const a = randArray(Float64Array, 5 + m * k, r), b = randArray(Float64Array, 3 + k * n, r);
    const c = randArray(Float64Array, cOff + m * ldc, r);
    const want = Float64Array.from(c);
    const ab = refMatmul(a.subarray(5), b.subarray(3), { batch: 1, m, n, k, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 });
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) want[cOff + i * ldc + j] += ab[i * n + j];
    gemm(a, 5, k, 1, b, 3, n, 1, c, cOff, ldc, m, n, k, true);
    expectClose(c, want, 1e-11, 'gemm accumulate');
  });
});

// ---------------------------------------------------------------------------------------
// convolution

interface ConvCase extends ConvParams {}

/** Output size for padding before = pad and `after` extra zero padding after. */
const convOut = (inLen: number, k: number, s: number, pad: number, d: number, after: number) => convOutputLength(inLen, k, pad, after, s, d);

function randomConv(r: Rng, dims: number, big = false): ConvCase {
  for (;;) {
    const groups = r.pick([1, 1, 2, 3]);
    const inChannels = groups * r.pick([1, 2, 3]);
    const outChannels = groups * r.pick([1, 2, 3]);
    const batch = r.pick([1, 2, 3, 5]);
    const inSize: number[] = [], kernel: number[] = [], stride: number[] = [], padding: number[] = [], dilation: number[] = [], outSize: number[] = [];
    const sizes = big ? [9, 11, 17] : dims === 3 ? [1, 3, 5, 6] : [1, 3, 5, 7, 17];
    for (let d = 0; d < dims; d++) {
      const inLen = r.pick(sizes);
      const k = r.pick([1, 2, 3, 5]);
      const s = r.pick([1, 1, 2, 3]);
      const dl = r.pick([1, 1, 2, 3]);
      const pd = r.int(0, 2);
      const after = r.pick([pd, pd, 0, pd + 1]);
      inSize.push(inLen); kernel.push(k); stride.push(s); padding.push(pd); dilation.push(dl);
      outSize.push(convOut(inLen, k, s, pd, dl, after));
    }
    if (outSize.some((o) => o < 1)) continue;
    return { batch, inChannels, outChannels, groups, inSize, kernel, outSize, stride, padding, dilation };
  }
}

/** Walks every (x index, w index, y index) triple of a convolution, in double. */
function convTaps(p: ConvParams, f: (xi: number, wi: number, yi: number) => void): void {
  const [ID, IH, IW] = to3(p.inSize, 1), [KD, KH, KW] = to3(p.kernel, 1), [OD, OH, OW] = to3(p.outSize, 1);
  const [sD, sH, sW] = to3(p.stride, 1), [pD, pH, pW] = to3(p.padding, 0), [dD, dH, dW] = to3(p.dilation, 1);
  const cinG = p.inChannels / p.groups, coutG = p.outChannels / p.groups;
  for (let n = 0; n < p.batch; n++)
    for (let co = 0; co < p.outChannels; co++) {
      const g = Math.floor(co / coutG);
      for (let od = 0; od < OD; od++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
        const yi = (((n * p.outChannels + co) * OD + od) * OH + oh) * OW + ow;
        for (let cl = 0; cl < cinG; cl++) {
          const ci = g * cinG + cl;
          for (let kd = 0; kd < KD; kd++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
            const id = od * sD - pD + kd * dD, ih = oh * sH - pH + kh * dH, iw = ow * sW - pW + kw * dW;
            if (id < 0 || id >= ID || ih < 0 || ih >= IH || iw < 0 || iw >= IW) continue;
            const xi = (((n * p.inChannels + ci) * ID + id) * IH + ih) * IW + iw;
            const wi = (((co * cinG + cl) * KD + kd) * KH + kh) * KW + kw;
            f(xi, wi, yi);
          }
        }
      }
    }
}

function refConv(x: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number> | null, p: ConvParams): Float64Array {
  const L = prod(p.outSize);
  const y = new Float64Array(p.batch * p.outChannels * L);
  if (bias) for (let i = 0; i < y.length; i++) y[i] = bias[Math.floor(i / L) % p.outChannels];
  convTaps(p, (xi, wi, yi) => (y[yi] += x[xi] * w[wi]));
  return y;
}
function refConvBackward(x: ArrayLike<number>, w: ArrayLike<number>, gy: ArrayLike<number>, p: ConvParams) {
  const gx = new Float64Array(p.batch * p.inChannels * prod(p.inSize));
  const gw = new Float64Array(p.outChannels * (p.inChannels / p.groups) * prod(p.kernel));
  convTaps(p, (xi, wi, yi) => {
    gx[xi] += w[wi] * gy[yi];
    gw[wi] += x[xi] * gy[yi];
  });
  return { gx, gw };
}

function refIm2col(x: ArrayLike<number>, p: ConvParams): Float64Array {
  const C = p.inChannels, K = prod(p.kernel), L = prod(p.outSize);
  const [ID, IH, IW] = to3(p.inSize, 1), [KD, KH, KW] = to3(p.kernel, 1), [OD, OH, OW] = to3(p.outSize, 1);
  const [sD, sH, sW] = to3(p.stride, 1), [pD, pH, pW] = to3(p.padding, 0), [dD, dH, dW] = to3(p.dilation, 1);
  const cols = new Float64Array(p.batch * C * K * L);
  for (let n = 0; n < p.batch; n++) for (let c = 0; c < C; c++)
    for (let kd = 0; kd < KD; kd++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++)
      for (let od = 0; od < OD; od++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
        const id = od * sD - pD + kd * dD, ih = oh * sH - pH + kh * dH, iw = ow * sW - pW + kw * dW;
        const row = c * K + (kd * KH + kh) * KW + kw;
        const l = (od * OH + oh) * OW + ow;
        const inside = id >= 0 && id < ID && ih >= 0 && ih < IH && iw >= 0 && iw < IW;
        cols[(n * C * K + row) * L + l] = inside ? x[(((n * C + c) * ID + id) * IH + ih) * IW + iw] : 0;
      }
  return cols;
}

describe('convolution', () => {
  const r = rng(2);
  const cases: [string, ConvCase][] = [];
  for (const dims of [1, 2, 3]) for (let i = 0; i < 14; i++) cases.push([`${dims}-d random #${i}`, randomConv(r, dims)]);
  for (let i = 0; i < 3; i++) cases.push([`2-d larger #${i}`, randomConv(r, 2, true)]);
  // L >= 512: one batch item per product (no batching); with and without groups
  cases.push(['2-d wide output k3 p1', { batch: 2, inChannels: 4, outChannels: 6, groups: 2, inSize: [23, 25], kernel: [3, 3], outSize: [23, 25], stride: [1, 1], padding: [1, 1], dilation: [1, 1] }]);
  cases.push(['1-d wide output k5 d2', { batch: 3, inChannels: 3, outChannels: 5, groups: 1, inSize: [601], kernel: [5], outSize: [593], stride: [1], padding: [0], dilation: [2] }]);
  // pointwise fast path, large and small planes, with groups
  cases.push(['2-d pointwise 1x1 large plane', { batch: 3, inChannels: 6, outChannels: 9, groups: 3, inSize: [9, 11], kernel: [1, 1], outSize: [9, 11], stride: [1, 1], padding: [0, 0], dilation: [1, 1] }]);
  cases.push(['2-d pointwise 1x1 small plane', { batch: 5, inChannels: 5, outChannels: 7, groups: 1, inSize: [3, 5], kernel: [1, 1], outSize: [3, 5], stride: [1, 1], padding: [0, 0], dilation: [1, 1] }]);
  cases.push(['3-d pointwise', { batch: 2, inChannels: 4, outChannels: 2, groups: 2, inSize: [3, 5, 7], kernel: [1, 1, 1], outSize: [3, 5, 7], stride: [1, 1, 1], padding: [0, 0, 0], dilation: [1, 1, 1] }]);
  // 1x1 with stride or padding goes through im2col
  cases.push(['2-d 1x1 stride 2 pad 1', { batch: 2, inChannels: 3, outChannels: 4, groups: 1, inSize: [7, 5], kernel: [1, 1], outSize: [5, 4], stride: [2, 2], padding: [1, 1], dilation: [1, 1] }]);
  // depthwise
  cases.push(['2-d depthwise k3 s2 p1', { batch: 3, inChannels: 6, outChannels: 12, groups: 6, inSize: [17, 9], kernel: [3, 3], outSize: [9, 5], stride: [2, 2], padding: [1, 1], dilation: [1, 1] }]);
  // kernel larger than the input with padding, taps mostly in padding
  cases.push(['2-d kernel wider than input', { batch: 2, inChannels: 2, outChannels: 3, groups: 1, inSize: [1, 3], kernel: [3, 5], outSize: [3, 3], stride: [1, 1], padding: [1, 2], dilation: [1, 1] }]);

  for (const [name, ctor] of FLOATS) {
    describe(name, () => {
      for (const [label, p] of cases) {
        it(`${label}: ${JSON.stringify(p)}`, () => {
          const tol = tolFor(ctor);
          const x = randArray(ctor, p.batch * p.inChannels * prod(p.inSize), r);
          const w = randArray(ctor, p.outChannels * (p.inChannels / p.groups) * prod(p.kernel), r);
          const bias = r.next() < 0.6 ? randArray(ctor, p.outChannels, r) : null;
          const gy = randArray(ctor, p.batch * p.outChannels * prod(p.outSize), r);

          const y = convForward(x, w, bias, p);
          expectSameType(y, x, 'convForward');
          expectClose(y, refConv(x, w, bias, p), tol, 'convForward');

          const { gx, gw } = refConvBackward(x, w, gy, p);
          const gxOut = convBackwardInput(gy, w, p);
          expectSameType(gxOut, x, 'convBackwardInput');
          expectClose(gxOut, gx, tol, 'convBackwardInput');
          const gwOut = convBackwardWeight(x, gy, p);
          expectSameType(gwOut, x, 'convBackwardWeight');
          expectClose(gwOut, gw, tol, 'convBackwardWeight');

          // im2col / col2im over all channels (p.inChannels)
          const cols = im2col(x, p);
          expectSameType(cols, x, 'im2col');
          expectClose(cols, refIm2col(x, p), 0, 'im2col');
          const c = randArray(ctor, cols.length, r);
          const back = col2im(c, p);
          expectSameType(back, x, 'col2im');
          // adjoint: <im2col(x), c> == <x, col2im(c)>, and col2im equals the naive scatter
          const ref = new Float64Array(x.length);
          const probe = new Float64Array(x.length);
          for (let i = 0; i < x.length; i++) {
            probe[i] = 1;
            const colsI = refIm2col(probe, p);
            let s = 0;
            for (let j = 0; j < colsI.length; j++) if (colsI[j] !== 0) s += c[j];
            ref[i] = s;
            probe[i] = 0;
            if (i > 400) break; // big cases: the first planes suffice
          }
          expectClose(back.subarray(0, Math.min(x.length, 402)), ref.subarray(0, Math.min(x.length, 402)), tol, 'col2im');
        });
      }
    });
  }

  it('im2col zeros the taps that fall past the end (outSize implies padding after)', () => {
    const p: ConvParams = { batch: 1, inChannels: 1, outChannels: 1, groups: 1, inSize: [3], kernel: [2], outSize: [3], stride: [1], padding: [0], dilation: [1] };
    const cols = im2col(Float64Array.from([1, 2, 3]), p);
    expect(Array.from(cols)).toEqual([1, 2, 3, 2, 3, 0]);
  });

  it('rejects groups that do not divide the channels', () => {
    const p: ConvParams = { batch: 1, inChannels: 4, outChannels: 3, groups: 2, inSize: [5], kernel: [3], outSize: [3], stride: [1], padding: [0], dilation: [1] };
    expect(() => convForward(new Float32Array(20), new Float32Array(18), null, p)).toThrow(/groups 2/);
  });
});

// ---------------------------------------------------------------------------------------
// pooling

/** PyTorch's pooling output size (with ceil mode's "last window starts inside" rule). */
const poolOut = (inLen: number, k: number, s: number, pad: number, dil: number, ceil: boolean) => poolOutputLength(inLen, k, pad, s, dil, ceil);

function randomPool(r: Rng, dims: number, withDilation: boolean): PoolParams & { ceil: boolean } {
  for (;;) {
    const ceil = r.next() < 0.5;
    const inSize: number[] = [], kernel: number[] = [], stride: number[] = [], padding: number[] = [], dilation: number[] = [], outSize: number[] = [];
    for (let d = 0; d < dims; d++) {
      const inLen = r.pick(dims === 3 ? [1, 3, 5, 6] : [1, 3, 5, 8, 17]);
      const k = r.pick([1, 2, 3, 4]);
      const s = r.pick([1, 2, 3]);
      const pd = r.int(0, Math.floor(k / 2));
      const dl = withDilation ? r.pick([1, 2, 3]) : 1;
      inSize.push(inLen); kernel.push(k); stride.push(s); padding.push(pd); dilation.push(dl);
      outSize.push(poolOut(inLen, k, s, pd, dl, ceil));
    }
    if (outSize.some((o) => o < 1)) continue;
    return { planes: r.pick([1, 2, 3, 5]), inSize, kernel, outSize, stride, padding, dilation, countIncludePad: r.next() < 0.5, ceil };
  }
}

function refMaxPool(x: ArrayLike<number>, p: PoolParams) {
  const [ID, IH, IW] = to3(p.inSize, 1), [KD, KH, KW] = to3(p.kernel, 1), [OD, OH, OW] = to3(p.outSize, 1);
  const [sD, sH, sW] = to3(p.stride, 1), [pD, pH, pW] = to3(p.padding, 0), [dD, dH, dW] = to3(p.dilation, 1);
  const L = prod(p.outSize), plane = prod(p.inSize);
  const out = new Float64Array(p.planes * L), argmax = new Int32Array(p.planes * L);
  for (let pl = 0; pl < p.planes; pl++)
    for (let od = 0; od < OD; od++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      let best = -Infinity, at = -1;
      for (let kd = 0; kd < KD; kd++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
        const id = od * sD - pD + kd * dD, ih = oh * sH - pH + kh * dH, iw = ow * sW - pW + kw * dW;
        if (id < 0 || id >= ID || ih < 0 || ih >= IH || iw < 0 || iw >= IW) continue;
        const idx = (id * IH + ih) * IW + iw;
        const v = x[pl * plane + idx];
        if (at < 0 || v > best) { best = v; at = idx; }
      }
      const o = pl * L + (od * OH + oh) * OW + ow;
      out[o] = at < 0 ? -Infinity : best;
      argmax[o] = at;
    }
  return { out, argmax };
}

/** PyTorch's avg_pool window rule, written out per element. */
function refAvgPool(x: ArrayLike<number>, gy: ArrayLike<number>, p: PoolParams) {
  const ins = to3(p.inSize, 1), ks = to3(p.kernel, 1), os = to3(p.outSize, 1), ss = to3(p.stride, 1), ps = to3(p.padding, 0);
  const L = prod(p.outSize), plane = prod(p.inSize);
  const out = new Float64Array(p.planes * L), gx = new Float64Array(p.planes * plane);
  const win = (d: number, o: number) => {
    const start = o * ss[d] - ps[d];
    const end = Math.min(start + ks[d], ins[d] + ps[d]);
    return { size: end - start, lo: Math.max(start, 0), hi: Math.min(end, ins[d]) };
  };
  for (let pl = 0; pl < p.planes; pl++)
    for (let od = 0; od < os[0]; od++) for (let oh = 0; oh < os[1]; oh++) for (let ow = 0; ow < os[2]; ow++) {
      const wd = win(0, od), wh = win(1, oh), ww = win(2, ow);
      const o = pl * L + (od * os[1] + oh) * os[2] + ow;
      if (wd.lo >= wd.hi || wh.lo >= wh.hi || ww.lo >= ww.hi) { out[o] = 0; continue; }
      const div = p.countIncludePad ? wd.size * wh.size * ww.size : (wd.hi - wd.lo) * (wh.hi - wh.lo) * (ww.hi - ww.lo);
      let s = 0;
      for (let id = wd.lo; id < wd.hi; id++) for (let ih = wh.lo; ih < wh.hi; ih++) for (let iw = ww.lo; iw < ww.hi; iw++) {
        const xi = pl * plane + (id * ins[1] + ih) * ins[2] + iw;
        s += x[xi];
        gx[xi] += gy[o] / div;
      }
      out[o] = s / div;
    }
  return { out, gx };
}

describe('pooling', () => {
  const r = rng(3);
  for (const [name, ctor] of FLOATS) {
    for (const dims of [1, 2, 3]) {
      it(`${name} max pool ${dims}-d (stride, padding, dilation, ceil mode)`, () => {
        for (let t = 0; t < 40; t++) {
          const p = randomPool(r, dims, true);
          const n = p.planes * prod(p.inSize);
          const x = randArray(ctor, n, r);
          // ties: quantise some inputs so equal values compete (the first must win)
          if (t % 3 === 0) for (let i = 0; i < n; i++) x[i] = Math.round(x[i] * 2);
          const { out, argmax } = maxPool(x, p);
          const ref = refMaxPool(x, p);
          expectSameType(out, x, 'maxPool');
          expectClose(out, ref.out, 0, `maxPool ${JSON.stringify(p)}`);
          expect(Array.from(argmax), `argmax ${JSON.stringify(p)}`).toEqual(Array.from(ref.argmax));
          const gy = randArray(ctor, out.length, r);
          const gx = new Float64Array(n);
          for (let i = 0; i < gy.length; i++) if (ref.argmax[i] >= 0) gx[Math.floor(i / prod(p.outSize)) * prod(p.inSize) + ref.argmax[i]] += gy[i];
          const gxOut = maxPoolBackward(gy, argmax, p);
          expectSameType(gxOut, x, 'maxPoolBackward');
          expectClose(gxOut, gx, tolFor(ctor), 'maxPoolBackward');
        }
      });
      it(`${name} avg pool ${dims}-d (stride, padding, ceil mode, countIncludePad both ways)`, () => {
        for (let t = 0; t < 40; t++) {
          const p = randomPool(r, dims, false);
          p.countIncludePad = t % 2 === 0;
          const x = randArray(ctor, p.planes * prod(p.inSize), r);
          const gy = randArray(ctor, p.planes * prod(p.outSize), r);
          const ref = refAvgPool(x, gy, p);
          const out = avgPool(x, p);
          expectSameType(out, x, 'avgPool');
          expectClose(out, ref.out, tolFor(ctor), `avgPool ${JSON.stringify(p)}`);
          const gx = avgPoolBackward(gy, p);
          expectSameType(gx, x, 'avgPoolBackward');
          expectClose(gx, ref.gx, tolFor(ctor), `avgPoolBackward ${JSON.stringify(p)}`);
        }
      });
    }
  }

  it('max pool: a window with no valid element gives -Infinity and argmax -1', () => {
    // taps at -1 and 2 for output 0 (pad 1, dilation 3) on an input of length 1
    const p: PoolParams = { planes: 1, inSize: [1], kernel: [2], outSize: [2], stride: [1], padding: [1], dilation: [3], countIncludePad: true };
    const { out, argmax } = maxPool(Float32Array.from([5]), p);
    expect(Array.from(out)).toEqual([-Infinity, 5]);
    expect(Array.from(argmax)).toEqual([-1, 0]);
    expect(Array.from(maxPoolBackward(Float32Array.from([7, 2]), argmax, p))).toEqual([2]);
  });

  it('max pool: padding never wins over negative values, NaN propagates', () => {
    const p: PoolParams = { planes: 1, inSize: [2, 2], kernel: [2, 2], outSize: [2, 2], stride: [1, 1], padding: [1, 1], dilation: [1, 1], countIncludePad: true };
    const { out, argmax } = maxPool(Float64Array.from([-4, -3, -2, -1]), p);
    expect(Array.from(out)).toEqual([-4, -3, -2, -1]);
    expect(Array.from(argmax)).toEqual([0, 1, 2, 3]);
    const nan = maxPool(Float64Array.from([1, NaN, 3, 4]), { ...p, padding: [0, 0], outSize: [1, 1] });
    expect(Number.isNaN(nan.out[0])).toBe(true);
    expect(nan.argmax[0]).toBe(1);
  });

  it('max pool: a window of -Infinity points at its first valid element', () => {
    const p: PoolParams = { planes: 1, inSize: [3], kernel: [3], outSize: [1], stride: [1], padding: [1], dilation: [1], countIncludePad: true };
    const { out, argmax } = maxPool(Float32Array.from([-Infinity, -Infinity, -Infinity]), p);
    expect(out[0]).toBe(-Infinity);
    expect(argmax[0]).toBe(0);
  });

  it('avg pool: PyTorch divisors at ceil-mode edges (avg_pool1d([1..5], 2, 2, ceil_mode=True))', () => {
    // torch: avg_pool1d(tensor([[1.,2,3,4,5]]), 2, 2, ceil_mode=True) -> [1.5, 3.5, 5.0]
    const p: PoolParams = { planes: 1, inSize: [5], kernel: [2], outSize: [3], stride: [2], padding: [0], dilation: [1], countIncludePad: true };
    expect(Array.from(avgPool(Float64Array.from([1, 2, 3, 4, 5]), p))).toEqual([1.5, 3.5, 5]);
    // padding 1, count_include_pad: [1,2,3] k3 s2 p1 ceil -> windows [-1,2) [1,4) -> (0+1+2)/3, (2+3+pad)/3
    const q: PoolParams = { planes: 1, inSize: [3], kernel: [3], outSize: [2], stride: [2], padding: [1], dilation: [1], countIncludePad: true };
    expectClose(avgPool(Float64Array.from([1, 2, 3]), q), [1, 5 / 3], 1e-15, 'avg pad');
    expectClose(avgPool(Float64Array.from([1, 2, 3]), { ...q, countIncludePad: false }), [1.5, 2.5], 1e-15, 'avg no pad');
  });

  it('avg pool rejects dilation', () => {
    const p: PoolParams = { planes: 1, inSize: [5], kernel: [2], outSize: [2], stride: [2], padding: [0], dilation: [2], countIncludePad: true };
    expect(() => avgPool(new Float32Array(5), p)).toThrow(/dilation/);
    expect(() => avgPoolBackward(new Float32Array(2), p)).toThrow(/dilation/);
  });
});

// ---------------------------------------------------------------------------------------
// pad

function refPadIndex(o: number, before: number, n: number, mode: PadMode): number {
  let i = o - before;
  if (i >= 0 && i < n) return i;
  if (mode === 'constant') return -1;
  if (mode === 'replicate') return Math.min(Math.max(i, 0), n - 1);
  if (mode === 'circular') {
    while (i < 0) i += n;
    while (i >= n) i -= n;
    return i;
  }
  // reflect (edge excluded), bouncing back and forth
  while (i < 0 || i >= n) {
    if (i < 0) i = -i;
    if (i >= n) i = 2 * (n - 1) - i;
  }
  return i;
}

function refPad(x: ArrayLike<number>, shape: number[], pads: [number, number][], mode: PadMode, value: number): number[] {
  const outShape = shape.map((d, i) => d + pads[i][0] + pads[i][1]);
  const total = prod(outShape);
  const out: number[] = [];
  for (let f = 0; f < total; f++) {
    let rem = f, src = 0, mul = 1, valid = true;
    for (let d = shape.length - 1; d >= 0; d--) {
      const o = rem % outShape[d];
      rem = Math.floor(rem / outShape[d]);
      const i = refPadIndex(o, pads[d][0], shape[d], mode);
      if (i < 0) valid = false;
      src += i * mul;
      mul *= shape[d];
    }
    out.push(valid ? x[src] : value);
  }
  return out;
}

describe('pad', () => {
  const r = rng(4);
  const modes: PadMode[] = ['constant', 'reflect', 'replicate', 'circular'];
  const ctors = [Float32Array, Float64Array, Int32Array] as const;
  for (const mode of modes) {
    it(`${mode}: ranks 1 to 4, every array type, negative pads crop`, () => {
      for (let t = 0; t < 60; t++) {
        const rank = r.int(1, 4);
        const shape = Array.from({ length: rank }, () => r.pick([1, 2, 3, 5, 6]));
        const pads = shape.map((n): [number, number] => {
          const lim = mode === 'reflect' ? n - 1 : mode === 'circular' ? n : 3;
          const one = () => (r.next() < 0.2 ? -r.int(0, Math.floor((n - 1) / 2)) : r.int(0, lim));
          return [one(), one()];
        });
        const ctor = r.pick(ctors);
        const x = new ctor(prod(shape));
        for (let i = 0; i < x.length; i++) x[i] = r.int(-50, 50);
        const value = mode === 'constant' ? r.pick([0, -7, 2.5]) : 0;
        const out = pad(x as TypedArray, shape, pads, mode, value);
        expectSameType(out, x, 'pad');
        const want = refPad(x, shape, pads, mode, ctor === Int32Array ? Math.trunc(value) : value);
        expect(Array.from(out), `${mode} shape [${shape}] pads ${JSON.stringify(pads)}`).toEqual(want);
      }
    });
  }
  it('pads a wide last dim (contiguous middle copy)', () => {
    const x = randArray(Float32Array, 3 * 200, r);
    for (const mode of modes) {
      const out = pad(x, [3, 200], [[1, 2], [5, 7]], mode, 1.5);
      expect(Array.from(out)).toEqual(refPad(x, [3, 200], [[1, 2], [5, 7]], mode, 1.5));
    }
  });
  it('rejects reflect padding as wide as the dim (PyTorch does too)', () => {
    expect(() => pad(new Float32Array(3), [3], [[3, 0]], 'reflect', 0)).toThrow(/reflect/);
    expect(() => pad(new Float32Array(3), [3], [[4, 0]], 'circular', 0)).toThrow(/circular/);
  });
});

// ---------------------------------------------------------------------------------------
// softmax

describe('softmax', () => {
  const r = rng(5);
  for (const [name, ctor] of FLOATS) {
    for (const log of [false, true]) {
      it(`${name} ${log ? 'log-softmax' : 'softmax'} on odd shapes, large values stay finite`, () => {
        for (const rows of [1, 3, 17]) for (const cols of [1, 5, 33, 300]) {
          const x = randArray(ctor, rows * cols, r);
          for (let i = 0; i < x.length; i++) x[i] *= r.pick([1, 10, 1000]);
          const want = new Float64Array(rows * cols);
          for (let i = 0; i < rows; i++) {
            let max = -Infinity;
            for (let j = 0; j < cols; j++) max = Math.max(max, x[i * cols + j]);
            let s = 0;
            for (let j = 0; j < cols; j++) s += Math.exp(x[i * cols + j] - max);
            for (let j = 0; j < cols; j++) want[i * cols + j] = log ? x[i * cols + j] - max - Math.log(s) : Math.exp(x[i * cols + j] - max) / s;
          }
          const out = softmax(x, rows, cols, log);
          expectSameType(out, x, 'softmax');
          for (const v of out) expect(Number.isFinite(v)).toBe(true);
          expectClose(out, want, ctor === Float32Array ? 1e-6 : 1e-13, `softmax ${rows}x${cols}`);
        }
      });
    }
  }
});

// ---------------------------------------------------------------------------------------
// strided copies, gather, scatterAdd

const contiguousStrides = (shape: readonly number[]) => {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) { s[d] = acc; acc *= shape[d]; }
  return s;
};
/** Multi-index of flat i in shape. */
function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) { idx[d] = i % shape[d]; i = Math.floor(i / shape[d]); }
  return idx;
}

/** A random view of a contiguous tensor: permute, slice (offset, step) and expand. */
function randomView(r: Rng, base: number[]) {
  const rank = base.length;
  const bs = contiguousStrides(base);
  const perm = Array.from({ length: rank }, (_, i) => i).sort(() => r.next() - 0.5);
  if (r.next() < 0.4) perm.sort((a, b) => a - b); // keep the last dim contiguous sometimes
  let offset = 0;
  const shape: number[] = [], strides: number[] = [];
  for (const d of perm) {
    const n = base[d];
    const kind = r.next();
    if (kind < 0.2 && n > 2) {
      const step = r.pick([1, 2]);
      const start = r.int(0, n - 2);
      const len = Math.floor((n - 1 - start) / step) + 1;
      offset += start * bs[d];
      shape.push(len); strides.push(bs[d] * step);
    } else if (kind < 0.3 && n === 1) {
      shape.push(r.pick([1, 3, 4])); strides.push(0); // expand
    } else {
      shape.push(n); strides.push(bs[d]);
    }
  }
  return { shape, strides, offset };
}

describe('strided copies', () => {
  const r = rng(6);
  it('strided gathers permuted / sliced / expanded views of every array type', () => {
    for (let t = 0; t < 200; t++) {
      const rank = r.int(0, 5);
      const base = Array.from({ length: rank }, () => r.pick([1, 2, 3, 5, 17, 70]));
      while (prod(base) > 20000) base[base.indexOf(Math.max(...base))] = 3;
      const ctor = r.pick([Float32Array, Float64Array, Int32Array] as const);
      const x = new ctor(prod(base));
      for (let i = 0; i < x.length; i++) x[i] = r.int(-1000, 1000);
      const v = randomView(r, base);
      const out = strided(x as TypedArray, v.shape, v.strides, v.offset);
      expectSameType(out, x, 'strided');
      const want: number[] = [];
      for (let i = 0; i < prod(v.shape); i++) want.push(x[v.offset + unravel(i, v.shape).reduce((s, k, d) => s + k * v.strides[d], 0)]);
      expect(Array.from(out), `view ${JSON.stringify(v)} of [${base}]`).toEqual(want);
    }
  });

  it('writeStrided scatters into a view (cat, slice assignment), leaving the rest', () => {
    for (let t = 0; t < 200; t++) {
      const rank = r.int(0, 4);
      const base = Array.from({ length: rank }, () => r.pick([1, 2, 3, 5, 17, 70]));
      while (prod(base) > 20000) base[base.indexOf(Math.max(...base))] = 3;
      const ctor = r.pick([Float32Array, Float64Array, Int32Array] as const);
      const dst = new ctor(prod(base));
      for (let i = 0; i < dst.length; i++) dst[i] = r.int(-1000, 1000);
      let v = randomView(r, base);
      if (v.strides.includes(0)) v = { shape: base, strides: contiguousStrides(base), offset: 0 }; // no overlapping writes
      const src = new ctor(prod(v.shape));
      for (let i = 0; i < src.length; i++) src[i] = r.int(-1000, 1000);
      const want = Array.from(dst);
      for (let i = 0; i < src.length; i++) want[v.offset + unravel(i, v.shape).reduce((s, k, d) => s + k * v.strides[d], 0)] = src[i];
      writeStrided(dst as TypedArray, src as TypedArray, v.shape, v.strides, v.offset);
      expect(Array.from(dst), `view ${JSON.stringify(v)} of [${base}]`).toEqual(want);
    }
  });

  it('gather / scatterAdd follow torch.gather on every axis, index smaller than the input off-axis', () => {
    for (let t = 0; t < 150; t++) {
      const rank = r.int(1, 4);
      const xShape = Array.from({ length: rank }, () => r.pick([1, 2, 3, 5, 17]));
      const axis = r.int(0, rank - 1);
      const iShape = xShape.map((n, d) => (d === axis ? r.pick([1, 2, 3, 5, 7]) : r.int(1, n)));
      const ctor = r.pick([Float32Array, Float64Array, Int32Array] as const);
      const x = new ctor(prod(xShape));
      for (let i = 0; i < x.length; i++) x[i] = r.int(-1000, 1000);
      const index = new Int32Array(prod(iShape));
      for (let i = 0; i < index.length; i++) index[i] = r.int(0, xShape[axis] - 1);
      const xs = contiguousStrides(xShape);
      const want: number[] = [];
      const sc = new Float64Array(x.length);
      const src = new ctor(index.length);
      for (let i = 0; i < src.length; i++) src[i] = r.int(-9, 9);
      for (let i = 0; i < index.length; i++) {
        const idx = unravel(i, iShape);
        idx[axis] = index[i];
        const flat = idx.reduce((s, k, d) => s + k * xs[d], 0);
        want.push(x[flat]);
        sc[flat] += src[i];
      }
      const g = gather(x as TypedArray, xShape, index, iShape, axis);
      expectSameType(g, x, 'gather');
      expect(Array.from(g)).toEqual(want);
      const s = scatterAdd(src as TypedArray, index, iShape, xShape, axis);
      expectSameType(s, x, 'scatterAdd');
      expect(Array.from(s)).toEqual(Array.from(sc));
    }
  });

  it('gather / scatterAdd name the bad index and the axis size', () => {
    const x = new Float32Array(6);
    expect(() => gather(x, [2, 3], Int32Array.from([0, 3]), [2, 1], 1)).toThrow(RangeError);
    expect(() => gather(x, [2, 3], Int32Array.from([0, 3]), [2, 1], 1)).toThrow(/index 3 .*dim 1 of size 3/);
    expect(() => gather(x, [2, 3], Int32Array.from([-1]), [1, 1], 0)).toThrow(/index -1 .*dim 0 of size 2/);
    expect(() => scatterAdd(new Float32Array(2), Int32Array.from([2, 0]), [2, 1], [2, 2], 1)).toThrow(/index 2 .*dim 1 of size 2/);
  });
});
