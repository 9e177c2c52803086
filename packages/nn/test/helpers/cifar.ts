import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';

/** ../shared/data beside the repository, or WEBGRAD_DATA. */
export const dataRoot = process.env.WEBGRAD_DATA ?? fileURLToPath(new URL('../../../../../shared/data', import.meta.url));
export const cifarRoot = join(dataRoot, 'cifar10');
export const hasCifar = existsSync(join(cifarRoot, 'train'));

const MEAN = [0.4914, 0.4822, 0.4465];
const STD = [0.247, 0.243, 0.261];

/**
 * `perClass` images of each class from split/<class>/NNNN.jpg starting at `from`, decoded
 * with jpeg-js and normalised per channel, as [N, 3, 32, 32] values and int labels.
 */
export function readCifar(split: 'train' | 'test', classes: string[], perClass: number, from = 0): { x: Float32Array; y: Int32Array } {
  const n = classes.length * perClass;
  const x = new Float32Array(n * 3 * 32 * 32);
  const y = new Int32Array(n);
  let k = 0;
  classes.forEach((cls, label) => {
    for (let i = from; i < from + perClass; i++) {
      const file = join(cifarRoot, split, cls, `${String(i).padStart(4, '0')}.jpg`);
      const img = jpeg.decode(readFileSync(file), { useTArray: true });
      if (img.width !== 32 || img.height !== 32) throw new Error(`${file}: expected 32×32, got ${img.width}×${img.height}`);
      const base = k * 3072;
      for (let p = 0; p < 1024; p++) {
        for (let c = 0; c < 3; c++) x[base + c * 1024 + p] = (img.data[p * 4 + c] / 255 - MEAN[c]) / STD[c];
      }
      y[k++] = label;
    }
  });
  return { x, y };
}
