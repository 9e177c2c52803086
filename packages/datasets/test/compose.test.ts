import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { transforms } from '../src/node';
import { imageFolder } from '../src/image-folder';
import { DataLoader, type Batch } from '../src/node';
import { readImage } from '../src/load-image';
import { writeGradientJpeg } from './helpers/images';
import { tempDir } from './helpers/tmp';

const root = tempDir();
for (const [cls, seed] of [['a', 1], ['b', 2]] as const) writeGradientJpeg(join(root, 'set', cls, `${cls}1.jpg`), 12, 10, seed);
const fileA = join(root, 'set', 'a', 'a1.jpg');
const fileB = join(root, 'set', 'b', 'b1.jpg');
const mean = [0.5, 0.4, 0.3];
const std = [0.2, 0.25, 0.3];

describe('transforms.compose: the DataLoader transforms on single images and batches', () => {
  const pipeline = transforms.compose([transforms.resize(8), transforms.toTensor(), transforms.normalize(mean, std)]);

  it('gives one image the values a DataLoader with the same list gives it', async () => {
    const { train } = await imageFolder(join(root, 'set'), { size: 8, cache: false });
    const loader = new DataLoader(train, { batchSize: 2, workers: 0, transforms: [...pipeline.transforms] });
    let batch!: Batch;
    for await (const b of loader) batch ??= b;
    const one = pipeline.apply(fileA);
    expect(one.shape).toEqual([3, 8, 8]);
    expect([...one.dataSync()]).toEqual([...batch.x.dataSync().subarray(0, 3 * 64)]);
    // From bytes and from decoded pixels too.
    expect([...pipeline.apply(readFileSync(fileA)).dataSync()]).toEqual([...one.dataSync()]);
    expect([...pipeline.apply(readImage(fileA)).dataSync()]).toEqual([...one.dataSync()]);
  });

  it('makes a batch from a list, and grey images with grayscale()', () => {
    const x = pipeline.apply([fileA, fileB]);
    expect(x.shape).toEqual([2, 3, 8, 8]);
    expect([...x.dataSync().subarray(0, 192)]).toEqual([...pipeline.apply(fileA).dataSync()]);
    const grey = transforms.compose([transforms.grayscale(), transforms.resize([4, 6]), transforms.toTensor()]).apply(fileB);
    expect(grey.shape).toEqual([1, 4, 6]);
    const v = grey.dataSync();
    expect(v.every((p) => p >= 0 && p <= 1)).toBe(true);
  });

  it('names the problem: sizes that differ without resize, a bad file, resize not first', () => {
    writeGradientJpeg(join(root, 'other.jpg'), 5, 5, 3);
    expect(() => transforms.compose([transforms.toTensor()]).apply([fileA, join(root, 'other.jpg')])).toThrow(/image 1 is 5×5 but image 0 is 10×12; add transforms.resize/);
    expect(() => pipeline.apply(join(root, 'missing.jpg'))).toThrow(/readImage: .*missing\.jpg/);
    expect(() => transforms.compose([transforms.toTensor(), transforms.resize(4)])).toThrow(/resize must come first/);
  });

  it('a DataLoader checks resize against the set instead of resizing', async () => {
    const { train } = await imageFolder(join(root, 'set'), { size: 8, cache: false });
    expect(() => new DataLoader(train, { batchSize: 1, transforms: [transforms.resize(16)] })).toThrow(/resize to 16×16 does not match the set's 8×8 images/);
  });
});
