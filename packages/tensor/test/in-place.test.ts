/** The public in-place and storage-sharing API that nn builds on (no internal members). */
import { describe, expect, it } from 'vitest';
import * as wg from '../src/index';

describe('set_, new Tensor(source), canReadSync', () => {
  it('set_ takes the values of a tensor of the same size, dtype and device, and names a mismatch', () => {
    const t = wg.zeros([2, 2]);
    const view = t.detach();
    expect(t.set_(wg.ones([2, 2]))).toBe(t);
    expect(Array.from(t.dataSync())).toEqual([1, 1, 1, 1]);
    expect(Array.from(view.dataSync())).toEqual([0, 0, 0, 0]); // rebinding: earlier views keep their values
    expect(() => t.set_(wg.ones([3]))).toThrow(/cannot assign \[3\] float32 on cpu to \[2,2\] float32 on cpu/);
  });

  it('new Tensor(source) is a new leaf over the same storage, for subclasses', () => {
    const src = wg.tensor([1, 2, 3], [3], { requiresGrad: true });
    class Tagged extends wg.Tensor {}
    const t = new Tagged(src);
    expect(t).toBeInstanceOf(wg.Tensor);
    expect(t.requiresGrad).toBe(false);
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3]);
    src.dispose();
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3]); // the storage is reference-counted
  });

  it('canReadSync says whether dataSync works', () => {
    expect(wg.zeros([1]).canReadSync).toBe(true);
  });
});
