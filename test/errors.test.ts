import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';

describe('bad input throws an Error naming the op, the shapes and the rule', () => {
  it('mismatched broadcast shapes', () => {
    expect(() => wg.add(wg.zeros([2, 3]), wg.zeros([4]))).toThrow(/add: shapes \[2,3\] and \[4\] cannot be broadcast: dim -1 is 3 in one and 4/);
  });
  it('matmul inner sizes', () => {
    expect(() => wg.matmul(wg.zeros([2, 3]), wg.zeros([4, 5]))).toThrow(/matmul: inner sizes differ: \[2,3\] @ \[4,5\] needs a's columns \(3\) to equal b's rows \(4\)/);
  });
  it('conv channel count against the weight', () => {
    expect(() => wg.conv2d(wg.zeros([8, 4, 32, 32]), wg.zeros([16, 3, 3, 3]))).toThrow(
      /conv2d: input has 4 channels but weight expects 3 .*\(input \[8,4,32,32\], weight \[16,3,3,3\]\)/,
    );
  });
  it('channels not divisible by groups', () => {
    expect(() => wg.conv2d(wg.zeros([1, 6, 5, 5]), wg.zeros([4, 2, 3, 3]), null, { groups: 4 })).toThrow(
      /conv2d: input channels \(6\) are not divisible by groups \(4\)/,
    );
  });
  it('kernel larger than the padded input', () => {
    expect(() => wg.conv2d(wg.zeros([1, 1, 4, 4]), wg.zeros([1, 1, 3, 3]), null, { dilation: 2 })).toThrow(
      /conv2d: kernel \(dilated extent \[5,5\]\) is larger than the padded input \[4,4\]/,
    );
    expect(() => wg.maxPool2d(wg.zeros([1, 1, 2, 2]), 3)).toThrow(/maxPool2d: kernel \[3,3\] is larger than the padded input/);
  });
  it('out-of-range dim', () => {
    expect(() => wg.sum(wg.zeros([2, 3]), 2)).toThrow(/sum: dim 2 is out of range for a tensor of rank 2 \(expected -2 to 1\)/);
    expect(() => wg.softmax(wg.zeros([2, 3]), -3)).toThrow(/softmax: dim -3 is out of range/);
  });
  it('int tensor into a float-only op', () => {
    expect(() => wg.exp(wg.tensor([1, 2], undefined, { dtype: 'int32' }))).toThrow(/exp: expected a float tensor but got int32 \[2\]/);
    expect(() => wg.conv1d(wg.zeros([1, 1, 4], { dtype: 'int32' }), wg.zeros([1, 1, 2]))).toThrow(/conv1d: expected a float tensor but got int32/);
  });
  it('backward on a non-scalar without a gradient', () => {
    const x = wg.ones([2, 3], { requiresGrad: true });
    expect(() => x.mul(2).backward()).toThrow(/backward: called without a gradient on a tensor of shape \[2,3\]/);
  });
  it('reshape to a different size, and values that do not fill a shape', () => {
    expect(() => wg.zeros([2, 3]).reshape([4, 2])).toThrow(/reshape: cannot reshape \[2,3\] \(6 elements\) to \[4,2\]/);
    expect(() => wg.tensor([1, 2, 3], [2, 2])).toThrow(/tensor: 3 values cannot fill shape \[2,2\]/);
  });
  it('cross-entropy target out of range and of the wrong dtype', () => {
    const logits = wg.zeros([2, 3]);
    expect(() => wg.crossEntropy(logits, wg.tensor([0, 3], undefined, { dtype: 'int32' }))).toThrow(/target 3 at position 1 is out of range for 3 classes/);
    expect(() => wg.crossEntropy(logits, wg.tensor([0, 1]))).toThrow(/crossEntropy: target \[2\] is float32; its values look like class indices: cast it with target\.int\(\)/);
  });
  it('a disposed tensor', () => {
    const t = wg.ones([2]);
    t.dispose();
    expect(() => t.add(1)).toThrow(/was disposed/);
  });
});
