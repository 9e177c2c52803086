/**
 * The op suite, parametrised by device: every op's forward and gradients on webgpu equal the
 * cpu backend's on the same random inputs (float32).
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import type { Tensor } from '@webgrad/tensor';
import { opCases } from './helpers/op-cases';
import { makeInputs } from './helpers/inputs';
import { openWebGPU } from './helpers/webgpu';

const gpu = await openWebGPU();
afterAll(() => wg.releaseWebGPU());

async function run(fn: (...xs: Tensor[]) => Tensor, specs: Parameters<typeof makeInputs>[0], device: string) {
  const inputs = makeInputs(specs, { dtype: 'float32', device });
  const out = fn(...inputs);
  const upstream = wg.tensor(Array.from({ length: out.size }, (_, i) => Math.cos(i)), out.shape, { device });
  if (out.requiresGrad) out.backward(upstream);
  const grads = await Promise.all(inputs.map((t) => (t.grad ? t.grad.data() : null)));
  return { out: await out.data(), shape: out.shape, grads };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / (1e-3 + Math.abs(expected[i]));
    if (!(err <= worst)) [worst, at] = [err, i];
  }
  expect(worst, `${what}: element ${at}: ${actual[at]} vs ${expected[at]}`).toBeLessThan(2e-3);
}

describe.skipIf(!gpu.ok)(`ops on webgpu equal cpu (${gpu.reason})`, () => {
  for (const op of opCases) {
    it(op.name, async () => {
      const cpu = await run(op.fn, op.inputs, 'cpu');
      const dev = await run(op.fn, op.inputs, 'webgpu');
      expect(dev.shape).toEqual(cpu.shape);
      expectClose(dev.out, cpu.out, 'output');
      cpu.grads.forEach((g, i) => {
        if (g) expectClose(dev.grads[i]!, g, `gradient of input ${i}`);
      });
    });
  }
});
