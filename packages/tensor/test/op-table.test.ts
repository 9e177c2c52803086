/** The elementwise op table: what derives from each declaration, and the renderers' special values. */
import { describe, expect, it } from 'vitest';
import * as wg from '../src/index';
import * as ew from '../src/ops/elementwise';

type Declared = [string, { op: { name: string; internal?: boolean } }];
const exported = Object.entries(ew as Record<string, unknown>).filter((e): e is Declared => typeof e[1] === 'function' && 'op' in e[1]);

describe('the elementwise op table', () => {
  it('exports each public op under its declared name, with a Tensor method of that name', () => {
    expect(exported.length).toBeGreaterThan(30);
    for (const [name, fn] of exported) {
      expect(fn.op.name, name).toBe(name);
      if (fn.op.internal) continue; // cast: a hand-written function and method over its table op
      expect(typeof (wg.Tensor.prototype as unknown as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('gives internal building blocks no method', () => {
    const internal = [...wg.elementwiseOps.values()].filter((f) => f.op.internal).map((f) => f.op.name);
    expect(internal).toEqual(expect.arrayContaining(['step', 'leakyReluGrad', 'powScalar', 'clamp', 'pow', 'cast']));
    for (const name of ['step', 'leakyReluGrad', 'powScalar']) expect(name in wg.Tensor.prototype, name).toBe(false);
  });

  it('passes parameters and their defaults through functions and methods alike', async () => {
    const x = wg.tensor([-2, -0.5, 0.5, 30]);
    expect(Array.from(await wg.leakyRelu(x).data())).toEqual(Array.from(await x.leakyRelu(0.01).data()));
    const sp = Array.from(await x.softplus(2, 1).data());
    expect(sp[3]).toBe(30); // past the threshold: x itself
    expect(sp[0]).toBeCloseTo(Math.log1p(Math.exp(-4)) / 2, 6);
    expect(Array.from(await x.hardtanh().data())).toEqual([-1, -0.5, 0.5, 1]);
  });

  it('hardswish: the values and gradients PyTorch 1.13 gives, NaN and the kinks at ±3 included', async () => {
    const x = wg.tensor([-4, -3, -1.5, -0, 1, 2.5, 3, 4, NaN], { requiresGrad: true });
    const y = wg.hardswish(x);
    y.sum().backward();
    expect(Array.from(await y.data())).toEqual([-0, -0, -0.375, -0, 0.6666666865348816, 2.2916667461395264, 3, 4, NaN]);
    expect(Array.from(await x.grad!.data())).toEqual([0, -0.5, 0, 0.5, 0.8333333730697632, 1.3333332538604736, 1.5, 1, 1]);
  });

  it('keeps the reference semantics: NaN wins max/min, int division truncates, int mul wraps, stable sigmoid', async () => {
    const nan = wg.tensor([NaN, 1]);
    const one = wg.tensor([1, NaN]);
    expect(Array.from(await wg.maximum(nan, one).data())).toEqual([NaN, NaN]);
    expect(Array.from(await wg.minimum(nan, one).data())).toEqual([NaN, NaN]);
    const i = wg.tensor([7, -7, 5, 2 ** 30], [4], { dtype: 'int32' });
    const d = wg.tensor([2, 2, 0, 4], [4], { dtype: 'int32' });
    expect(Array.from(await wg.div(i, d).data())).toEqual([3, -3, 0, 2 ** 28]);
    expect(Array.from(await wg.mul(i, d).data())).toEqual([14, -14, 0, 0]);
    expect(Array.from(await wg.sigmoid(wg.tensor([-1000, 1000])).data())).toEqual([0, 1]);
  });

  it('renders small-argument functions accurately (log1p, expm1, erf)', async () => {
    const x = wg.tensor([1e-10, -1e-7, 0.3, 2], [4], { dtype: 'float64' });
    const l = await wg.log1p(x).data();
    const e = await wg.expm1(x).data();
    [1e-10, -1e-7, 0.3, 2].forEach((v, k) => {
      expect(l[k] / Math.log1p(v)).toBeCloseTo(1, 12);
      expect(e[k] / Math.expm1(v)).toBeCloseTo(1, 12);
    });
    // erf from the Abramowitz-Stegun tables
    const erf = await wg.erf(wg.tensor([0.1, 0.5, 1, 2, -1], [5], { dtype: 'float64' })).data();
    [0.1124629160, 0.5204998778, 0.8427007929, 0.9953222650, -0.8427007929].forEach((v, k) => expect(Math.abs(erf[k] - v)).toBeLessThan(2e-7));
  });
});
