import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { imageSize, loadImage } from '../src/load-image';
import { readIdx } from '../src/idx';
import { readCifar10Binary } from '../src/cifar-binary';
import { gradient, writeJpeg } from './helpers/images';
import { idxBytes } from './helpers/idx';
import { cifarBatchBytes, makeCifarBinary } from './helpers/cifar';
import { tempDir } from './helpers/tmp';

const dir = tempDir();
const shape = { height: 4, width: 4, colour: 'rgb' as const };

describe('every file reader names the file in its errors', () => {
  const good = join(dir, 'good.jpg');
  writeJpeg(good, gradient(8, 8), 8, 8);
  const truncated = join(dir, 'truncated.jpg');
  writeFileSync(truncated, readFileSync(good).subarray(0, 100));
  const empty = join(dir, 'empty.png');
  writeFileSync(empty, '');
  const text = join(dir, 'notes.jpg');
  writeFileSync(text, 'hello, world');

  it('loadImage and imageSize: truncated, empty, not an image', () => {
    expect(loadImage(good, shape).length).toBe(48);
    expect(imageSize(good)).toEqual({ height: 8, width: 8 });
    for (const read of [(p: string) => loadImage(p, shape), imageSize]) {
      expect(() => read(truncated)).toThrow(`${truncated}: truncated JPEG (no end-of-image marker)`);
      expect(() => read(empty)).toThrow(`${empty}: empty file`);
      expect(() => read(text)).toThrow(`${text}: not a JPEG or PNG image`);
    }
    expect(() => loadImage(join(dir, 'missing.jpg'), shape)).toThrow(/loadImage: .*missing\.jpg/);
  });

  it('IDX: bad magic, truncated, not gzip', () => {
    const bad = join(dir, 'bad-idx');
    writeFileSync(bad, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(() => readIdx(bad)).toThrow(`IDX: ${bad}: bad magic number`);
    const short = join(dir, 'short-idx');
    writeFileSync(short, idxBytes([4, 2], new Uint8Array(8)).subarray(0, 12));
    expect(() => readIdx(short)).toThrow(`IDX: ${short}:`);
    const gz = join(dir, 'broken.gz');
    writeFileSync(gz, Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]));
    expect(() => readIdx(gz)).toThrow(`IDX: ${gz}: cannot gunzip`);
  });

  it('CIFAR-10 binary: a truncated batch and a missing one', () => {
    const root = makeCifarBinary(join(dir, 'cifar'));
    const batch = join(root, 'data_batch_2.bin');
    writeFileSync(batch, cifarBatchBytes(1, 2).subarray(0, 5000));
    expect(() => readCifar10Binary(root)).toThrow(`CIFAR-10: ${batch} is 5000 bytes`);
    const other = makeCifarBinary(join(dir, 'cifar2'));
    const missing = join(other, 'test_batch.bin');
    writeFileSync(missing, '');
    expect(() => readCifar10Binary(other)).toThrow(missing);
  });
});
