/**
 * One pixel limit for both decoders, like PIL's Image.MAX_IMAGE_PIXELS (89,478,485 by
 * default): checked from the header before any pixel is decoded, settable by `maxPixels`, and
 * counted as a skipped file by image folders. The bombs are made by helpers/bombs.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../src/decode-image';
import { imageFolder } from '../src/image-folder';
import { loadImage, readImage } from '../src/load-image';
import { DEFAULT_MAX_PIXELS } from '../src/pixel-limit';
import { bombJpeg, bombPng, flatJpeg } from './helpers/bombs';
import { gradient, writeJpeg } from './helpers/images';
import { tempDir } from './helpers/tmp';

const dir = tempDir();

describe('the pixel limit', () => {
  it("defaults to PIL's MAX_IMAGE_PIXELS", () => {
    expect(DEFAULT_MAX_PIXELS).toBe(89_478_485);
  });

  it('refuses a PNG bomb and a JPEG bomb from the header, naming the size, the limit and the option', () => {
    const png = bombPng(20_000, 20_000);
    const jpg = bombJpeg(65_535, 65_535);
    expect(png.length).toBeLessThan(100_000);
    expect(() => decodeImage(png)).toThrow('image is 20000×20000 (400,000,000 pixels), over the limit of 89,478,485 pixels (a decompression bomb?); if you trust the file, raise the maxPixels option');
    expect(() => decodeImage(jpg)).toThrow(/image is 65535×65535 \(4,294,836,225 pixels\), over the limit of 89,478,485 pixels .*maxPixels option/);
    const path = join(dir, 'bomb.png');
    writeFileSync(path, png);
    expect(() => readImage(path)).toThrow(`readImage: ${path}: image is 20000×20000`);
    expect(() => loadImage(path, { height: 4, width: 4, colour: 'rgb' })).toThrow(`loadImage: ${path}: image is 20000×20000`);
  });

  it('is settable: maxPixels below an image refuses it, above lets it through', () => {
    const jpg = flatJpeg(40, 30);
    expect(decodeImage(jpg, 'rgb', { maxPixels: 1200 }).width).toBe(40);
    expect(() => decodeImage(jpg, 'rgb', { maxPixels: 1199 })).toThrow('image is 40×30 (1,200 pixels), over the limit of 1,199 pixels');
    const png = bombPng(50, 1);
    expect(decodeImage(png, 'grey', { maxPixels: 50 }).data).toEqual(new Uint8Array(50));
    expect(() => decodeImage(png, 'grey', { maxPixels: 49 })).toThrow('over the limit of 49 pixels');
    expect(() => decodeImage(png, 'grey', { maxPixels: 0 })).toThrow('maxPixels must be a positive number, got 0');
  });

  it('lets a 45-megapixel photo through and decodes it', () => {
    const jpg = flatJpeg(8192, 5504);
    expect(8192 * 5504).toBeGreaterThan(45_000_000);
    const px = decodeImage(jpg);
    expect([px.width, px.height, px.channels]).toEqual([8192, 5504, 3]);
    expect(px.data.indexOf(127) + px.data.indexOf(129)).toBe(-2);
    expect([px.data[0], px.data[px.data.length - 1]]).toEqual([128, 128]);
  });

  it('image folders skip a bomb as a bad file, with the reason, and load the rest', async () => {
    const root = join(dir, 'folder');
    mkdirSync(join(root, 'a'), { recursive: true });
    writeJpeg(join(root, 'a', 'good1.jpg'), gradient(8, 8), 8, 8);
    writeJpeg(join(root, 'a', 'good2.jpg'), gradient(8, 8, 1), 8, 8);
    writeFileSync(join(root, 'a', 'bomb.png'), bombPng(20_000, 20_000));
    writeFileSync(join(root, 'a', 'bomb.jpg'), bombJpeg(30_000, 30_000));
    const lines: string[] = [];
    const { train } = await imageFolder(root, { cache: false, size: 8, onWarning: (l) => lines.push(l) });
    expect(train.count).toBe(2);
    expect(train.skipped.map((s) => s.path.split('/').pop()).sort()).toEqual(['bomb.jpg', 'bomb.png']);
    expect(train.skipped.every((s) => /over the limit of 89,478,485 pixels.*maxPixels/.test(s.reason))).toBe(true);
    expect(lines).toHaveLength(2);
    // The option reaches the decoder (on every path): a limit below 8×8 skips the good files too.
    const strict = await imageFolder(root, { cache: false, size: 8, maxPixels: 63, onWarning: () => {} });
    expect(strict.train.count).toBe(0);
    expect(strict.train.skipped.find((s) => s.path.endsWith('good1.jpg'))?.reason).toMatch(/image is 8×8 \(64 pixels\), over the limit of 63 pixels/);
  });
});
