import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { expectClose } from './helpers/close';

const shape = (m: nn.Module, x: number[]) => wg.tidy(() => m.forward(wg.randn(x)).shape);

describe('convolution layers', () => {
  it('Conv2d has weight [out, in/groups, kh, kw], bias on or off, and every padding option', () => {
    const c = new nn.Conv2d(4, 6, [3, 5], { groups: 2 });
    expect(c.weight.shape).toEqual([6, 2, 3, 5]);
    expect(c.bias!.shape).toEqual([6]);
    expect(new nn.Conv2d(3, 8, 3, { bias: false }).bias).toBeNull();
    expect(new nn.Conv2d(3, 8, 3, { bias: false }).numParameters()).toBe(216);
    expect(shape(c, [2, 4, 10, 10])).toEqual([2, 6, 8, 6]);
    expect(shape(new nn.Conv2d(3, 8, 3, { padding: 'same' }), [1, 3, 7, 9])).toEqual([1, 8, 7, 9]);
    expect(shape(new nn.Conv2d(3, 8, 4, { padding: 'same', dilation: 2 }), [1, 3, 7, 9])).toEqual([1, 8, 7, 9]);
    expect(shape(new nn.Conv2d(3, 8, 3, { padding: 'valid' }), [1, 3, 7, 9])).toEqual([1, 8, 5, 7]);
    expect(shape(new nn.Conv2d(3, 8, 3, { stride: 2, padding: 1 }), [1, 3, 32, 32])).toEqual([1, 8, 16, 16]);
    expect(shape(new nn.Conv2d(3, 8, 3, { dilation: [2, 1] }), [1, 3, 9, 9])).toEqual([1, 8, 5, 7]);
    for (const paddingMode of ['zeros', 'reflect', 'replicate', 'circular'] as const) {
      expect(shape(new nn.Conv2d(3, 2, 3, { padding: 2, paddingMode }), [1, 3, 6, 6]), paddingMode).toEqual([1, 2, 8, 8]);
      expect(shape(new nn.Conv2d(3, 2, 3, { padding: 'same', paddingMode }), [1, 3, 6, 6]), paddingMode).toEqual([1, 2, 6, 6]);
    }
  });

  it('paddingMode pads before convolving, as PyTorch does', () => {
    // A 1×1 input channel and a kernel that sums a 3×3 window: reflect and zeros differ at the border.
    const x = wg.tensor([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]]);
    const sums = (mode: wg.PaddingMode) => {
      const c = new nn.Conv2d(1, 1, 3, { padding: 1, paddingMode: mode, bias: false });
      nn.init.ones_(c.weight);
      return Array.from(c.forward(x).dataSync());
    };
    expect(sums('zeros')[0]).toBe(1 + 2 + 4 + 5);
    expect(sums('replicate')[0]).toBe(1 + 1 + 2 + 1 + 1 + 2 + 4 + 4 + 5);
    expect(sums('reflect')[0]).toBe(5 + 4 + 5 + 2 + 1 + 2 + 5 + 4 + 5);
    expect(sums('circular')[0]).toBe(9 + 7 + 8 + 3 + 1 + 2 + 6 + 4 + 5);
  });

  it('Conv1d and Conv3d', () => {
    const c1 = new nn.Conv1d(2, 4, 3, { padding: 1, stride: 2 });
    expect(c1.weight.shape).toEqual([4, 2, 3]);
    expect(shape(c1, [5, 2, 11])).toEqual([5, 4, 6]);
    const c3 = new nn.Conv3d(2, 3, [1, 3, 3], { padding: [0, 1, 1] });
    expect(c3.weight.shape).toEqual([3, 2, 1, 3, 3]);
    expect(shape(c3, [1, 2, 4, 6, 6])).toEqual([1, 3, 4, 6, 6]);
  });

  it('rejects bad options with the reason', () => {
    expect(() => new nn.Conv2d(3, 8, 3, { groups: 2 })).toThrow('inChannels (3) must be divisible by groups (2)');
    expect(() => new nn.Conv2d(4, 6, 3, { groups: 4 })).toThrow('outChannels (6) must be divisible by groups (4)');
    expect(() => new nn.Conv2d(3, 8, 3, { padding: 'same', stride: 2 })).toThrow("padding 'same' is not supported for strided convolutions");
    expect(() => new nn.Conv2d(3, 8, 3, { paddingMode: 'mirror' as wg.PaddingMode })).toThrow('paddingMode must be one of zeros, reflect, replicate, circular');
    expect(() => new nn.Conv2d(3, 8, [3, 3, 3])).toThrow('kernelSize has 3 values');
    expect(() => new nn.Conv2d(3, 8, 3).forward(wg.zeros([1, 4, 8, 8]))).toThrow('input has 4 channels but weight expects 3');
  });

  it('PyTorch default init: weights and bias within ±1/√fanIn', () => {
    wg.manualSeed(0);
    const c = new nn.Conv2d(16, 32, 3);
    const bound = 1 / Math.sqrt(16 * 9);
    const w = Array.from(c.weight.dataSync());
    const b = Array.from(c.bias!.dataSync());
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.95 * bound);
    expect(Math.max(...b.map(Math.abs))).toBeLessThanOrEqual(bound);
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeCloseTo(bound / Math.sqrt(3), 2);
    const lin = new nn.Linear(100, 10);
    expect(Math.max(...Array.from(lin.weight.dataSync(), Math.abs))).toBeLessThanOrEqual(0.1);
  });
});

