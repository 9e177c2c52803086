/**
 * fit's divergence check on webgpu: the gradients' sum rides on the loss read there too, and
 * the parameter is named by reading the device's gradients. Skipped without an adapter,
 * except under CI=true.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { openWebGPU } from './helpers/webgpu';

const gpu = await openWebGPU();
afterAll(() => wg.releaseWebGPU());

describe.skipIf(!gpu.ok)(`fit stops a diverging run on webgpu (${gpu.reason})`, () => {
  it('an Inf input: the error names the epoch, the step and the parameter', async () => {
    wg.manualSeed(5);
    const model = nn.mlp({ sizes: [4, 8, 2] }).to('webgpu');
    const batch = (poison: boolean) => {
      const x = wg.randn([6, 4]).dataSync().slice();
      if (poison) x[2] = Infinity;
      return { x: wg.tensor(x, [6, 4], { device: 'webgpu' }), y: wg.tensor([0, 1, 0, 1, 0, 1], [6], { dtype: 'int32', device: 'webgpu' }) };
    };
    const data = [batch(false), batch(false), batch(true)];
    const err = await nn.fit(model, data, { optimizer: new nn.SGD(model.parameters(), { lr: 0.1 }), epochs: 2, progress: 'none' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(nn.TrainingDivergedError);
    expect((err as Error).message).toMatch(/^fit: training diverged at epoch 1\/2, step 3: the loss is NaN and the gradient of 1\.weight is not finite/);
  });
});
