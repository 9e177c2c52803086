/**
 * Update ops (kernels-ir's updateOp, the optimizer steps' trees in ops/optim.ts): the tree
 * checks; every write computed from the old values; the JS reference against PyTorch's
 * formulas written out in float32 steps; the WASM kernel bit for bit against the reference
 * on odd sizes with NaN and ±Infinity among the values; webgpu (lavapipe) within 1e-6; a
 * float64 parameter computed in float64; the scalars following the settings at each jit replay.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import { expr as E, updateOp } from '@webgrad/kernels-ir';
import type { AdamParams, Backend, SgdParams, Storage } from '../src/backend';
import { cpuBackend, cpuReferenceBackend } from '../src/backends/cpu';
import { updateLoop } from '../src/backends/cpu/elementwise';
import { wasmUpdate } from '../src/backends/cpu/wasm/memops';
import { defaultThreads, wasmRuntime } from '../src/backends/cpu/wasm/runtime';
import { installWasmNodeHost } from '../src/backends/cpu/wasm/node-host';
import { adamOp, adamScalars, sgdOp, sgdScalars } from '../src/ops/optim';
import { openBackend } from './helpers/webgpu-backend';
import { randomWithSpecials } from './helpers/rng';

installWasmNodeHost();
const rt = wasmRuntime();
const main = await openBackend();
afterAll(async () => {
  rt?.setThreads(defaultThreads());
  await main.gpu?.destroy();
});

const f = Math.fround;
const SPECIAL = [NaN, Infinity, -Infinity, -0, 0, 1e-40, 3e38];
/** Values with a few specials; `positive` (a second moment): their magnitudes. */
function values(n: number, seed: number, positive = false): Float32Array {
  const out = randomWithSpecials(n, seed, SPECIAL, 0.03);
  return positive ? out.map(Math.abs) : out;
}
/** The bits of each value, every NaN as one (a NaN's sign and payload differ between x86's SIMD units and V8's stores). */
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length), (b, i) => (Number.isNaN(a[i]) ? 0x7fc00000 : b));

describe('updateOp', () => {
  it('checks its trees and counts', () => {
    expect(() => updateOp(0, 0, [])).toThrow(/0 arrays is not an integer in 1\.\.7/);
    expect(() => updateOp(8, 0, Array(8).fill(E.arg(0)))).toThrow(/8 arrays/);
    expect(() => updateOp(2, 1, [E.arg(0)])).toThrow(/1 writes given for 2 arrays/);
    expect(() => updateOp(1, 0, [null])).toThrow(/no array is written/);
    expect(() => updateOp(1, 1, [E.add(E.arg(0), E.arg(2))])).toThrow(/arg\(2\) is neither one of the 1 arrays nor one of the 1 scalars/);
    expect(() => updateOp(1, 0, [E.add(E.x, 1)])).toThrow(/reads the input x/);
    expect(() => updateOp(1, 0, [E.mul(E.arg(0), E.a)])).toThrow(/parameter a; pass it as a scalar/);
    expect(() => updateOp(1, 0, [E.gt(E.arg(0), 0)])).toThrow(/write of array 0 is a boolean/);
    expect(updateOp(1, 1, [E.mul(E.arg(0), E.arg(1))]).name).toBe(updateOp(1, 1, [E.mul(E.arg(0), E.arg(1))]).name);
    expect(updateOp(1, 1, [E.mul(E.arg(0), E.arg(1))]).name).not.toBe(updateOp(1, 1, [E.mul(E.arg(1), E.arg(0))]).name);
  });

  it('computes every write from the old values, on each backend', async () => {
    // a swap, and a sum of the two: each reads what the arrays held before
    const op = updateOp(3, 0, [E.arg(1), E.arg(0), E.add(E.arg(0), E.arg(1))]);
    const n = 13;
    const a = values(n, 1), b = values(n, 2);
    for (const be of [cpuReferenceBackend, cpuBackend, ...(main.gpu ? [main.gpu as Backend] : [])]) {
      const s = [be.upload(a, 'float32'), be.upload(b, 'float32'), be.fill(n, 0, 'float32')];
      be.update(op, [{ arrays: s, size: n }], [], 'float32');
      const [x, y, z] = await Promise.all(s.map((st) => be.read(st, n, 'float32') as Promise<Float32Array>));
      expect(bits(x)).toEqual(bits(b));
      expect(bits(y)).toEqual(bits(a));
      expect(bits(z)).toEqual(bits(a.map((v, i) => f(v + b[i]))));
      s.forEach((st) => be.dispose(st));
    }
  });
});

