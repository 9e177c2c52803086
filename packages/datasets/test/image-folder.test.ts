import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { imageFolder } from '../src/image-folder';
import { decodedListKey } from '../src/decode-cached';
import { DECODER_VERSION } from '../src/decode-image';
import { imagePairs } from '../src/image-pairs';
import { DEFAULT_MAX_PIXELS } from '../src/pixel-limit';
import { listImageFolder } from '../src/list-image-folder';
import { gradient, writeGradientJpeg, writePalettePng, writePng } from './helpers/images';
import { tempDir } from './helpers/tmp';

const root = tempDir();
const cache = join(root, 'cache');

/** root/<class>/<class>N.jpg for N = 1..count (so that natural and plain name order differ). */
function makeFolder(dir: string, counts: Record<string, number>, size = 8): void {
  for (const [cls, n] of Object.entries(counts)) {
    for (let i = 1; i <= n; i++) writeGradientJpeg(join(dir, cls, `${cls}${i}.jpg`), size, size, i);
  }
}

const quiet = { onWarning: () => {} };

describe('listImageFolder', () => {
  const dir = join(root, 'list');
  makeFolder(dir, { car: 12, truck: 4, bike: 3 });

  it('takes the last p % of each class, in natural file-name order, as the test set', () => {
    const l = listImageFolder(dir, { testPercent: 25 });
    expect(l.classes).toEqual(['bike', 'car', 'truck']);
    const test = l.files.filter((_, i) => l.isTest[i]).map((f) => f.split('/').pop());
    expect(test).toEqual(['bike3.jpg', 'car10.jpg', 'car11.jpg', 'car12.jpg', 'truck4.jpg']);
  });

  it('selects and renames classes, merging folders given one name', () => {
    const l = listImageFolder(dir, { classes: { truck: 'heavy', car: 'light', bike: 'light' } });
    expect(l.classes).toEqual(['heavy', 'light']);
    expect(l.labels.filter((c) => c === 1).length).toBe(15);
    expect(listImageFolder(dir, { classes: ['truck', 'car'] }).classes).toEqual(['truck', 'car']);
  });

  it('names a missing root, a missing class and an empty class folder', () => {
    expect(() => listImageFolder(join(root, 'absent'))).toThrow(`imageFolder: folder not found: ${join(root, 'absent')}`);
    expect(() => listImageFolder(dir, { classes: ['car', 'bus'] })).toThrow(`imageFolder: class: folder not found: ${join(dir, 'bus')}`);
    const withEmpty = join(root, 'with-empty');
    makeFolder(withEmpty, { car: 2 });
    mkdirSync(join(withEmpty, 'bus'));
    writeFileSync(join(withEmpty, 'bus', 'readme.txt'), 'no pictures');
    expect(() => listImageFolder(withEmpty)).toThrow(`imageFolder: class folder ${join(withEmpty, 'bus')} has no images (.jpg, .jpeg or .png)`);
    const noClasses = join(root, 'no-classes');
    mkdirSync(noClasses);
    expect(() => listImageFolder(noClasses)).toThrow(`imageFolder: no class folders in ${noClasses}`);
  });
});

