import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';

const close = (a: ArrayLike<number>, b: number[], tol = 1e-6) => {
  expect(a.length).toBe(b.length);
  b.forEach((v, i) => expect(Math.abs(a[i] - v)).toBeLessThan(tol));
};

describe('autograd', () => {
  it('accumulates into .grad across backward calls and releases the graph', () => {
    const x = wg.tensor([1, 2, 3], undefined, { requiresGrad: true });
    const y = x.mul(x).sum();
    y.backward();
    close(x.grad!.dataSync(), [2, 4, 6]);
    expect(y._node).toBeNull();
    x.mul(3).sum().backward();
    close(x.grad!.dataSync(), [5, 7, 9]);
  });
  it('takes an explicit upstream gradient', () => {
    const x = wg.tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true });
    x.mul(2).backward(wg.tensor([[1, 0], [0, 1]]));
    close(x.grad!.dataSync(), [2, 0, 0, 2]);
  });
  it('noGrad records nothing; detach cuts the graph', () => {
    const x = wg.ones([2], { requiresGrad: true });
    const y = wg.noGrad(() => x.mul(2));
    expect(y.requiresGrad).toBe(false);
    const z = x.detach().mul(2);
    expect(z.requiresGrad).toBe(false);
  });
  it('sums gradients of a tensor used twice (diamond)', () => {
    const x = wg.tensor([2], undefined, { requiresGrad: true });
    const a = x.mul(3);
    a.mul(a).add(a).sum().backward(); // d/dx (9x² + 3x) = 18x + 3
    close(x.grad!.dataSync(), [39]);
  });
  it("a leaf's first gradient is the computed one, not a copy; leaves given the same gradient get tensors of their own", () => {
    const a = wg.tensor([1, 2], undefined, { requiresGrad: true });
    const b = wg.tensor([3, 4], undefined, { requiresGrad: true });
    a.add(b).mul(wg.tensor([5, 6])).sum().backward(); // add passes one gradient tensor to both inputs
    expect(a.grad).not.toBe(b.grad);
    expect(a.grad!.storage).toBe(b.grad!.storage); // a view of the same values: nothing was copied
    a.grad!.dispose();
    close(b.grad!.dataSync(), [5, 6]);
  });
  it('copies the gradient a caller passes to a leaf', () => {
    const x = wg.tensor([1, 2], undefined, { requiresGrad: true });
    const g = wg.tensor([7, 8]);
    x.backward(g);
    expect(x.grad!.storage).not.toBe(g.storage);
    g.dispose();
    close(x.grad!.dataSync(), [7, 8]);
  });
  it('manualSeed makes random creation repeatable', () => {
    wg.manualSeed(42);
    const a = wg.randn([5]).dataSync();
    const r = wg.rand([3]).dataSync();
    const i = wg.randint(0, 10, [4]).dataSync();
    wg.manualSeed(42);
    expect(Array.from(wg.randn([5]).dataSync())).toEqual(Array.from(a));
    expect(Array.from(wg.rand([3]).dataSync())).toEqual(Array.from(r));
    expect(Array.from(wg.randint(0, 10, [4]).dataSync())).toEqual(Array.from(i));
  });
  it('creation functions', () => {
    expect(Array.from(wg.arange(1, 7, 2).dataSync())).toEqual([1, 3, 5]);
    expect(wg.arange(3).dtype).toBe('int32');
    close(wg.linspace(0, 1, 5).dataSync(), [0, 0.25, 0.5, 0.75, 1]);
    expect(wg.full([2, 2], 7).arraySync()).toEqual([[7, 7], [7, 7]]);
    expect(wg.tensor([[1, 2, 3]]).shape).toEqual([1, 3]);
    expect(wg.eye(2).arraySync()).toEqual([[1, 0], [0, 1]]);
  });
});

describe('memory', () => {
  it('1,000 forward/backward steps inside tidy keep live tensors and bytes flat', () => {
    wg.manualSeed(0);
    const w = wg.randn([8, 4], { requiresGrad: true }).keep();
    const b = wg.zeros([8], { requiresGrad: true }).keep();
    const x = wg.randn([16, 4]);
    const target = wg.randint(0, 8, [16]);
    const step = () =>
      wg.tidy(() => {
        const loss = wg.crossEntropy(wg.linear(x, w, b).relu(), target);
        loss.backward();
        wg.noGrad(() => {
          w._assign(w.sub(w.grad!.mul(0.1)));
          b._assign(b.sub(b.grad!.mul(0.1)));
        });
        w.grad!.dispose();
        b.grad!.dispose();
        w.grad = b.grad = null;
      });
    for (let i = 0; i < 10; i++) step();
    const before = wg.memoryStats();
    for (let i = 0; i < 1000; i++) step();
    const after = wg.memoryStats();
    expect(after.liveTensors).toBe(before.liveTensors);
    expect(after.liveBuffers).toBe(before.liveBuffers);
    expect(after.bytes).toBe(before.bytes);
  });
  it('tidy keeps what it returns and disposes the rest', () => {
    const start = wg.memoryStats().liveTensors;
    const out = wg.tidy(() => {
      const a = wg.ones([3]);
      const b = a.add(1);
      return { b, n: 3 };
    });
    expect(wg.memoryStats().liveTensors).toBe(start + 1);
    expect(Array.from(out.b.dataSync())).toEqual([2, 2, 2]);
    out.b.dispose();
    expect(wg.memoryStats().liveTensors).toBe(start);
  });

  it('tidy returning one tensor keeps that one alone, also when it was made outside', () => {
    const start = wg.memoryStats().liveTensors;
    const outside = wg.ones([3]);
    const out = wg.tidy(() => outside.add(1).mul(2));
    expect(wg.memoryStats().liveTensors).toBe(start + 2);
    expect(Array.from(out.dataSync())).toEqual([4, 4, 4]);
    expect(wg.tidy(() => outside)).toBe(outside);
    expect(outside.isDisposed).toBe(false);
    out.dispose();
    outside.dispose();
    expect(wg.memoryStats().liveTensors).toBe(start);
  });
});
