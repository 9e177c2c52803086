/**
 * The op suite, parametrised by device: every op's forward and gradients on webgpu equal the
 * cpu backend's on the same random inputs (float32); on inputs with NaN, ±Infinity and ±0
 * too, where the cpu backend's float32 kernels (WASM) must also equal its float64 reference.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import type { Tensor } from '@webgrad/tensor';
import { nonFiniteCases, opCases } from './helpers/op-cases';
import { makeInputs } from './helpers/inputs';
import { openWebGPU } from './helpers/webgpu';

const gpu = await openWebGPU();
afterAll(() => wg.releaseWebGPU());

async function run(fn: (...xs: Tensor[]) => Tensor, specs: Parameters<typeof makeInputs>[0], device: string, dtype: 'float32' | 'float64' = 'float32') {
  const inputs = makeInputs(specs, { dtype, device });
  const out = fn(...inputs);
  if (out.requiresGrad) out.backward(wg.tensor(Array.from({ length: out.size }, (_, i) => Math.cos(i)), out.shape, { device, dtype }));
  const grads = await Promise.all(inputs.map((t) => (t.grad ? t.grad.data() : null)));
  return { out: await out.data(), shape: out.shape, grads };
}

/** Within 2e-3 relative; NaN only against NaN and an infinity only against the same one. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const [a, e] = [actual[i], expected[i]];
    const err = a === e || (Number.isNaN(a) && Number.isNaN(e)) ? 0 : Math.abs(a - e) / (1e-3 + Math.abs(e));
    if (!(err <= worst)) [worst, at] = [err, i];
  }
  expect(worst, `${what}: element ${at}: ${actual[at]} vs ${expected[at]}`).toBeLessThan(2e-3);
}

async function sameOnBoth(op: (typeof opCases)[number], a: [string, 'float32' | 'float64'], b: [string, 'float32' | 'float64']): Promise<void> {
  const ref = await run(op.fn, op.inputs, ...a);
  const dev = await run(op.fn, op.inputs, ...b);
  expect(dev.shape).toEqual(ref.shape);
  expectClose(dev.out, ref.out, 'output');
  ref.grads.forEach((g, i) => {
    if (g) expectClose(dev.grads[i]!, g, `gradient of input ${i}`);
  });
}

describe('NaN, ±Infinity and ±0: the cpu float32 kernels (WASM) equal the float64 reference', () => {
  for (const op of nonFiniteCases) it(op.name, () => sameOnBoth(op, ['cpu', 'float64'], ['cpu', 'float32']));
});

describe.skipIf(!gpu.ok)(`ops on webgpu equal cpu (${gpu.reason})`, () => {
  for (const op of opCases) it(op.name, () => sameOnBoth(op, ['cpu', 'float32'], ['webgpu', 'float32']));
});

describe.skipIf(!gpu.ok)(`NaN, ±Infinity and ±0: ops on webgpu equal cpu (${gpu.reason})`, () => {
  for (const op of nonFiniteCases) it(op.name, () => sameOnBoth(op, ['cpu', 'float32'], ['webgpu', 'float32']));
});

describe.skipIf(!gpu.ok)('moving tensors between cpu and webgpu', () => {
  it('toAsync carries the gradient back to the GPU tensor', async () => {
    const x = wg.tensor([1, -2, 3], [3], { device: 'webgpu', requiresGrad: true });
    const onCpu = await x.toAsync('cpu');
    onCpu.mul(onCpu).sum().backward();
    expect(x.grad!.device).toBe('webgpu');
    expect(Array.from(await x.grad!.data())).toEqual([2, -4, 6]);
  });

  it('a cpu tensor that requires a gradient cannot silently lose it on the way to webgpu', () => {
    const x = wg.tensor([1, 2], [2], { requiresGrad: true });
    expect(() => x.to('webgpu')).toThrow(/requires a gradient, which cannot flow back from 'webgpu'/);
    expect(wg.noGrad(() => x.to('webgpu')).device).toBe('webgpu');
    expect(x.detach().to('webgpu').requiresGrad).toBe(false);
  });
});