describe('imageFolder', () => {
  it('decodes JPEG and every kind of PNG to one size, in RGB or grey', async () => {
    const dir = join(root, 'mixed');
    const rgb = gradient(6, 4);
    writePng(join(dir, 'a', '1.png'), rgb, 6, 4, 2);
    writePng(join(dir, 'a', '2.png'), Uint8Array.from({ length: 24 }, (_, i) => i * 10), 6, 4, 0);
    writePng(join(dir, 'a', '3.png'), Uint8Array.from({ length: 48 }, (_, i) => (i % 2 ? 255 : i * 5)), 6, 4, 4);
    writePng(join(dir, 'b', '4.png'), Uint8Array.from({ length: 96 }, (_, i) => (i % 4 === 3 ? 0 : i)), 6, 4, 6);
    writePng(join(dir, 'b', '5.png'), Uint16Array.from({ length: 72 }, (_, i) => i * 900), 6, 4, 2, 16);
    writePalettePng(join(dir, 'b', '6.png'), new Uint8Array(24).fill(1), [[0, 0, 0], [10, 20, 30]], 6, 4);
    writeGradientJpeg(join(dir, 'b', '7.jpeg'), 12, 8, 1);
    const { train } = await imageFolder(dir, { cache: false, ...quiet });
    expect([train.count, train.channels, train.height, train.width]).toEqual([7, 3, 4, 6]);
    expect([...train.labels]).toEqual([0, 0, 0, 1, 1, 1, 1]);
    // Palette image: every pixel is palette entry 1.
    const pal = train.images.subarray(5 * 72, 6 * 72);
    expect([pal[0], pal[24], pal[48]]).toEqual([10, 20, 30]);
    const grey = await imageFolder(dir, { cache: false, colour: 'grey', size: [2, 3] });
    expect([grey.train.channels, grey.train.height, grey.train.width]).toEqual([1, 2, 3]);
  });

  it("resizes with PIL's bilinear filter by default, and with resizeFilter 'area' or 'nearest' when asked", async () => {
    const dir = join(root, 'resize');
    // A 4×4 checkerboard of 0 and 200: area averages to 100 everywhere at 2×2; PIL's bilinear
    // tent (support 2 source pixels) weights the nearer pixels more, so the corners differ.
    const board = Uint8Array.from({ length: 16 }, (_, i) => (((i >> 2) + (i & 3)) % 2 ? 200 : 0));
    writePng(join(dir, 'c', 'board.png'), board, 4, 4, 0);
    const read = async (resizeFilter?: 'bilinear' | 'area' | 'nearest') => [...(await imageFolder(dir, { cache: false, colour: 'grey', size: 2, resizeFilter })).train.images];
    expect(await read()).toEqual([98, 102, 102, 98]); // PIL 9.4: Image.fromarray(board).resize((2, 2), Image.BILINEAR)
    expect(await read('bilinear')).toEqual([98, 102, 102, 98]);
    expect(await read('area')).toEqual([100, 100, 100, 100]);
    expect(await read('nearest')).toEqual([0, 0, 0, 0]);
    await expect(imageFolder(dir, { cache: false, resizeFilter: 'cubic' as never })).rejects.toThrow(/resizeFilter: resize filter must be one of 'bilinear', 'nearest', 'area'/);
  });

  it('skips unreadable, truncated and non-image files with one warning line each, and counts them', async () => {
    const dir = join(root, 'bad');
    makeFolder(dir, { cat: 6, dog: 6 });
    const truncated = join(dir, 'cat', 'cat2.jpg');
    writeFileSync(truncated, readFileSync(truncated).subarray(0, 200));
    const notImage = join(dir, 'dog', 'dog3.jpg');
    writeFileSync(notImage, 'this is text, not a JPEG');
    const note = join(dir, 'dog', 'notes.txt');
    writeFileSync(note, 'hello');
    const unreadable = join(dir, 'dog', 'dog6.jpg');
    chmodSync(unreadable, 0o000);
    const canRead = (() => {
      try {
        readFileSync(unreadable);
        return true; // root reads anything: make the file empty instead.
      } catch {
        return false;
      }
    })();
    if (canRead) writeFileSync(unreadable, '');
    const lines: string[] = [];
    const { train, test } = await imageFolder(dir, { cache: false, testPercent: 50, onWarning: (l) => lines.push(l) });
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe(`imageFolder: skipped ${note}: not an image file (expected .jpg, .jpeg, .png)`);
    expect(lines.slice(1).map((l) => l.split(': ')[1])).toEqual([`skipped ${truncated}`, `skipped ${notImage}`, `skipped ${unreadable}`]);
    expect(lines[1]).toContain('truncated JPEG');
    expect(train.skipped.length + test.skipped.length).toBe(4);
    // 50 % of 6 per class is decided by name first; then cat2, dog3 (train) and dog6 (test) drop out.
    expect([train.count, test.count]).toEqual([4, 5]);
    expect(train.files!.some((f) => f === truncated || f === notImage)).toBe(false);
  });

  it('skips symbolic-link loops, dangling links, FIFOs and folder links back up the tree, naming each, instead of aborting', async () => {
    const dir = join(root, 'links');
    makeFolder(dir, { cat: 3, dog: 3 });
    const loop = join(dir, 'cat', 'loop.jpg');
    symlinkSync('loop.jpg', loop);
    const [ping, pong] = [join(dir, 'dog', 'ping.png'), join(dir, 'dog', 'pong.png')];
    symlinkSync('pong.png', ping);
    symlinkSync('ping.png', pong);
    const dangling = join(dir, 'dog', 'gone.jpg');
    symlinkSync(join(dir, 'nowhere', 'gone.jpg'), dangling);
    const fifo = join(dir, 'cat', 'pipe.jpg');
    execFileSync('mkfifo', [fifo]);
    // Class-level entries: a folder link back to the root (a walker following it never ends) and a dangling one.
    const up = join(dir, 'up');
    symlinkSync('.', up);
    const lost = join(dir, 'lost');
    symlinkSync(join(dir, 'no-such-class'), lost);
    const lines: string[] = [];
    const { train } = await imageFolder(dir, { onWarning: (l) => lines.push(l), cache: join(root, 'links-cache') });
    expect(train.classes).toEqual(['cat', 'dog']);
    expect(train.count).toBe(6);
    const reasons = Object.fromEntries(train.skipped.map((s) => [s.path, s.reason]));
    expect(reasons).toEqual({
      [lost]: `a dangling symbolic link: its target ${join(dir, 'no-such-class')} does not exist (ENOENT)`,
      [up]: `a symbolic link loop: it leads back to ${realpathSync(dir)}, which contains it`,
      [loop]: 'a symbolic link loop (ELOOP)',
      [fifo]: 'not a regular file (a FIFO, socket or device)',
      [dangling]: `a dangling symbolic link: its target ${join(dir, 'nowhere', 'gone.jpg')} does not exist (ENOENT)`,
      [ping]: 'a symbolic link loop (ELOOP)',
      [pong]: 'a symbolic link loop (ELOOP)',
    });
    expect(lines).toEqual(train.skipped.map((s) => `imageFolder: skipped ${s.path}: ${s.reason}`));
    // The same entries in a pairs folder.
    const pairs = join(root, 'links-pairs');
    writeGradientJpeg(join(pairs, 'clear', '1.jpg'), 8, 8, 1);
    writeGradientJpeg(join(pairs, 'hazy', '1_1.jpg'), 8, 8, 2);
    symlinkSync('2_1.jpg', join(pairs, 'hazy', '2_1.jpg'));
    const set = await imagePairs(pairs, { cache: false, testPercent: 0, onWarning: () => {} });
    expect(set.train.count).toBe(1);
    expect(set.train.skipped).toEqual([{ path: join(pairs, 'hazy', '2_1.jpg'), reason: 'a symbolic link loop (ELOOP)' }]);
  });

  it('with strict: true, throws an Error naming the bad file', async () => {
    const dir = join(root, 'strict');
    makeFolder(dir, { a: 3 });
    const bad = join(dir, 'a', 'a2.jpg');
    writeFileSync(bad, 'garbage');
    await expect(imageFolder(dir, { cache: false, strict: true })).rejects.toThrow(`imageFolder: cannot use ${bad}: not a JPEG or PNG image`);
  });

  it('caches decoded images on disk, keyed by files and size', async () => {
    const dir = join(root, 'cached');
    makeFolder(dir, { x: 5, y: 5 }, 16);
    const first = await imageFolder(dir, { cache, size: 8, testPercent: 20 });
    const entries = readdirSync(cache);
    expect(entries).toHaveLength(1);
    const second = await imageFolder(dir, { cache, size: 8, testPercent: 40 });
    expect(readdirSync(cache)).toEqual(entries);
    const fresh = await imageFolder(dir, { cache: false, size: 8, testPercent: 40 });
    expect(Buffer.from(second.train.images).equals(Buffer.from(fresh.train.images))).toBe(true);
    expect([...second.test.labels]).toEqual([...fresh.test.labels]);
    expect([first.test.count, second.test.count]).toEqual([2, 4]);
    await imageFolder(dir, { cache, size: 4 });
    expect(readdirSync(cache)).toHaveLength(2);
    // A changed file changes the key.
    writeGradientJpeg(join(dir, 'x', 'x1.jpg'), 16, 16, 5);
    await imageFolder(dir, { cache, size: 4 });
    expect(readdirSync(cache)).toHaveLength(3);
    // So do the resize filter and the pixel limit; the decoder's version is in it too.
    const area = await imageFolder(dir, { cache, size: 4, resizeFilter: 'area' });
    expect(readdirSync(cache)).toHaveLength(4);
    expect(Buffer.from(area.train.images).equals(Buffer.from((await imageFolder(dir, { cache: false, size: 4, resizeFilter: 'area' })).train.images))).toBe(true);
    await imageFolder(dir, { cache, size: 4, maxPixels: 1000 });
    expect(readdirSync(cache)).toHaveLength(5);
  });

  it("the cache key names the decoder's version, the filter and the pixel limit", () => {
    const dir = join(root, 'cached');
    const files = [join(dir, 'x', 'x1.jpg')];
    const shape = { height: 4, width: 4, colour: 'rgb' as const };
    const keys = [
      decodedListKey(files, shape),
      decodedListKey(files, shape, 'jpeg-js 0.4'),
      decodedListKey(files, { ...shape, filter: 'area' }),
      decodedListKey(files, { ...shape, maxPixels: 10 }),
    ];
    expect(new Set(keys).size).toBe(4);
    expect(decodedListKey(files, { ...shape, filter: 'bilinear', maxPixels: DEFAULT_MAX_PIXELS }, DECODER_VERSION)).toBe(keys[0]);
  });
});
