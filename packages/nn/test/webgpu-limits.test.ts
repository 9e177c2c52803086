/**
 * WebGPU device limits: a batch whose activations exceed 128 MiB (the binding limit on
 * lavapipe) runs in one forward, its ops binding parts of their buffers, and is evaluated
 * and matches cpu; a tensor beyond maxBufferSize is refused with its shape, size and the limit. Skipped without an adapter, except under CI=true.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { openWebGPU } from '../../../test/helpers/webgpu';

const gpu = await openWebGPU();
afterAll(() => wg.releaseWebGPU());

/** 520 × 64 × 32 × 32 float32 activations after the first layer: 136,314,880 bytes, just over 128 MiB. */
const BATCH = 520;
const net = () => new nn.Sequential(new nn.Conv2d(3, 64, 1), new nn.ReLU(), new nn.MaxPool2d(32), new nn.Flatten(), new nn.Linear(64, 10));

describe.skipIf(!gpu.ok)(`webgpu limits (${gpu.reason})`, () => {
  it('the device has the adapter\'s real limits', () => {
    const limits = wg.getBackend('webgpu').limits!;
    expect(limits.maxBindingBytes).toBeGreaterThanOrEqual(128 * 2 ** 20);
    expect(limits.maxBufferBytes).toBeGreaterThanOrEqual(limits.maxBindingBytes);
  });

  it('a batch whose activations exceed 128 MiB runs in one forward and in evaluate, and matches cpu', async () => {
    wg.manualSeed(5);
    const model = net();
    const x = wg.randn([BATCH, 3, 32, 32]);
    const y = wg.tensor(Array.from({ length: BATCH }, (_, i) => i % 10), [BATCH], { dtype: 'int32' });
    const onCpu = await nn.evaluate(model, [{ x, y }]);
    const cpuOut = await wg.noGrad(() => model.eval().forward(x)).data();

    model.to('webgpu');
    const xg = x.to('webgpu');
    const yg = y.to('webgpu');
    const before = wg.memoryStats().byDevice.webgpu.buffers;
    // Activations beyond the binding limit: one forward over the whole batch still runs (each op binds parts of its buffers).
    expect(BATCH * 64 * 32 * 32 * 4).toBeGreaterThan(Math.min(128 * 2 ** 20, wg.getBackend('webgpu').limits!.maxBindingBytes));
    const whole = wg.tidy(() => wg.noGrad(() => model.forward(xg)));
    const wholeOut = await whole.data();
    whole.dispose();
    let worstWhole = 0;
    for (let i = 0; i < cpuOut.length; i++) worstWhole = Math.max(worstWhole, Math.abs(wholeOut[i] - cpuOut[i]));
    expect(worstWhole).toBeLessThan(1e-4);
    expect(wg.memoryStats().byDevice.webgpu.buffers).toBe(before);
    const onGpu = await nn.evaluate(model, [{ x: xg, y: yg }]);
    expect(onGpu.count).toBe(BATCH);
    expect(onGpu.accuracy).toBe(onCpu.accuracy);
    expect(Math.abs(onGpu.loss - onCpu.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(onCpu.loss)));
    const out = nn.forwardInBatches(model, xg);
    expect(out.shape).toEqual([BATCH, 10]);
    const gpuOut = await out.data();
    out.dispose();
    let worst = 0;
    for (let i = 0; i < cpuOut.length; i++) worst = Math.max(worst, Math.abs(gpuOut[i] - cpuOut[i]));
    expect(worst).toBeLessThan(1e-4);
    expect(wg.memoryStats().byDevice.webgpu.buffers).toBe(before);
  });

  it('a single tensor beyond maxBufferSize is refused, naming its shape, its size and the limit', () => {
    const { maxBufferBytes } = wg.getBackend('webgpu').limits!;
    const n = Math.floor(maxBufferBytes / 4) + 1;
    expect(() => wg.zeros([n], { device: 'webgpu' })).toThrow(
      `full: a float32 tensor of shape [${n}] takes ${4 * n} bytes, more than the webgpu device's maxBufferSize (${maxBufferBytes} bytes)`,
    );
    const rows = Math.ceil(n / 1024);
    expect(() => wg.zeros([rows, 1024], { device: 'webgpu' })).toThrow(/shape \[\d+,1024\] takes \d+ bytes, more than the webgpu device's maxBufferSize/);
  });
});