const SGD: SgdParams[] = [
  { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, firstStep: false },
  { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 1e-4, nesterov: false, firstStep: true },
  { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 1e-4, nesterov: false, firstStep: false },
  { lr: 0.01, momentum: 0.8, dampening: 0, weightDecay: 5e-4, nesterov: true, firstStep: false },
];
const ADAM: AdamParams[] = [
  { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, step: 1 },
  { lr: 3e-3, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.01, decoupled: false, step: 7 },
  { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, decoupled: true, step: 3 },
];

/** torch.optim.SGD's step, one float32 rounding per operation (PyTorch's float32 tensor ops). */
function sgdByHand(w: number, g: number, buf: number, p: SgdParams, momentum: boolean): [number, number] {
  let d = f(g + f(f(p.weightDecay) * w));
  if (momentum) {
    buf = p.firstStep ? d : f(f(f(p.momentum) * buf) + f(f(1 - p.dampening) * d));
    d = p.nesterov ? f(d + f(f(p.momentum) * buf)) : buf;
  }
  return [f(w - f(f(p.lr) * d)), buf];
}

/** torch.optim.Adam / AdamW's step, one float32 rounding per operation, bias corrections in f64. */
function adamByHand(w: number, g: number, m: number, v: number, p: AdamParams): [number, number, number] {
  const bc1 = 1 - p.beta1 ** p.step, bc2 = 1 - p.beta2 ** p.step;
  if (p.decoupled) w = f(w * f(1 - p.lr * p.weightDecay));
  else g = f(g + f(f(p.weightDecay) * w));
  m = f(f(f(p.beta1) * m) + f(f(1 - p.beta1) * g));
  v = f(f(f(p.beta2) * v) + f(f(f(1 - p.beta2) * g) * g));
  const denom = f(f(f(Math.sqrt(v)) / f(Math.sqrt(bc2))) + f(p.eps));
  return [f(w - f(f(p.lr / bc1) * f(m / denom))), m, v];
}

