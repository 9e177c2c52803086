import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';

describe('tensor(data, { dtype, device, requiresGrad }) takes the shape from the data', () => {
  it('options object', () => {
    const t = wg.tensor([[1, 2], [3, 4]], { dtype: 'int32', device: 'cpu' });
    expect(t.shape).toEqual([2, 2]);
    expect(t.dtype).toBe('int32');
    expect(wg.tensor([1, 2], {}).shape).toEqual([2]);
    expect(wg.tensor([1.5], { requiresGrad: true }).requiresGrad).toBe(true);
    expect(wg.tensor(new Float32Array(6), { shape: [2, 3] }).shape).toEqual([2, 3]);
  });
  it('the positional shape form still works', () => {
    expect(wg.tensor([1, 2, 3, 4], [2, 2], { dtype: 'float64' }).dtype).toBe('float64');
    expect(wg.tensor([1, 2], undefined, { dtype: 'int32' }).dtype).toBe('int32');
  });
  it('a wrong call gets an error showing the right form', () => {
    const form = /tensor\(data, \{ dtype, device, requiresGrad, shape \}\)/;
    expect(() => wg.tensor([1, 2], 'int32' as never)).toThrow(form);
    expect(() => wg.tensor([1, 2], { dtyp: 'int32' } as never)).toThrow(/unknown option 'dtyp'/);
    expect(() => wg.tensor([1, 2], { dtype: 'int64' } as never)).toThrow(/unknown dtype 'int64'; expected one of 'float32', 'int32', 'float64'/);
    expect(() => (wg.tensor as (...a: unknown[]) => wg.Tensor)([1, 2], { dtype: 'int32' }, { device: 'cpu' })).toThrow(/pass everything in one options object/);
  });
});

describe('misuse is refused with a clear error', () => {
  it('useDevice rejects unknown names with the list', async () => {
    for (const name of ['cuda', 'gpu', 'WebGPU']) {
      await expect(wg.useDevice(name as never)).rejects.toThrow(`useDevice: unknown device "${name}"; expected one of 'cpu', 'webgpu', 'auto'`);
    }
    expect(wg.getDefaultDevice()).toBe('cpu');
  });
  it('noGrad of an async function throws like tidy, and grad mode is restored', async () => {
    expect(() => wg.noGrad(async () => 1)).toThrow(/noGrad: fn returned a Promise; noGrad must wrap synchronous code/);
    expect(wg.isGradEnabled()).toBe(true);
  });
  it('a mixed-device error from linear/matmul/conv names the shapes the user passed', () => {
    wg.registerBackend({ ...wg.cpuBackend, name: 'cpu-b' });
    const x = wg.zeros([3, 4]);
    const w = wg.zeros([2, 4], { device: 'cpu-b' });
    expect(() => wg.linear(x, w)).toThrow('linear: tensors are on different devices ([3,4] on cpu, [2,4] on cpu-b)');
    expect(() => wg.matmul(x, wg.zeros([4, 2], { device: 'cpu-b' }))).toThrow('matmul: tensors are on different devices ([3,4] on cpu, [4,2] on cpu-b)');
    expect(() => wg.conv2d(wg.zeros([3, 5, 5]), wg.zeros([2, 3, 3, 3], { device: 'cpu-b' }))).toThrow('conv2d: tensors are on different devices ([3,5,5] on cpu, [2,3,3,3] on cpu-b)');
  });
});
