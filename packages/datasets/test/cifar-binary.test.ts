import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CIFAR10_CLASSES, readCifar10Binary } from '../src/cifar-binary';
import { cifarLabel, cifarPixel, makeCifarBinary } from './helpers/cifar';
import { tempDir } from './helpers/tmp';

const root = tempDir();

describe('readCifar10Binary', () => {
  it('reads the records of the five training files and the test file, pixels planar R, G, B', () => {
    const dir = makeCifarBinary(join(root, 'ok', 'cifar-10-batches-bin'), 3);
    const { train, test } = readCifar10Binary(dir);
    expect([train.count, test.count]).toEqual([15, 3]);
    expect([train.channels, train.height, train.width]).toEqual([3, 32, 32]);
    expect(train.classes).toEqual(CIFAR10_CLASSES);
    expect([...train.labels]).toEqual([0, 1, 2, 3, 4].flatMap((f) => [0, 1, 2].map((r) => cifarLabel(f, r))));
    // Record 2 of data_batch_2: red at (0,0), green at (0,1), blue at (31,31).
    const img = train.images.subarray((3 + 2) * 3072, (3 + 3) * 3072);
    expect(img[0]).toBe(cifarPixel(1, 2, 0));
    expect(img[1024 + 1]).toBe(cifarPixel(1, 2, 1025));
    expect(img[2048 + 1023]).toBe(cifarPixel(1, 2, 3071));
    expect(test.images[5]).toBe(cifarPixel(5, 0, 5));
    expect(train.images.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('names the file when its length is not whole records', () => {
    const dir = makeCifarBinary(join(root, 'short', 'cifar-10-batches-bin'), 2);
    const file = join(dir, 'data_batch_3.bin');
    writeFileSync(file, readFileSync(file).subarray(0, 3073 + 100));
    expect(() => readCifar10Binary(dir)).toThrow(`CIFAR-10: ${file} is 3173 bytes, not a whole number of 3073-byte records`);
  });

  it('names the file and record of a label outside 0–9', () => {
    const dir = makeCifarBinary(join(root, 'label', 'cifar-10-batches-bin'), 3);
    const file = join(dir, 'test_batch.bin');
    const bytes = readFileSync(file);
    bytes[2 * 3073] = 42;
    writeFileSync(file, bytes);
    expect(() => readCifar10Binary(dir)).toThrow(`CIFAR-10: ${file}: record 2 (byte 6146) has label 42; CIFAR-10 labels are 0–9`);
  });

  it('names a missing folder, a missing batch file and an empty one', () => {
    expect(() => readCifar10Binary(join(root, 'nowhere'))).toThrow(`CIFAR-10: folder not found: ${join(root, 'nowhere')}`);
    const dir = makeCifarBinary(join(root, 'missing', 'cifar-10-batches-bin'), 1);
    rmSync(join(dir, 'data_batch_5.bin'));
    expect(() => readCifar10Binary(dir)).toThrow(`CIFAR-10: missing ${join(dir, 'data_batch_5.bin')}`);
    writeFileSync(join(dir, 'data_batch_5.bin'), '');
    expect(() => readCifar10Binary(dir)).toThrow(`CIFAR-10: ${join(dir, 'data_batch_5.bin')} is 0 bytes`);
  });
});
