/**
 * The readers on the real data sets in ../shared/data (or $WEBGRAD_SHARED_DATA) and Debian's
 * Fashion-MNIST. Each part is skipped where its set is absent. Decoded images go to the
 * default cache, so only the first run decodes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CIFAR10_CLASSES } from '../src/cifar-binary';
import { loadCifar10 } from '../src/cifar10';
import { decodeImage } from '../src/decode-image';
import { imageFolder } from '../src/image-folder';
import { imagePairs } from '../src/image-pairs';
import { classCounts } from '../src/image-set';
import { DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_CLASSES, loadFashionMnist } from '../src/mnist';
import { repoRoot } from '../src/paths';

// The developers' and CI's real data sets, when this machine has them.
const shared = process.env.WEBGRAD_SHARED_DATA ?? join(repoRoot(), '..', 'shared', 'data');
const has = (name: string) => existsSync(join(shared, name));

describe.skipIf(!has('cifar10'))('CIFAR-10 (shared JPEG folders)', () => {
  it('gives 50,000 / 10,000 images, 5,000 / 1,000 per class, decoded as stored', async () => {
    const { train, test, source } = await loadCifar10({ sharedRoot: shared, dataDir: join(shared, 'none'), download: false });
    expect(source).toBe(join(shared, 'cifar10'));
    expect([train.count, test.count]).toEqual([50000, 10000]);
    expect(train.classes).toEqual(CIFAR10_CLASSES);
    expect(classCounts(train)).toEqual(new Array(10).fill(5000));
    expect(classCounts(test)).toEqual(new Array(10).fill(1000));
    // Image 5,123 of the training set is the 124th automobile and holds exactly that file's pixels.
    const file = train.files![5123];
    expect(file).toBe(join(shared, 'cifar10', 'train', 'automobile', '0123.jpg'));
    const px = decodeImage(readFileSync(file));
    const planar = train.images.subarray(5123 * 3072, 5124 * 3072);
    expect([planar[0], planar[1024], planar[2048], planar[1023]]).toEqual([px.data[0], px.data[1], px.data[2], px.data[3 * 1023]]);
  });
});

describe.skipIf(!has('vehicles'))('vehicles (car, minibus, truck; last 25 % per class)', () => {
  it('gives 600 / 200 images per class, the test set being the last files by name', async () => {
    const { train, test } = await imageFolder(join(shared, 'vehicles'), { classes: ['car', 'minibus', 'truck'], testPercent: 25, size: 32 });
    expect(train.classes).toEqual(['car', 'minibus', 'truck']);
    expect(classCounts(train)).toEqual([600, 600, 600]);
    expect(classCounts(test)).toEqual([200, 200, 200]);
    expect([train.skipped.length, test.skipped.length]).toEqual([0, 0]);
    expect(test.files![0]).toBe(join(shared, 'vehicles', 'car', 'car601.jpg'));
    expect(test.files!.at(-1)).toBe(join(shared, 'vehicles', 'truck', 'truck800.jpg'));
  });
});

describe.skipIf(!has('dehaze'))('dehaze (hazy/clear pairs split by scene)', () => {
  it('gives 400 / 100 hazy images from 40 / 10 scenes, no scene on both sides', async () => {
    const { train, test } = await imagePairs(join(shared, 'dehaze'), { size: [115, 155] });
    expect([train.count, test.count]).toEqual([400, 100]);
    expect([train.scenes.length, test.scenes.length]).toEqual([40, 10]);
    expect(train.scenes.filter((s) => test.scenes.includes(s))).toEqual([]);
    // The test scenes are the last by number.
    expect(Math.min(...test.scenes.map(Number))).toBeGreaterThan(Math.max(...train.scenes.map(Number)));
    expect([train.channels, train.height, train.width]).toEqual([3, 115, 155]);
  });
});

describe.skipIf(!existsSync(DEBIAN_FASHION_MNIST_DIR))("Fashion-MNIST (Debian's dataset-fashion-mnist)", () => {
  it('gives 60,000 / 10,000 images of 28×28 with the known first labels', () => {
    const { train, test } = loadFashionMnist();
    expect([train.count, test.count]).toEqual([60000, 10000]);
    expect([train.channels, train.height, train.width]).toEqual([1, 28, 28]);
    expect(train.classes).toEqual(FASHION_MNIST_CLASSES);
    expect([...train.labels.subarray(0, 10)]).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    expect([...test.labels.subarray(0, 10)]).toEqual([9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    expect(classCounts(train)).toEqual(new Array(10).fill(6000));
    expect(classCounts(test)).toEqual(new Array(10).fill(1000));
  });
});
