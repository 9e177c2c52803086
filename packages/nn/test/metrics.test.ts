import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';

const golden = JSON.parse(readFileSync(new URL('./fixtures/metrics.json', import.meta.url), 'utf8')) as {
  shape: number[]; clear: number[]; noisy: number[]; psnr: number; ssim: number; ssimSame: number;
};

describe('metrics', () => {
  const logits = wg.tensor([[2, 1, 0], [0, 3, 1], [1, 0, 0.5], [0, 0, 4]]);
  const target = wg.tensor([0, 1, 2, 2], [4], { dtype: 'int32' });

  it('accuracy from logits or from class indices', async () => {
    expect(await nn.accuracy(logits, target)).toBe(0.75);
    expect(await nn.accuracy(wg.tensor([0, 1, 1, 2], [4], { dtype: 'int32' }), target)).toBe(0.75);
  });

  it('confusion matrix: rows are true classes, columns predictions', async () => {
    expect(await nn.confusionMatrix(logits, target, 3)).toEqual([[1, 0, 0], [0, 1, 0], [1, 0, 1]]);
    await expect(nn.confusionMatrix(logits, target, 2)).rejects.toThrow('out of range for 2 classes');
  });

  it('PSNR and SSIM equal PyTorch on the same images', () => {
    const clear = wg.tensor(golden.clear, golden.shape);
    const noisy = wg.tensor(golden.noisy, golden.shape);
    expect(nn.psnr(noisy, clear).dataSync()[0]).toBeCloseTo(golden.psnr, 3);
    expect(nn.ssim(noisy, clear).dataSync()[0]).toBeCloseTo(golden.ssim, 4);
    expect(nn.ssim(clear, clear).dataSync()[0]).toBeCloseTo(golden.ssimSame, 5);
    expect(() => nn.ssim(wg.zeros([1, 1, 8, 8]), wg.zeros([1, 1, 8, 8]))).toThrow('smaller than the 11×11 window');
  });

  it('SSIM is differentiable, so 1 − SSIM can train', () => {
    const clear = wg.tensor(golden.clear, golden.shape);
    const x = wg.tensor(golden.noisy, golden.shape).requiresGrad_();
    nn.ssim(x, clear).neg().add(1).backward();
    expect(x.grad!.shape).toEqual(golden.shape);
    expect(x.grad!.dataSync().some((v) => v !== 0)).toBe(true);
  });
});
