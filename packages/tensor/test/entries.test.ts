/**
 * The browser entry of @webgrad/tensor carries no Dawn: in Node without the Node entry,
 * asking for WebGPU says which import to use instead of failing obscurely.
 */
import { describe, expect, it } from 'vitest';
import { openDevice, setGpuProvider } from '../src/backends/webgpu/gpu';

describe('package entries', () => {
  it('without navigator.gpu and without the Node entry, openDevice names @webgrad/tensor/node', async () => {
    setGpuProvider(null);
    await expect(openDevice()).rejects.toThrow(/no adapter found.*import '@webgrad\/tensor\/node'/s);
  });

  it('a provider installed by a host supplies the GPU object', async () => {
    const calls: string[] = [];
    setGpuProvider({
      gpu: async () => {
        calls.push('gpu');
        return { requestAdapter: async () => null } as unknown as GPU;
      },
    });
    await expect(openDevice()).rejects.toThrow(/no adapter found/);
    expect(calls).toEqual(['gpu']);
    setGpuProvider(null);
  });
});
