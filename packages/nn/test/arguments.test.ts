import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';

describe('layers refuse zero, negative and fractional sizes where they are built', () => {
  const cases: [string, () => unknown, string][] = [
    ['Conv2d(3, 4, 0)', () => new nn.Conv2d(3, 4, 0), 'Conv2d: kernelSize must be a positive integer (one, or one per spatial dim), got [0, 0]'],
    ['Conv2d(3, 4, [3, -1])', () => new nn.Conv2d(3, 4, [3, -1]), 'Conv2d: kernelSize must be a positive integer (one, or one per spatial dim), got [3, -1]'],
    ['Conv1d(3, 4, 2.5)', () => new nn.Conv1d(3, 4, 2.5), 'Conv1d: kernelSize must be a positive integer'],
    ['Conv3d(3, 4, NaN)', () => new nn.Conv3d(3, 4, Number.NaN), 'Conv3d: kernelSize must be a positive integer'],
    ['Conv2d stride 0', () => new nn.Conv2d(3, 4, 3, { stride: 0 }), 'Conv2d: stride must be a positive integer (one, or one per spatial dim), got [0, 0]'],
    ['Conv2d dilation -2', () => new nn.Conv2d(3, 4, 3, { dilation: -2 }), 'Conv2d: dilation must be a positive integer'],
    ['Conv2d padding -1', () => new nn.Conv2d(3, 4, 3, { padding: -1 }), 'Conv2d: padding must be a non-negative integer (one, or one per spatial dim), got [-1, -1]'],
    ['Conv2d kernelSize "3"', () => new nn.Conv2d(3, 4, '3' as never), 'Conv2d: kernelSize must be a number or an array of numbers, got "3"'],
    ['Conv2d(0, 4, 3)', () => new nn.Conv2d(0, 4, 3), 'Conv2d: inChannels must be a positive integer, got 0'],
    ['MaxPool2d(0)', () => new nn.MaxPool2d(0), 'MaxPool2d: kernelSize must be a positive integer (one, or one per spatial dim), got 0'],
    ['MaxPool1d(2, stride 0)', () => new nn.MaxPool1d(2, { stride: 0 }), 'MaxPool1d: stride must be a positive integer'],
    ['MaxPool3d(2, dilation 0)', () => new nn.MaxPool3d(2, { dilation: 0 }), 'MaxPool3d: dilation must be a positive integer'],
    ['AvgPool2d(2, stride -1)', () => new nn.AvgPool2d(2, { stride: -1 }), 'AvgPool2d: stride must be a positive integer (one, or one per spatial dim), got -1'],
    ['AvgPool2d(2, padding -1)', () => new nn.AvgPool2d(2, { padding: -1 }), 'AvgPool2d: padding must be a non-negative integer'],
    ['AvgPool1d([-2])', () => new nn.AvgPool1d([-2]), 'AvgPool1d: kernelSize must be a positive integer (one, or one per spatial dim), got [-2]'],
    ['AdaptiveAvgPool2d(0)', () => new nn.AdaptiveAvgPool2d(0), 'AdaptiveAvgPool2d: outputSize must be a positive integer'],
    ['AdaptiveAvgPool2d([2, -1])', () => new nn.AdaptiveAvgPool2d([2, -1]), 'AdaptiveAvgPool2d: outputSize must be a positive integer (one, or one per spatial dim), got [2, -1]'],
    ['Pool2d(0, max)', () => new nn.Pool2d(0, (w) => w.max(2)), 'Pool2d: kernelSize must be a positive integer'],
    ['Linear(0, 2)', () => new nn.Linear(0, 2), 'Linear: inFeatures must be a positive integer, got 0'],
    ['BatchNorm2d(-4)', () => new nn.BatchNorm2d(-4), 'BatchNorm2d: numFeatures must be a positive integer, got -4'],
    ['Flatten(1.5)', () => new nn.Flatten(1.5), 'Flatten: startDim must be an integer dim, got 1.5'],
    ['Softmax(NaN)', () => new nn.Softmax(Number.NaN), 'Softmax: dim must be an integer dim, got NaN'],
    ['simpleCnn blocks 0', () => nn.simpleCnn({ blocks: 0 }), 'simpleCnn: blocks must be a positive integer, got 0'],
    ['simpleCnn inputSize NaN', () => nn.simpleCnn({ inputSize: Number.NaN }), 'simpleCnn: inputSize must be a positive integer or [h, w] of them, got null'],
    ['simpleCnn kernelSize 0', () => nn.simpleCnn({ kernelSize: 0 }), 'Conv2d: kernelSize must be a positive integer'],
    ['resnet18 blocks [2, 0]', () => nn.resnet18({ blocks: [2, 0] }), 'resnet: blocks[1] must be a positive integer, got 0'],
    ['alexnet inputSize -1', () => nn.alexnet({ inputSize: -1 }), 'alexnet: inputSize must be a positive integer'],
    ['dilatedCnn inputSize 0', () => nn.dilatedCnn({ inputSize: 0 }), 'dilatedCnn: inputSize must be a positive integer'],
    ['dilatedCnn dilation 0', () => nn.dilatedCnn({ dilations: [1, 0] }), 'Conv2d: dilation must be a positive integer'],
    ['mlp sizes [4, 0, 2]', () => nn.mlp({ sizes: [4, 0, 2] }), 'Linear: outFeatures must be a positive integer, got 0'],
  ];
  for (const [name, make, message] of cases) it(name, () => expect(make).toThrow(message));

  it('valid sizes still build, with "same" and "valid" padding and null adaptive sizes', () => {
    expect(() => new nn.Conv2d(3, 4, [1, 3], { padding: 'same' })).not.toThrow();
    expect(() => new nn.Conv2d(3, 4, 3, { padding: 'valid', stride: [1, 2], dilation: 2 })).not.toThrow();
    expect(() => new nn.AdaptiveAvgPool2d([null, 3])).not.toThrow();
    expect(() => new nn.MaxPool2d(3, { stride: 2, padding: 1 })).not.toThrow();
    expect(() => new nn.Flatten(-3, -1)).not.toThrow();
  });
});

