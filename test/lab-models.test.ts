/**
 * The lab's own teaching models (examples/lab/models.ts): the hand-written convolution of
 * LAB.md §1 and the dehazing network of §5. They moved here from @webgrad/nn with their tests.
 */
import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { MyConv2d, MyCorr2d, corr2d, dehazeNet } from '../examples/lab/models';

const outShape = (m: nn.Module, x: number[]) => wg.tidy(() => wg.noGrad(() => m.eval().forward(wg.randn(x)).shape));

describe('LAB.md §1: hand-written convolution', () => {
  it('corr2d: 3×3 input, 2×2 kernel → 2×2, the lab\'s numbers', () => {
    const X = wg.tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]]);
    const K = wg.tensor([[0, 1], [2, 3]]);
    expect(corr2d(X, K).arraySync()).toEqual([[19, 25], [37, 43]]);
  });

  it('edge detection with K = [1, −1], and learning K back by gradient descent', () => {
    const img = Array.from({ length: 6 }, () => [1, 1, 0, 0, 0, 0, 1, 1]);
    const X = wg.tensor(img);
    const K = wg.tensor([[1, -1]]);
    const Y = corr2d(X, K);
    expect(Y.arraySync()).toEqual(Array.from({ length: 6 }, () => [0, 1, 0, 0, 0, -1, 0]));
    wg.manualSeed(0);
    const layer = new MyCorr2d([1, 2]);
    const opt = new nn.SGD(layer.parameters(), { lr: 0.01 });
    for (let i = 0; i < 150; i++) {
      wg.tidy(() => {
        opt.zeroGrad();
        layer.forward(X).sub(Y).square().sum().backward();
        opt.step();
      });
    }
    const k = layer.weight.dataSync();
    expect(k[0]).toBeCloseTo(1, 1);
    expect(k[1]).toBeCloseTo(-1, 1);
  });

  it('MyConv2d equals the library convolution (values and gradients), with padding and stride', () => {
    wg.manualSeed(1);
    const mine = new MyConv2d(2, 3, 3, { padding: 1, stride: 2 });
    const lib = new nn.Conv2d(2, 3, 3, { padding: 1, stride: 2 });
    lib.loadStateDict(mine.stateDict());
    const x = wg.randn([2, 2, 5, 5]);
    const a = mine.forward(x);
    const b = lib.forward(x);
    expect(a.shape).toEqual([2, 3, 3, 3]);
    a.sum().backward();
    b.sum().backward();
    const close = (u: ArrayLike<number>, v: ArrayLike<number>) => Array.from(u).every((val, i) => Math.abs(val - v[i]) < 1e-4);
    expect(close(a.dataSync(), b.dataSync())).toBe(true);
    expect(close(mine.weight.grad!.dataSync(), lib.weight.grad!.dataSync())).toBe(true);
    expect(close(mine.bias!.grad!.dataSync(), lib.bias!.grad!.dataSync())).toBe(true);
  });
});

describe('the lab\'s models built on them', () => {
  it('simpleCnn with the hand-written convolution: the N = 1 variant', () => {
    const naive = nn.simpleCnn({ blocks: 1, channels: 8, inputSize: 8, conv: (cin, cout, k, o) => new MyConv2d(cin, cout, k, o) });
    expect(naive.at(0)).toBeInstanceOf(nn.Sequential);
    expect((naive.at(0) as nn.Sequential).at(0)).toBeInstanceOf(MyConv2d);
    expect(naive.numParameters()).toBe(224 + 16 + (8 * 4 * 4 * 10 + 10));
    expect(outShape(naive, [2, 3, 8, 8])).toEqual([2, 10]);
  });

  it('dehazeNet', () => {
    const d = dehazeNet();
    expect(d.numParameters()).toBe(672 + 4 * 5208 + 651);
    expect(outShape(d, [1, 3, 23, 31])).toEqual([1, 3, 23, 31]);
    expect(outShape(dehazeNet({ predict: 'image', channels: 8, dilations: [1, 2] }), [2, 3, 16, 16])).toEqual([2, 3, 16, 16]);
  });
});
