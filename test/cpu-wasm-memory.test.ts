/**
 * cpu tensors live in the WASM kernels' shared memory: a training loop holds that memory
 * flat (blocks are reused, the memory stops growing), disposed storage goes back, and a
 * tensor too large for wasm32's 4 GiB is an error that names its size.
 */
import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { wasmRuntime } from '../packages/tensor/src/backends/cpu/wasm/runtime';

const rt = wasmRuntime();

describe.skipIf(!rt?.shared)('cpu storage in the WebAssembly memory', () => {
  it('a training loop of a small CNN holds the memory flat', async () => {
    wg.setDefaultDevice('cpu');
    wg.manualSeed(0);
    const model = nn.simpleCnn({ blocks: 2, channels: [8, 16] });
    const optimizer = new nn.Adam(model.parameters(), { lr: 1e-3 });
    const x = wg.randn([16, 3, 32, 32]);
    const y = wg.randint(0, 10, [16]);
    const step = async () => {
      const loss = wg.tidy(() => {
        optimizer.zeroGrad();
        const l = wg.crossEntropy(model.forward(x), y);
        l.backward();
        optimizer.step();
        return l.detach();
      });
      await loss.item();
      loss.dispose();
    };
    for (let i = 0; i < 3; i++) await step();
    const before = { ...rt!.memoryUse(), stats: wg.memoryStats() };
    for (let i = 0; i < 20; i++) await step();
    const after = { ...rt!.memoryUse(), stats: wg.memoryStats() };
    expect(after.used).toBe(before.used);
    expect(after.size).toBe(before.size);
    expect(after.stats).toEqual(before.stats);
    optimizer.dispose();
    model.dispose();
    x.dispose();
    y.dispose();
  });

  it('float32 and int32 storage is in the memory, counted by memoryStats, and freed by dispose', () => {
    const used0 = rt!.memoryUse().used;
    const stats0 = wg.memoryStats();
    const t = wg.zeros([1000, 1000]);
    const storage = (t as unknown as { storage: object }).storage;
    expect(rt!.addressOf(storage)).not.toBeNull();
    expect(rt!.memoryUse().used - used0).toBeGreaterThanOrEqual(4e6);
    expect(wg.memoryStats().bytes - stats0.bytes).toBe(4e6);
    t.dispose();
    expect(rt!.memoryUse().used).toBe(used0);
    expect(wg.memoryStats()).toEqual(stats0);
  });

  it('copies, pads, gathers and scatters write their results into the memory too', () => {
    const x = wg.randn([4, 5, 6]);
    const index = wg.tensor([[0, 2, 1]], { dtype: 'int32' });
    const made = [x.permute([2, 0, 1]), x.narrow(1, 1, 3), wg.pad(x, [1, 1], 'reflect'), wg.gather(x.reshape([4, 30]), 1, index.expand([4, 3])), index.permute([1, 0])];
    for (const t of made) expect(rt!.addressOf((t as unknown as { storage: object }).storage), t.shape.join('×')).not.toBeNull();
    // a bad index throws and leaves nothing behind
    const used = rt!.memoryUse().used;
    expect(() => wg.gather(x.reshape([4, 30]), 1, wg.tensor([[0], [1], [2], [99]], { dtype: 'int32' }))).toThrow(/index 99/);
    expect(rt!.memoryUse().used).toBeLessThanOrEqual(used + 64);
    for (const t of [x, index, ...made]) t.dispose();
  });

  it('a tensor that cannot fit in 4 GiB is an error naming its size', () => {
    expect(() => wg.zeros([40000, 30000])).toThrow(/cpu: a float32 tensor of 1,200,000,000 elements: 4.47 GiB do not fit in the WebAssembly memory \(wasm32 addresses 4 GiB/);
  });

  it('an op whose result cannot fit names the op and the shape it was making', () => {
    const [a, b, x, w] = [wg.ones([70000, 1]), wg.ones([1, 70000]), wg.ones([1, 1, 70000, 1]), wg.ones([70000, 1, 1, 1])];
    const used = rt!.memoryUse().used;
    expect(() => a.matmul(b)).toThrow(/^matmul \[1,70000,70000\]: .*18\.25 GiB do not fit in the WebAssembly memory/);
    expect(() => wg.conv2d(x, w)).toThrow(/^conv2d \[1,70000,70000,1\]: .*18\.25 GiB do not fit/);
    expect(() => a.add(b)).toThrow(/^add \[70000,70000\]: .*18\.25 GiB do not fit/);
    expect(rt!.memoryUse().used).toBe(used);
    for (const t of [a, b, x, w]) t.dispose();
  });

  it('the error names the shape being made, and nothing is allocated', () => {
    const used = rt!.memoryUse();
    expect(() => wg.zeros([70000, 70000])).toThrow(/^full \[70000,70000\]: cpu: a float32 tensor of 4,900,000,000 elements: 18.25 GiB do not fit in the WebAssembly memory/);
    expect(rt!.memoryUse()).toEqual(used);
  });
});
