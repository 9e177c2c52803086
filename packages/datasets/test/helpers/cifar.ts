import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CIFAR_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];

/** The pixel byte at `offset` (0..3071) of record `record` in file number `file` of a made batch folder. */
export const cifarPixel = (file: number, record: number, offset: number) => (file * 31 + record * 7 + offset) & 255;
export const cifarLabel = (file: number, record: number) => (file + record) % 10;

/** One batch file's bytes: records of 1 label byte + 3,072 pixel bytes. */
export function cifarBatchBytes(file: number, records: number): Buffer {
  const out = Buffer.alloc(records * 3073);
  for (let r = 0; r < records; r++) {
    out[r * 3073] = cifarLabel(file, r);
    for (let o = 0; o < 3072; o++) out[r * 3073 + 1 + o] = cifarPixel(file, r, o);
  }
  return out;
}

/** A small cifar-10-batches-bin folder: six files of `records` records each. */
export function makeCifarBinary(dir: string, records = 4): string {
  mkdirSync(dir, { recursive: true });
  CIFAR_FILES.forEach((name, f) => writeFileSync(join(dir, name), cifarBatchBytes(f, records)));
  return dir;
}