describe('loadStateDict refuses entries that are not tensors', () => {
  it('a null entry under strict (it was skipped as if loaded)', () => {
    const m = new nn.Linear(2, 2);
    expect(() => m.loadStateDict({ weight: m.weight, bias: null as never })).toThrow('loadStateDict(Linear): every entry must be a Tensor: bias is null');
  });

  it('a null entry without strict too: a state dict never holds null', () => {
    const m = new nn.Linear(2, 2);
    expect(() => m.loadStateDict({ weight: m.weight, bias: null as never }, { strict: false })).toThrow('bias is null');
  });

  it('a Float32Array names the entry and says how to wrap it (it was a TypeError about length)', () => {
    const m = new nn.Linear(2, 2);
    const before = Array.from(m.weight.dataSync());
    expect(() => m.loadStateDict({ weight: new Float32Array(4) as never, bias: m.bias! })).toThrow(
      'loadStateDict(Linear): every entry must be a Tensor: weight is a Float32Array (wrap arrays with tensor(data, shape))',
    );
    expect(Array.from(m.weight.dataSync())).toEqual(before);
  });

  it('numbers, plain objects and undefined, listed together, in the state\'s spelling', () => {
    const m = new nn.Sequential(new nn.BatchNorm2d(2));
    expect(() => m.loadStateDict({ '0.running_mean': 3 as never, '0.running_var': { data: [1, 1] } as never, '0.weight': undefined as never }, { names: 'pytorch', strict: false })).toThrow(
      'every entry must be a Tensor: 0.running_mean is a number; 0.running_var is an object; 0.weight is undefined',
    );
  });

  it('tensors still load', () => {
    const m = new nn.Linear(2, 2);
    m.loadStateDict({ weight: wg.ones([2, 2]), bias: wg.zeros([2]) });
    expect(Array.from(m.weight.dataSync())).toEqual([1, 1, 1, 1]);
  });
});
