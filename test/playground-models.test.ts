/** The playground's model picker in Node: every model of MODEL_KINDS builds for the served images and gives one logit per class; bad sizes are refused naming the model. */
import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import { type DataMeta, MODEL_KINDS, type ModelKind, buildModel } from '../examples/playground/core';

const META: DataMeta = { name: 'test', source: 'test', fallback: null, classes: ['a', 'b', 'c', 'd', 'e', 'f'], channels: 3, height: 32, width: 32, trainCount: 6, testCount: 6 };

describe('playground models', () => {
  it('every model of the picker builds from its default sizes and maps 32×32 images to one logit per class', async () => {
    await wg.useDevice('cpu');
    const x = wg.randn([2, 3, 32, 32]);
    const params: Record<string, number> = {};
    for (const kind of Object.keys(MODEL_KINDS) as ModelKind[]) {
      const model = buildModel(META, { model: kind, sizes: [...MODEL_KINDS[kind].default], batchSize: 2, lr: 0.01, seed: 0 });
      const y = wg.noGrad(() => model.forward(x));
      expect(y.shape, kind).toEqual([2, 6]);
      params[kind] = model.parameters().reduce((n, p) => n + p.size, 0);
      y.dispose();
      model.dispose();
    }
    // The plain twin is ResNet-18 without shortcuts: fewer parameters (no 1×1 downsampling convs).
    expect(params.plain18).toBeLessThan(params.resnet18);
    x.dispose();
  });

  it('bad sizes are refused with the model and what its sizes mean', () => {
    const cfg = { batchSize: 2, lr: 0.01, seed: 0 };
    expect(() => buildModel(META, { ...cfg, model: 'resnet18', sizes: [4, 8] })).toThrow(/ResNet-18 \(small width\): give one width, got \[4,8\]/);
    expect(() => buildModel(META, { ...cfg, model: 'hdc', sizes: [4, 8] })).toThrow(/HDC .*give 1 or 3 channel numbers/);
    expect(() => buildModel(META, { ...cfg, model: 'cnn', sizes: [0] })).toThrow(/channels per block .* must be positive integers/);
    expect(() => buildModel(META, { ...cfg, model: 'nope' as ModelKind, sizes: [1] })).toThrow(/unknown model 'nope'/);
  });
});