describe('init', () => {
  const stats = (t: wg.Tensor) => {
    const d = Array.from(t.dataSync());
    const mean = d.reduce((s, v) => s + v, 0) / d.length;
    return { mean, std: Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / d.length), max: d.reduce((m, v) => Math.max(m, Math.abs(v)), 0) };
  };

  it('kaiming and xavier, uniform and normal, have the right spread', () => {
    wg.manualSeed(4);
    const w = wg.zeros([256, 128, 3, 3]);
    const fanIn = 128 * 9;
    const fanOut = 256 * 9;
    expect(nn.init.calculateFanInAndFanOut(w.shape)).toEqual([fanIn, fanOut]);
    expect(stats(nn.init.kaimingUniform_(w, { nonlinearity: 'relu' })).std).toBeCloseTo(Math.sqrt(2 / fanIn), 3);
    expect(stats(nn.init.kaimingNormal_(w, { mode: 'fanOut', nonlinearity: 'relu' })).std).toBeCloseTo(Math.sqrt(2 / fanOut), 3);
    expect(stats(nn.init.xavierUniform_(w)).max).toBeLessThanOrEqual(Math.sqrt(6 / (fanIn + fanOut)));
    expect(stats(nn.init.xavierNormal_(w, 2)).std).toBeCloseTo(2 * Math.sqrt(2 / (fanIn + fanOut)), 3);
    expect(stats(nn.init.zeros_(w)).max).toBe(0);
    expect(stats(nn.init.ones_(w)).mean).toBe(1);
    expect(nn.init.calculateGain('leakyRelu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(nn.init.calculateGain('tanh')).toBeCloseTo(5 / 3, 12);
  });
});

describe('BatchNorm', () => {
  it('normalises with batch statistics in training and updates running ones like PyTorch', () => {
    wg.manualSeed(5);
    const bn = new nn.BatchNorm2d(3, { momentum: 0.2 });
    const x = wg.randn([4, 3, 5, 5], { mean: 2, std: 3 });
    const y = bn.forward(x);
    const data = x.dataSync();
    for (let c = 0; c < 3; c++) {
      const vals: number[] = [];
      for (let n = 0; n < 4; n++) for (let i = 0; i < 25; i++) vals.push(data[(n * 3 + c) * 25 + i]);
      const mean = vals.reduce((s, v) => s + v, 0) / vals.length;
      const unbiased = vals.reduce((s, v) => s + (v - mean) ** 2, 0) / (vals.length - 1);
      expect(bn.runningMean!.dataSync()[c]).toBeCloseTo(0.2 * mean, 5);
      expect(bn.runningVar!.dataSync()[c]).toBeCloseTo(0.8 + 0.2 * unbiased, 4);
    }
    const out = Array.from(y.dataSync());
    expect(Math.abs(out.reduce((s, v) => s + v, 0) / out.length)).toBeLessThan(1e-5);
    expect(bn.numBatchesTracked!.dataSync()[0]).toBe(1);
    // Eval: the running statistics.
    bn.eval();
    const z = bn.forward(x).dataSync();
    const rm = bn.runningMean!.dataSync();
    const rv = bn.runningVar!.dataSync();
    expect(z[0]).toBeCloseTo((data[0] - rm[0]) / Math.sqrt(rv[0] + 1e-5), 4);
    expect(bn.numBatchesTracked!.dataSync()[0]).toBe(1);
  });

  it('momentum null is a cumulative average; trackRunningStats false always uses the batch', () => {
    wg.manualSeed(6);
    const bn = new nn.BatchNorm1d(2, { momentum: null });
    const a = wg.tensor([[1, 10], [3, 14]]);
    const b = wg.tensor([[5, 0], [7, 2]]);
    bn.forward(a);
    bn.forward(b);
    expectClose(bn.runningMean!.dataSync(), [(2 + 6) / 2, (12 + 1) / 2], 'cumulative mean');
    const free = new nn.BatchNorm1d(2, { trackRunningStats: false, affine: false });
    expect(free.numParameters()).toBe(0);
    expect(free.buffers()).toHaveLength(0);
    free.eval();
    expectClose(free.forward(a).dataSync(), [-1, -1, 1, 1], 'batch statistics in eval', 1e-4);
  });

  it('BatchNorm1d takes [N, C] and [N, C, L]; BatchNorm3d [N, C, D, H, W]; wrong ranks say so', () => {
    expect(shape(new nn.BatchNorm1d(3), [4, 3])).toEqual([4, 3]);
    expect(shape(new nn.BatchNorm1d(3), [4, 3, 7])).toEqual([4, 3, 7]);
    expect(shape(new nn.BatchNorm3d(2), [2, 2, 3, 3, 3])).toEqual([2, 2, 3, 3, 3]);
    expect(() => shape(new nn.BatchNorm2d(3), [4, 3])).toThrow('BatchNorm2d: expected a 4-D input, got [4,3]');
  });
});

describe('other layers', () => {
  it('pooling layers, 1-D to 3-D, adaptive and user-defined', () => {
    expect(shape(new nn.MaxPool1d(2), [1, 2, 9])).toEqual([1, 2, 4]);
    expect(shape(new nn.MaxPool2d(3, { stride: 2, padding: 1 }), [1, 2, 9, 9])).toEqual([1, 2, 5, 5]);
    expect(shape(new nn.MaxPool3d(2), [1, 2, 4, 4, 4])).toEqual([1, 2, 2, 2, 2]);
    expect(shape(new nn.AvgPool1d(3, { stride: 1 }), [1, 2, 9])).toEqual([1, 2, 7]);
    expect(shape(new nn.AvgPool2d(2, { ceilMode: true }), [1, 2, 9, 9])).toEqual([1, 2, 5, 5]);
    expect(shape(new nn.AvgPool3d([1, 2, 2]), [1, 2, 4, 4, 4])).toEqual([1, 2, 4, 2, 2]);
    expect(shape(new nn.AdaptiveAvgPool2d(1), [2, 5, 7, 9])).toEqual([2, 5, 1, 1]);
    expect(shape(new nn.AdaptiveAvgPool2d([3, null]), [2, 5, 7, 9])).toEqual([2, 5, 3, 9]);
    const x = wg.tensor([[[[1, 2, 5, 0], [3, 4, 1, 1], [0, 0, 2, 2], [0, 9, 2, 2]]]]);
    const max = new nn.Pool2d(2, (w) => w.max(2), {}, 'max');
    expect(Array.from(max.forward(x).dataSync())).toEqual([4, 5, 9, 2]);
    // The range of each window: something neither max nor average pooling gives.
    const range = new nn.Pool2d(2, (w) => w.max(2).sub(w.min(2)), {}, 'range');
    expect(Array.from(range.forward(x).dataSync())).toEqual([3, 5, 9, 0]);
  });

  it('Linear, Dropout, Flatten, Identity, activations', () => {
    const lin = new nn.Linear(5, 3);
    expect(lin.weight.shape).toEqual([3, 5]);
    expect(shape(lin, [7, 5])).toEqual([7, 3]);
    expect(new nn.Linear(5, 3, { bias: false }).numParameters()).toBe(15);
    const x = wg.ones([1000]);
    const drop = new nn.Dropout(0.25);
    const kept = drop.forward(x).dataSync();
    const zeros = kept.filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(180);
    expect(zeros).toBeLessThan(320);
    expect(kept.filter((v) => v !== 0).every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
    drop.eval();
    expect(drop.forward(x)).toBe(x);
    expect(shape(new nn.Flatten(), [2, 3, 4, 5])).toEqual([2, 60]);
    expect(new nn.Identity().forward(x)).toBe(x);
    const v = wg.tensor([-2, 0.5]);
    expectClose(new nn.ReLU().forward(v).dataSync(), [0, 0.5]);
    expectClose(new nn.LeakyReLU(0.1).forward(v).dataSync(), [-0.2, 0.5]);
    expectClose(new nn.Sigmoid().forward(v).dataSync(), [1 / (1 + Math.exp(2)), 1 / (1 + Math.exp(-0.5))]);
    expectClose(new nn.Tanh().forward(v).dataSync(), [Math.tanh(-2), Math.tanh(0.5)]);
  });

  it('loss modules wrap the functional losses', () => {
    const logits = wg.tensor([[2, 0, -1], [0, 1, 0]]);
    const target = wg.tensor([0, 1], [2], { dtype: 'int32' });
    expect(new nn.CrossEntropyLoss().forward(logits, target).dataSync()[0]).toBeCloseTo(nn.F.crossEntropy(logits, target).dataSync()[0], 6);
    expect(new nn.MSELoss().forward(wg.tensor([1, 2]), wg.tensor([0, 0])).dataSync()[0]).toBeCloseTo(2.5, 6);
    expect(new nn.L1Loss().forward(wg.tensor([1, -2]), wg.tensor([0, 0])).dataSync()[0]).toBeCloseTo(1.5, 6);
  });
});
