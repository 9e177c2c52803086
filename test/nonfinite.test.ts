/**
 * NaN and ±Infinity behave as in PyTorch, op by op, on every kernel family: the cpu
 * backend's JavaScript reference (float64), its WASM SIMD kernels (float32) and WebGPU
 * (float32, skipped without an adapter, a failure under CI). The expected values are
 * PyTorch's (test/fixtures/make_nonfinite.py writes nonfinite.json): a NaN must be NaN, an
 * infinity the same infinity, and the finite values close.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as wg from '@webgrad/tensor';
import type { DType, Tensor } from '@webgrad/tensor';
import { openWebGPU } from './helpers/webgpu';

type Value = number | 'NaN' | 'Infinity' | '-Infinity';
interface Arr { shape: number[]; data: Value[]; dtype?: string }
interface Case {
  name: string;
  op: string;
  options: Record<string, any>;
  inputs: Record<string, Arr>;
  upstream?: Arr;
  output: Arr;
  grads?: Record<string, Arr>;
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/nonfinite.json', import.meta.url), 'utf8')) as { cases: Case[] };
const num = (v: Value): number => (typeof v === 'number' ? v : Number(v));

type Run = (t: Tensor[], o: Record<string, any>) => Tensor;
const ops: Record<string, Run> = {
  relu: ([x]) => wg.relu(x),
  leaky_relu: ([x], o) => wg.leakyRelu(x, o.negativeSlope),
  elu: ([x], o) => wg.elu(x, o.alpha),
  hardtanh: ([x], o) => wg.hardtanh(x, o.minVal, o.maxVal),
  clamp: ([x], o) => wg.clamp(x, o.min, o.max),
  sigmoid: ([x]) => wg.sigmoid(x),
  tanh: ([x]) => wg.tanh(x),
  softplus: ([x], o) => wg.softplus(x, o.beta, o.threshold),
  silu: ([x]) => wg.silu(x),
  gelu: ([x]) => wg.gelu(x),
  gelu_tanh: ([x]) => wg.geluTanh(x),
  abs: ([x]) => wg.abs(x),
  neg: ([x]) => wg.neg(x),
  sign: ([x]) => wg.sign(x),
  exp: ([x]) => wg.exp(x),
  log: ([x]) => wg.log(x),
  sqrt: ([x]) => wg.sqrt(x),
  log1p: ([x]) => wg.log1p(x),
  expm1: ([x]) => wg.expm1(x),
  sin: ([x]) => wg.sin(x),
  cos: ([x]) => wg.cos(x),
  erf: ([x]) => wg.erf(x),
  reciprocal: ([x]) => wg.reciprocal(x),
  rsqrt: ([x]) => wg.rsqrt(x),
  square: ([x]) => wg.square(x),
  maximum: ([x, y]) => wg.maximum(x, y),
  minimum: ([x, y]) => wg.minimum(x, y),
  add: ([x, y]) => wg.add(x, y),
  sub: ([x, y]) => wg.sub(x, y),
  mul: ([x, y]) => wg.mul(x, y),
  div: ([x, y]) => wg.div(x, y),
  amax: ([x], o) => wg.max(x, o.dim),
  amin: ([x], o) => wg.min(x, o.dim),
  argmax: ([x], o) => wg.argmax(x, o.dim),
  argmin: ([x], o) => wg.argmin(x, o.dim),
  sum: ([x], o) => wg.sum(x, o.dim),
  mean: ([x], o) => wg.mean(x, o.dim),
  max_pool1d: ([x], o) => wg.maxPool1d(x, o.kernelSize, o),
  max_pool2d: ([x], o) => wg.maxPool2d(x, o.kernelSize, o),
  avg_pool2d: ([x], o) => wg.avgPool2d(x, o.kernelSize, o),
  softmax: ([x], o) => wg.softmax(x, o.dim),
  log_softmax: ([x], o) => wg.logSoftmax(x, o.dim),
  mse_loss: ([x, y], o) => wg.mseLoss(x, y, o),
  cross_entropy: ([x, target], o) => wg.crossEntropy(x, target, o),
  conv2d_relu: ([x, w], o) => wg.relu(wg.conv2d(x, w, null, o)),
};

/** NaN where PyTorch has NaN, the same infinity, else within `tol` relative (of max(1, |e|)). */
function expectSame(actual: ArrayLike<number>, expected: Arr, tol: number, what: string): void {
  expect(actual.length, `${what}: element count`).toBe(expected.data.length);
  for (let i = 0; i < actual.length; i++) {
    const e = num(expected.data[i]), a = actual[i];
    const ok = Number.isNaN(e) ? Number.isNaN(a) : !Number.isFinite(e) ? a === e : Math.abs(a - e) <= tol * Math.max(1, Math.abs(e));
    if (!ok) expect.fail(`${what}[${i}]: got ${a}, PyTorch ${expected.data[i]}`);
  }
}

const gpu = await openWebGPU();
afterAll(() => wg.releaseWebGPU());

const kernels: { label: string; device: string; dtype: DType; tol: number; skip: boolean }[] = [
  { label: 'cpu JavaScript reference (float64)', device: 'cpu', dtype: 'float64', tol: 1e-6, skip: false },
  { label: 'cpu WASM kernels (float32)', device: 'cpu', dtype: 'float32', tol: 2e-5, skip: false },
  { label: `webgpu (float32, ${gpu.reason})`, device: 'webgpu', dtype: 'float32', tol: 2e-5, skip: !gpu.ok },
];

for (const k of kernels) {
  describe.skipIf(k.skip)(`NaN and Infinity as in PyTorch: ${k.label}`, () => {
    it('every fixture op is mapped', () => {
      for (const c of fixture.cases) expect(ops[c.op], c.op).toBeDefined();
    });
    for (const c of fixture.cases) {
      it(c.name, async () => {
        // Class indices stay int32 and take no gradient.
        const inputs = Object.values(c.inputs).map((a) => a.dtype === 'int32'
          ? wg.tensor(a.data.map(num), a.shape, { dtype: 'int32', device: k.device })
          : wg.tensor(a.data.map(num), a.shape, { dtype: k.dtype, device: k.device, requiresGrad: !!c.grads }));
        const out = ops[c.op](inputs, c.options);
        expect(out.shape).toEqual(c.output.shape);
        expectSame(await out.data(), c.output, k.tol, 'output');
        if (!c.grads) return;
        out.backward(wg.tensor(c.upstream!.data.map(num), c.upstream!.shape, { dtype: k.dtype, device: k.device }));
        const names = Object.keys(c.inputs);
        for (let i = 0; i < names.length; i++) if (c.grads[names[i]]) expectSame(await inputs[i].grad!.data(), c.grads[names[i]], k.tol, `grad ${names[i]}`);
      });
    }
  });
}
