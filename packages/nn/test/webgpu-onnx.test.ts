/**
 * ONNX from and to a model on webgpu: the trace runs on the GPU and the weights are read back
 * asynchronously; an import can live on webgpu. Skipped without an adapter, except under CI=true.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { openWebGPU } from './helpers/webgpu';
import { relativeError, runOrt, session } from './helpers/onnx';

const gpu = await openWebGPU();
afterAll(() => wg.releaseWebGPU());

describe.skipIf(!gpu.ok)(`exportOnnx / importOnnx on webgpu (${gpu.reason})`, () => {
  it('a model on webgpu exports what it computes, and imports back onto webgpu', async () => {
    wg.manualSeed(8);
    const model = nn.simpleCnn({ channels: [4, 8], blocks: 2, inputSize: 8, numClasses: 3 });
    model.to('webgpu');
    model.eval();
    const x = wg.randn([5, 3, 8, 8]);
    const ours = await wg.noGrad(() => model.forward(x.to('webgpu'))).data();
    const bytes = await nn.exportOnnx(model, { inputShape: [1, 3, 8, 8] });
    const theirs = await runOrt(await session(bytes), x.dataSync() as Float32Array, [5, 3, 8, 8]);
    expect(relativeError(theirs, ours)).toBeLessThanOrEqual(1e-5);
    const back = await nn.importOnnx(bytes, { device: 'webgpu' });
    expect(back.parameters().every((p) => p.device === 'webgpu')).toBe(true);
    back.eval();
    const again = await wg.noGrad(() => back.forward(x.to('webgpu'))).data();
    expect(relativeError(again, ours)).toBeLessThanOrEqual(1e-5);
  });
});