describe('the optimizer trees', () => {
  const n = 1037; // odd: uneven thread parts and a scalar tail after the vectors
  it('SGD on the JS reference is PyTorch\'s formula in float32 steps', () => {
    SGD.forEach((p, c) => {
      const momentum = p.momentum > 0;
      const w = values(n, 10 + c), g = values(n, 20 + c), buf = values(n, 30 + c);
      const want = Array.from(w, (wi, i) => sgdByHand(wi, g[i], buf[i], p, momentum));
      const arrays = [w.slice(), g, ...(momentum ? [buf.slice()] : [])];
      updateLoop(sgdOp(p, momentum))(arrays, sgdScalars(p), 0, n);
      expect(bits(arrays[0])).toEqual(bits(Float32Array.from(want, (r) => r[0])));
      if (momentum) expect(bits(arrays[2])).toEqual(bits(Float32Array.from(want, (r) => r[1])));
    });
  });

  it('Adam and AdamW on the JS reference are PyTorch\'s formulas in float32 steps', () => {
    ADAM.forEach((p, c) => {
      const w = values(n, 40 + c), g = values(n, 50 + c), m = values(n, 60 + c), v = values(n, 70 + c, true);
      const want = Array.from(w, (wi, i) => adamByHand(wi, g[i], m[i], v[i], p));
      const arrays = [w.slice(), g, m.slice(), v.slice()];
      updateLoop(adamOp(p))(arrays, adamScalars(p), 0, n);
      [0, 2, 3].forEach((k, j) => expect(bits(arrays[k]), `array ${k}`).toEqual(bits(Float32Array.from(want, (r) => r[j]))));
    });
  });

  it.skipIf(!rt)('give the reference\'s bits on WASM, on 1 and 3 threads', () => {
    const cases = [...SGD.map((p) => ({ op: sgdOp(p, p.momentum > 0), scalars: sgdScalars(p), arrays: p.momentum > 0 ? 3 : 2 })), ...ADAM.map((p) => ({ op: adamOp(p), scalars: adamScalars(p), arrays: 4 }))];
    for (const threads of [1, 3]) {
      rt!.setThreads(threads);
      cases.forEach(({ op, scalars, arrays }, c) => {
        for (const size of [1, 3, 4, 7, n, 100_003]) {
          const init = Array.from({ length: arrays }, (_, k) => values(size, 100 * c + k, k === 3));
          const ref = init.map((a) => a.slice());
          updateLoop(op)(ref, scalars, 0, size);
          const got = init.map((a) => {
            const inMemory = rt!.allocArray('float32', a.length) as Float32Array;
            inMemory.set(a);
            return inMemory;
          });
          expect(wasmUpdate(rt!, op, got, size, scalars)).toBe(true);
          got.forEach((a, k) => expect(bits(a), `${op.name} size ${size} array ${k} on ${threads} threads`).toEqual(bits(ref[k])));
        }
      });
    }
  });

  it.skipIf(!main.gpu)('agree with the reference on webgpu within 1e-6 relative (NaN where it is NaN)', async () => {
    const gpu = main.gpu!;
    const cases = [...SGD.map((p) => ({ op: sgdOp(p, p.momentum > 0), scalars: sgdScalars(p), arrays: p.momentum > 0 ? 3 : 2 })), ...ADAM.map((p) => ({ op: adamOp(p), scalars: adamScalars(p), arrays: 4 }))];
    for (const [c, { op, scalars, arrays }] of cases.entries()) {
      const size = 1037;
      const init = Array.from({ length: arrays }, (_, k) => values(size, 900 + 10 * c + k, k === 3));
      const ref = init.map((a) => a.slice());
      updateLoop(op)(ref, scalars, 0, size);
      const s: Storage[] = init.map((a) => gpu.upload(a, 'float32'));
      gpu.update(op, [{ arrays: s, size }], scalars, 'float32');
      for (let k = 0; k < arrays; k++) {
        const got = (await gpu.read(s[k], size, 'float32')) as Float32Array;
        for (let i = 0; i < size; i++) {
          const want = ref[k][i];
          if (Number.isNaN(want)) expect(got[i], `${op.name} array ${k} [${i}]`).toBeNaN();
          else if (!Number.isFinite(want)) expect(got[i], `${op.name} array ${k} [${i}]`).toBe(want);
          else expect(Math.abs(got[i] - want), `${op.name} array ${k} [${i}]: ${got[i]} vs ${want}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want)));
        }
      }
      s.forEach((st) => gpu.dispose(st));
    }
  });

  it('compute a float64 parameter in float64', () => {
    const p = ADAM[1];
    const w = wg.tensor([0.1, -0.2, 0.3], { dtype: 'float64' }), g = wg.tensor([1e-3, 2, -3], { dtype: 'float64' });
    const m = wg.zerosLike(w), v = wg.zerosLike(w);
    wg.adamUpdate(w, g, m, v, p);
    const bc1 = 1 - p.beta1 ** p.step, bc2 = 1 - p.beta2 ** p.step;
    const want = [0.1, -0.2, 0.3].map((wi, i) => {
      const gi = [1e-3, 2, -3][i] + p.weightDecay * wi;
      const mi = (1 - p.beta1) * gi, vi = (1 - p.beta2) * gi * gi;
      return wi - (p.lr / bc1) * (mi / (Math.sqrt(vi) / Math.sqrt(bc2) + p.eps));
    });
    w.dataSync().forEach((got, i) => expect(got).toBeCloseTo(want[i], 15));
    [w, g, m, v].forEach((t) => t.dispose());
  });
});

describe('the scalars under jit', () => {
  it('follow the settings at every replay (a learning rate changed between calls)', () => {
    const settings = { lr: 0.5, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, firstStep: false };
    const w = wg.tensor([1, 2, 3]), g = wg.tensor([1, 1, 1]);
    let lr = 0.5;
    const step = wg.jit(() => {
      wg.sgdUpdate(w, g, null, wg.replayed({ ...settings, lr }, () => ({ ...settings, lr })));
      return wg.zeros([1]);
    });
    const expected = [1, 2, 3];
    for (let call = 0; call < 4; call++) {
      lr = 0.5 / (call + 1);
      step().dispose();
      expected.forEach((e, i) => (expected[i] = Math.fround(e - Math.fround(Math.fround(lr) * 1))));
      expect(Array.from(w.dataSync())).toEqual(expected);
    }
    expect(step.stats.replays).toBeGreaterThan(0);
    [w, g].forEach((t) => t.dispose());
  });
});
