/**
 * What a PyTorch user writes first works, or fails with a message that says what to write
 * (issue 22, points 7–9). Gradients of the new ops are in the gradcheck suite's op cases.
 */
import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';

const arange = (...shape: number[]) => wg.arange(0, shape.reduce((a, b) => a * b, 1)).view(shape);

describe('indexing and views, PyTorch style', () => {
  it('narrow and select', async () => {
    const x = arange(3, 4);
    expect(await x.narrow(1, 1, 2).array()).toEqual([[1, 2], [5, 6], [9, 10]]);
    expect(await x.select(0, 1).array()).toEqual([4, 5, 6, 7]);
    expect(await x.select(1, -1).array()).toEqual([3, 7, 11]);
    expect(() => x.select(1, 4)).toThrow('select: index 4 is out of range for dim 1 of size 4 in [3,4]');
  });

  it('t(), T and mT', async () => {
    const m = arange(2, 3);
    expect(await m.t().array()).toEqual([[0, 3], [1, 4], [2, 5]]);
    expect(await m.T.array()).toEqual(await m.t().array());
    expect(m.t().t().shape).toEqual([2, 3]);
    expect(wg.tensor([1, 2, 3]).t().shape).toEqual([3]);
    expect(() => arange(2, 3, 4).t()).toThrow(/t: expects a tensor of rank 2 or less, got \[2,3,4\]; use transpose/);
    const b = arange(2, 3, 4);
    expect(b.T.shape).toEqual([4, 3, 2]);
    expect(b.mT.shape).toEqual([2, 4, 3]);
    expect(await b.mT.select(0, 1).array()).toEqual(await b.select(0, 1).t().array());
    expect(() => wg.tensor([1, 2]).mT).toThrow('mT: expects a tensor of rank 2 or more, got [2]');
  });

  it('view, reshape, permute and expand take the shape as arguments too, with -1', async () => {
    const x = arange(2, 6);
    expect(x.view(3, -1).shape).toEqual([3, 4]);
    expect(x.reshape(-1).shape).toEqual([12]);
    expect(x.view(-1, 2, 3).shape).toEqual([2, 2, 3]);
    expect(await x.view(4, 3).array()).toEqual(await x.view([4, 3]).array());
    expect(x.view(3, 4).permute(1, 0).shape).toEqual([4, 3]);
    expect(wg.ones([3, 1]).expand(2, 3, 5).shape).toEqual([2, 3, 5]);
    expect(() => x.view(5, -1)).toThrow('reshape: cannot reshape [2,6] (12 elements) to [5,-1]');
    expect(() => (x.view as (...a: unknown[]) => wg.Tensor)([3, 4], 1)).toThrow(/view: expects a shape as a list or as numbers/);
  });

  it('index: null, positions, start:end:step slices and an int32 tensor per dim, as x[...]', async () => {
    const x = arange(3, 5, 4);
    // x[:, 0:4, 2]
    const a = x.index([null, [0, 4], 2]);
    expect(a.shape).toEqual([3, 4]);
    expect(await a.array()).toEqual([[2, 6, 10, 14], [22, 26, 30, 34], [42, 46, 50, 54]]);
    // x[-1, ::2, 1:], x[1], x[:, -2:]
    expect(await x.index([-1, [null, null, 2], [1]]).array()).toEqual([[41, 42, 43], [49, 50, 51], [57, 58, 59]]);
    expect(await x.index([1]).array()).toEqual(await x.select(0, 1).array());
    expect(x.index([null, [-2]]).shape).toEqual([3, 2, 4]);
    // Python clamps slice ends; an empty slice is empty.
    expect(x.index([[1, 99]]).shape).toEqual([2, 5, 4]);
    expect(x.index([null, [4, 2]]).shape).toEqual([3, 0, 4]);
    // x[0, [4, 0], ::3]
    expect(await x.index([0, wg.tensor([4, 0], { dtype: 'int32' }), [null, null, 3]]).array()).toEqual([[16, 19], [0, 3]]);
    expect(() => x.index([0, 0, 0, 0])).toThrow('index: 4 entries for a tensor of rank 3 [3,5,4]');
    expect(() => x.index([3])).toThrow('index: index 3 is out of range for dim 0 of size 3 in [3,5,4]');
    expect(() => x.index([[null, null, -1]])).toThrow('index: step -1 for dim 0 must be a positive integer');
    expect(() => x.index([null, 'a' as never])).toThrow(/index: entry 1 must be null, a number, \[start, end, step\] or an int32 tensor/);
  });

  it('index: the gradient lands where the values came from, zeros elsewhere', async () => {
    const x = wg.ones([4, 3], { requiresGrad: true });
    x.index([[1, null, 2], 1]).mul(wg.tensor([2, 3])).sum().backward();
    expect(await x.grad!.array()).toEqual([[0, 0, 0], [0, 2, 0], [0, 0, 0], [0, 3, 0]]);
  });

  it("a PyTorch-style x.slice(dim, start, end) is an error pointing to narrow and index", () => {
    const x = arange(6, 4);
    const pytorchStyle = x.slice as unknown as (dim: number, start: number, end: number) => wg.Tensor;
    expect(() => pytorchStyle.call(x, 0, 0, 4)).toThrow(/slice: takes TF.js-style lists, slice\(begin: number\[\], size\?: number\[\]\), got slice\(0, 0, \.\.\.\); for PyTorch's dim\/start\/length use narrow\(dim, start, length\)/);
    expect(() => (wg.slice as (...a: unknown[]) => wg.Tensor)(x, [0], 4)).toThrow(/slice: takes TF.js-style lists/);
    expect(x.slice([0, 1], [4, -1]).shape).toEqual([4, 3]);
  });
});

describe('crossEntropy with class probabilities', () => {
  const logits = wg.tensor([[2, -1, 0.5], [0.1, 0.2, 3], [-1, 1, 0]], { dtype: 'float64' });
  const labels = wg.tensor([0, 2, 1], { dtype: 'int32' });
  const oneHot = wg.tensor([[1, 0, 0], [0, 0, 1], [0, 1, 0]], { dtype: 'float64' });

  it('float one-hot rows give the same loss as class indices, with and without smoothing', async () => {
    for (const opts of [{}, { labelSmoothing: 0.1 }, { reduction: 'none' as const }, { reduction: 'sum' as const, labelSmoothing: 0.3 }]) {
      const a = await wg.crossEntropy(logits, oneHot, opts).data();
      const b = await wg.crossEntropy(logits, labels, opts).data();
      [...a].forEach((v, i) => expect(v).toBeCloseTo(b[i], 12));
    }
  });

  it('soft labels: −Σ p·log softmax, per row, as PyTorch ≥ 1.10; also through nn.CrossEntropyLoss', async () => {
    const p = [[0.7, 0.2, 0.1], [0, 0.5, 0.5], [0.25, 0.25, 0.5]];
    const rows = (await logits.array()) as number[][];
    const expected = rows.map((r, i) => {
      const lse = Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
      return -r.reduce((s, v, c) => s + p[i][c] * (v - lse), 0);
    });
    const target = wg.tensor(p, { dtype: 'float64' });
    const perRow = await wg.crossEntropy(logits, target, { reduction: 'none' }).data();
    [...perRow].forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
    const mean = await new nn.CrossEntropyLoss().forward(logits, target).item();
    expect(mean).toBeCloseTo(expected.reduce((a, b) => a + b) / 3, 12);
  });

  it('a float tensor of class indices, or int32 one-hot rows, get a message saying what to cast', () => {
    const floatLabels = wg.tensor([0, 2, 1]);
    expect(() => wg.crossEntropy(logits.float(), floatLabels)).toThrow(
      'crossEntropy: target [3] is float32; its values look like class indices: cast it with target.int() (torch\'s long), or for one-hot rows shaped like logits keep them float (argmax(1) gives indices)',
    );
    expect(() => wg.crossEntropy(logits, oneHot.int())).toThrow(/int32 and shaped like logits \[3,3\]: for one-hot labels pass class indices, target\.argmax\(1\), or probabilities, target\.float\(\)/);
    expect(() => wg.crossEntropy(logits, wg.ones([3, 2], { dtype: 'float64' }))).toThrow(/class probabilities must be shaped like logits \[3,3\]/);
  });
});

describe('callable modules', () => {
  class Net extends nn.Module {
    fc = new nn.Linear(3, 2);
    #calls = 0;
    get calls(): number {
      return this.#calls;
    }
    forward(x: wg.Tensor): wg.Tensor {
      this.#calls++;
      return this.fc.forward(x).relu();
    }
  }

  it('nn.callable(m): m(x) is m.forward(x); the rest is the module itself', async () => {
    wg.manualSeed(0);
    const inner = new Net();
    const model = nn.callable(inner);
    const x = wg.randn([4, 3]);
    expect(await model(x).array()).toEqual(await inner.forward(x).array());
    expect(model.calls).toBe(2);
    expect(model instanceof Net && model instanceof nn.Module).toBe(true);
    expect(model.parameters()).toEqual(inner.parameters());
    expect(Object.keys(model.stateDict())).toEqual(['fc.weight', 'fc.bias']);
    expect(model.forward).toBe(model.forward);
    model.eval();
    expect(inner.training).toBe(false);
    expect(model.summary([1, 3]).rows.map((r) => r.outputShape.join('x'))).toEqual(['1x2', '1x2']);
    // Training through the call syntax moves the module's weights.
    const opt = new nn.optim.SGD(model.parameters(), { lr: 0.5 });
    const before = await inner.fc.weight.array();
    model(x).sum().backward();
    opt.step();
    expect(await inner.fc.weight.array()).not.toEqual(before);
    expect(() => nn.callable({} as nn.Module)).toThrow('callable: expects an nn.Module, got object');
  });
});
