import { describe, expect, it } from 'vitest';
import { classCounts, sharedBytes, subsetImages, type ImageSet } from '../src/image-set';
import { naturalCompare } from '../src/natural-order';
import { permutation } from '../src/rng';

describe('image sets', () => {
  it('takes a subset in the given order, with labels and files', () => {
    const images = sharedBytes(4 * 2);
    images.set([1, 1, 2, 2, 3, 3, 4, 4]);
    const set: ImageSet = { images, labels: Int32Array.from([0, 1, 1, 2]), count: 4, channels: 1, height: 1, width: 2, classes: ['a', 'b', 'c'], files: ['w', 'x', 'y', 'z'], skipped: [] };
    const sub = subsetImages(set, [3, 1]);
    expect([...sub.images]).toEqual([4, 4, 2, 2]);
    expect([...sub.labels]).toEqual([2, 1]);
    expect(sub.files).toEqual(['z', 'x']);
    expect(classCounts(set)).toEqual([1, 2, 1]);
  });

  it('orders file names naturally: numbers by value', () => {
    const names = ['car10.jpg', 'car2.jpg', 'car1.jpg', 'bus.jpg', '1400_10.jpg', '1400_2.jpg', 'car02.jpg'];
    expect(names.sort(naturalCompare)).toEqual(['1400_2.jpg', '1400_10.jpg', 'bus.jpg', 'car1.jpg', 'car2.jpg', 'car02.jpg', 'car10.jpg']);
  });

  it('permutes with a seed: reproducible, complete, seed-dependent', () => {
    const a = permutation(50, 1);
    expect([...a]).toEqual([...permutation(50, 1)]);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect([...a]).not.toEqual([...permutation(50, 2)]);
  });
});
