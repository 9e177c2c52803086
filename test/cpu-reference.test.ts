/**
 * cpuReferenceBackend is the oracle of the WASM kernels, so it must not run any of them: it
 * is the JavaScript backend, and the cpu backend is it with the WASM kernels laid over it.
 * A training step of a network with every kind of layer the lab uses (convolution, batch
 * norm, max and average pooling, linear, ReLU, cross-entropy, SGD with momentum
 * and Adam) runs on it as a device of its own, with the WASM runtime's kernel entry watched.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { wasmRuntime } from '../packages/tensor/src/backends/cpu/wasm/runtime';

const DEVICE = 'cpu-reference';

function step(device: string): { loss: number; weights: number[] } {
  wg.manualSeed(3);
  const model = new nn.Sequential(
    new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(4, 6, 3, { padding: 1 }), new nn.ReLU(), new nn.AvgPool2d(2),
    new nn.Flatten(), new nn.Linear(6 * 2 * 2, 3),
  );
  if (device !== 'cpu') model.to(device);
  const x = wg.randn([5, 3, 8, 8], { device });
  const y = wg.tensor([0, 1, 2, 1, 0], { dtype: 'int32', device });
  const adam = new nn.Adam(model.parameters().slice(0, 4), { lr: 1e-2 });
  const sgd = new nn.SGD(model.parameters().slice(4), { lr: 1e-2, momentum: 0.9 });
  let loss = 0;
  for (let i = 0; i < 2; i++) {
    adam.zeroGrad();
    sgd.zeroGrad();
    const l = wg.crossEntropy(model.forward(x), y);
    l.backward();
    adam.step();
    sgd.step();
    loss = l.dataSync()[0];
  }
  const weights = [...model.parameters()[0].dataSync()];
  return { loss, weights };
}

describe('cpuReferenceBackend', () => {
  wg.registerBackend({ ...wg.cpuReferenceBackend, name: DEVICE });
  afterAll(() => wg.setDefaultDevice('cpu'));

  it('trains a step without entering a WASM kernel; the cpu backend enters them, and agrees', () => {
    const rt = wasmRuntime();
    expect(rt, 'this test needs the WASM runtime').not.toBeNull();
    const run = vi.spyOn(rt!, 'run');
    const reference = step(DEVICE);
    expect(run).not.toHaveBeenCalled();
    const fast = step('cpu');
    expect(run).toHaveBeenCalled();
    run.mockRestore();
    expect(Number.isFinite(reference.loss)).toBe(true);
    expect(fast.loss).toBeCloseTo(reference.loss, 4);
    fast.weights.forEach((w, i) => expect(w).toBeCloseTo(reference.weights[i], 4));
  });
});
