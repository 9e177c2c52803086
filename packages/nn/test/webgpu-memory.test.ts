/**
 * Memory on webgpu over a long training loop. In a file of its own: garbage that other tests
 * leave behind is released by the GC safety net at unpredictable times, which would move
 * the counts this test holds to be exactly flat.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { openWebGPU } from './helpers/webgpu';
import { smallNet as net } from './helpers/small-net';

const gpu = await openWebGPU();
afterAll(() => wg.releaseWebGPU());


describe.skipIf(!gpu.ok)(`training memory on webgpu (${gpu.reason})`, () => {
  it('200 training steps of a small CNN hold live tensors, GPU buffers and bytes flat', async () => {
    wg.manualSeed(3);
    const model = net().to('webgpu');
    const opt = new nn.Adam(model.parameters(), { lr: 1e-3 });
    const x = wg.randn([4, 3, 8, 8], { device: 'webgpu' });
    const y = wg.tensor([0, 1, 2, 0], [4], { dtype: 'int32', device: 'webgpu' });
    const snapshot = () => {
      const m = wg.memoryStats();
      return { tensors: m.liveTensors, buffers: m.byDevice.webgpu.buffers, bytes: m.byDevice.webgpu.bytes };
    };
    let afterWarmup = snapshot();
    for (let i = 1; i <= 200; i++) {
      const loss = wg.tidy(() => nn.trainStep(model, opt, x, y).loss.detach());
      await loss.item();
      loss.dispose();
      // The first steps create the optimizer's state and the gradients; from then on, flat.
      if (i === 5) afterWarmup = snapshot();
    }
    expect(snapshot()).toEqual(afterWarmup);
    opt.dispose();
    model.dispose();
    x.dispose();
    y.dispose();
  });
});
