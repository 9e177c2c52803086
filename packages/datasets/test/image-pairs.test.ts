import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { imagePairs } from '../src/image-pairs';
import { readImage } from '../src/load-image';
import { resizeToPlanar } from '../src/resize';
import { writeGradientJpeg } from './helpers/images';
import { tempDir } from './helpers/tmp';

const root = tempDir();

/** hazy/<scene>_<level>.jpg and clear/<scene>.jpg for scenes 1..n (levels 1..3). */
function makePairs(dir: string, scenes: number, levels = 3): void {
  for (let s = 1; s <= scenes; s++) {
    writeGradientJpeg(join(dir, 'clear', `${s}.jpg`), 12, 8, s);
    for (let l = 1; l <= levels; l++) writeGradientJpeg(join(dir, 'hazy', `${s}_${l}.jpg`), 12, 8, s + l);
  }
}

describe('imagePairs', () => {
  it('pairs hazy images with their clear scene and splits by scene', async () => {
    const dir = join(root, 'pairs');
    makePairs(dir, 10);
    const { train, test } = await imagePairs(dir, { cache: false, size: [4, 6] });
    expect(train.scenes).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
    expect(test.scenes).toEqual(['9', '10']);
    expect([train.count, test.count]).toEqual([24, 6]);
    expect([train.channels, train.height, train.width]).toEqual([3, 4, 6]);
    expect(test.files!.map((f) => f.split('/').pop())).toEqual(['9_1.jpg', '9_2.jpg', '9_3.jpg', '10_1.jpg', '10_2.jpg', '10_3.jpg']);
    expect([...test.targetOf]).toEqual([0, 0, 0, 1, 1, 1]);
    expect(test.targets.length).toBe(2 * 3 * 4 * 6);
  });

  it("resizes with PIL's bilinear filter unless resizeFilter says otherwise", async () => {
    const dir = join(root, 'pairs-filter');
    makePairs(dir, 2, 1);
    const clear = readImage(join(dir, 'clear', '1.jpg'));
    const expected = (filter: 'bilinear' | 'area') => [...resizeToPlanar(clear, 4, 6, undefined, filter)];
    const targets = async (resizeFilter?: 'bilinear' | 'area') => [...(await imagePairs(dir, { cache: false, size: [4, 6], testPercent: 50, resizeFilter })).train.targets];
    expect(await targets()).toEqual(expected('bilinear'));
    expect(await targets('area')).toEqual(expected('area'));
    expect(expected('area')).not.toEqual(expected('bilinear'));
  });

  it('skips hazy images without a clear scene and badly named ones, with a warning each', async () => {
    const dir = join(root, 'orphans');
    makePairs(dir, 5, 2);
    writeGradientJpeg(join(dir, 'hazy', '77_1.jpg'), 12, 8, 1);
    writeGradientJpeg(join(dir, 'hazy', 'noscene.jpg'), 12, 8, 1);
    writeFileSync(join(dir, 'hazy', '3_2.jpg'), 'broken');
    const lines: string[] = [];
    const { train, test } = await imagePairs(dir, { cache: false, onWarning: (l) => lines.push(l) });
    expect(lines).toEqual([
      `imagePairs: skipped ${join(dir, 'hazy', '77_1.jpg')}: no clear image for scene 77 in ${join(dir, 'clear')}`,
      `imagePairs: skipped ${join(dir, 'hazy', 'noscene.jpg')}: name is not <scene>_<level>`,
      `imagePairs: skipped ${join(dir, 'hazy', '3_2.jpg')}: not a JPEG or PNG image`,
    ]);
    expect([train.count, test.count, train.skipped.length]).toEqual([7, 2, 3]);
    await expect(imagePairs(dir, { cache: false, strict: true })).rejects.toThrow(`imagePairs: cannot use ${join(dir, 'hazy', '77_1.jpg')}`);
  });

  it('names a missing hazy or clear folder', async () => {
    const dir = join(root, 'half');
    mkdirSync(join(dir, 'hazy'), { recursive: true });
    await expect(imagePairs(dir)).rejects.toThrow(`imagePairs: folder not found: ${join(dir, 'clear')}`);
  });
});
