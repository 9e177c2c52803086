import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseIdx, readIdx } from '../src/idx';
import { loadFashionMnist, readMnistFolder } from '../src/mnist';
import { idxBytes, writeIdx } from './helpers/idx';
import { tempDir } from './helpers/tmp';

const dir = tempDir();

describe('readIdx', () => {
  it('reads raw and gzipped files the same, whatever their names', () => {
    const values = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 3);
    writeIdx(join(dir, 'a.idx'), [2, 3, 4], values);
    writeIdx(join(dir, 'a.idx.gz'), [2, 3, 4], values, true);
    writeFileSync(join(dir, 'named-raw-but-gzipped'), gzipSync(idxBytes([2, 3, 4], values)));
    for (const f of ['a.idx', 'a.idx.gz', 'named-raw-but-gzipped']) {
      const { dims, data } = readIdx(join(dir, f));
      expect(dims).toEqual([2, 3, 4]);
      expect([...data]).toEqual([...values]);
    }
  });

  it('reads big-endian multi-byte types', () => {
    const bytes = Buffer.from([0, 0, 0x0b, 1, 0, 0, 0, 2, 0x01, 0x02, 0xff, 0xfe]);
    const { data } = parseIdx(bytes, 'shorts');
    expect(data).toBeInstanceOf(Int16Array);
    expect([...data]).toEqual([258, -2]);
    const floats = Buffer.alloc(8 + 4);
    floats.set([0, 0, 0x0d, 1, 0, 0, 0, 1]);
    floats.writeFloatBE(1.5, 8);
    expect([...parseIdx(floats, 'floats').data]).toEqual([1.5]);
  });

  it('names the file of a wrong magic number', () => {
    const path = join(dir, 'bad-magic');
    writeFileSync(path, Buffer.from([0x12, 0x34, 0x08, 0x01, 0, 0, 0, 0]));
    expect(() => readIdx(path)).toThrow(`IDX: ${path}: bad magic number 12 34 08 01`);
    writeFileSync(path, Buffer.from([0, 0, 0x07, 0x01, 0, 0, 0, 0]));
    expect(() => readIdx(path)).toThrow(`IDX: ${path}: bad magic number 00 00 07 01`);
  });

  it('names the file whose size does not match its header', () => {
    const path = join(dir, 'short.gz');
    writeFileSync(path, gzipSync(idxBytes([10, 28, 28], new Uint8Array(9 * 28 * 28))));
    expect(() => readIdx(path)).toThrow(`IDX: ${path}: 7072 bytes, but its header [10, 28, 28] of unsigned bytes needs 7856; the file is truncated or corrupt`);
    const broken = join(dir, 'broken.gz');
    writeFileSync(broken, gzipSync(idxBytes([1], new Uint8Array(1))).subarray(0, 15));
    expect(() => readIdx(broken)).toThrow(`IDX: ${broken}: cannot gunzip`);
  });

  it('reads an MNIST-layout folder and checks labels against images', () => {
    const mnist = join(dir, 'mnist');
    mkdirSync(mnist);
    writeIdx(join(mnist, 'train-images-idx3-ubyte.gz'), [3, 2, 2], Uint8Array.from({ length: 12 }, (_, i) => i), true);
    writeIdx(join(mnist, 'train-labels-idx1-ubyte.gz'), [3], Uint8Array.from([7, 0, 9]), true);
    writeIdx(join(mnist, 't10k-images-idx3-ubyte'), [1, 2, 2], Uint8Array.from([1, 2, 3, 4]));
    writeIdx(join(mnist, 't10k-labels-idx1-ubyte'), [2], Uint8Array.from([1, 2]));
    expect(() => readMnistFolder(mnist)).toThrow(`has 2 labels but ${join(mnist, 't10k-images-idx3-ubyte')} has 1 images`);
    writeIdx(join(mnist, 't10k-labels-idx1-ubyte'), [1], Uint8Array.from([4]));
    const { train, test } = readMnistFolder(mnist);
    expect([train.count, train.channels, train.height, train.width]).toEqual([3, 1, 2, 2]);
    expect([...train.labels]).toEqual([7, 0, 9]);
    expect([...test.images]).toEqual([1, 2, 3, 4]);
  });
});

describe('loadFashionMnist', () => {
  it('says where it looked and how to install it when it is missing', () => {
    const none = join(dir, 'none');
    expect(() => loadFashionMnist({ dir: none })).toThrow(`Fashion-MNIST: not found in ${none}; install it with \`sudo apt-get install dataset-fashion-mnist\``);
  });
});
