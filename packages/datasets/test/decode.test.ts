import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../src/decode-image';
import { decodeFiles } from '../src/decode-files';
import { readImage } from '../src/load-image';
import { gradient, writeGradientJpeg, writeJpeg, writePalettePng, writePng } from './helpers/images';
import { tempDir } from './helpers/tmp';

const dir = tempDir();
const W = 5;
const H = 4;

describe('decodeImage', () => {
  it('reads every PNG colour type as RGB or grey', () => {
    const rgb = gradient(W, H);
    const grey = Uint8Array.from({ length: W * H }, (_, i) => i * 10);
    const greyAlpha = Uint8Array.from({ length: 2 * W * H }, (_, i) => (i % 2 ? 200 : (i >> 1) * 10));
    const rgba = Uint8Array.from({ length: 4 * W * H }, (_, i) => (i % 4 === 3 ? 99 : rgb[3 * (i >> 2) + (i % 4)]));
    const grey16 = Uint16Array.from({ length: W * H }, (_, i) => i * 10 * 257);
    writePng(join(dir, 'rgb.png'), rgb, W, H, 2);
    writePng(join(dir, 'grey.png'), grey, W, H, 0);
    writePng(join(dir, 'grey-alpha.png'), greyAlpha, W, H, 4);
    writePng(join(dir, 'rgba.png'), rgba, W, H, 6);
    writePng(join(dir, 'grey16.png'), grey16, W, H, 0, 16);
    writePalettePng(join(dir, 'palette.png'), Uint8Array.from({ length: W * H }, (_, i) => i % 3), [[255, 0, 0], [0, 255, 0], [0, 0, 255]], W, H);
    const read = (name: string, colour: 'rgb' | 'grey' = 'rgb') => decodeImage(readFileSync(join(dir, name)), colour);

    expect([...read('rgb.png').data]).toEqual([...rgb]);
    expect([...read('rgba.png').data]).toEqual([...rgb]);
    const fromGrey = read('grey.png');
    expect(fromGrey.channels).toBe(3);
    expect([...fromGrey.data.filter((_, i) => i % 3 === 1)]).toEqual([...grey]);
    expect([...read('grey.png', 'grey').data]).toEqual([...grey]);
    expect([...read('grey-alpha.png', 'grey').data]).toEqual([...grey]);
    // PIL opens 16-bit grey as 32-bit integers (mode I), which convert() clips to 0..255.
    expect([...read('grey16.png', 'grey').data]).toEqual([...grey16].map((v) => Math.min(255, v)));
    const pal = read('palette.png');
    expect([...pal.data.subarray(0, 9)]).toEqual([255, 0, 0, 0, 255, 0, 0, 0, 255]);
    expect(read('palette.png', 'grey').data[0]).toBe(76); // 0.299 * 255
  });

  it('reads a JPEG close to what was written', () => {
    const rgb = gradient(16, 16, 3);
    writeJpeg(join(dir, 'a.jpg'), rgb, 16, 16, 100);
    const px = decodeImage(readFileSync(join(dir, 'a.jpg')));
    expect([px.width, px.height, px.channels]).toEqual([16, 16, 3]);
    const err = Math.max(...px.data.map((v, i) => Math.abs(v - rgb[i])));
    expect(err).toBeLessThan(12);
  });

  it('rejects truncated and non-image bytes with the reason', () => {
    const jpg = readFileSync(join(dir, 'a.jpg'));
    expect(() => decodeImage(jpg.subarray(0, jpg.length >> 1))).toThrow(/truncated JPEG/);
    const png = readFileSync(join(dir, 'rgb.png'));
    expect(() => decodeImage(png.subarray(0, png.length - 20))).toThrow();
    expect(() => decodeImage(Buffer.from('hello, world'))).toThrow(/not a JPEG or PNG/);
  });
});

describe('decodeImage refuses the JPEGs libjpeg-turbo as PIL uses it does not read, saying why', () => {
  const jpg = new Uint8Array(readFileSync(join(import.meta.dirname, 'fixtures/pil/jpeg/synth-444.jpg')));
  const sof = jpg.findIndex((b, i) => b === 0xff && jpg[i + 1] === 0xc0);
  const variant = (marker: number, precision = 8) => {
    const v = jpg.slice();
    v[sof + 1] = marker;
    v[sof + 4] = precision;
    return v;
  };

  it('arithmetic coding, lossless, hierarchical and 12-bit samples', () => {
    expect(decodeImage(variant(0xc0)).width).toBe(37);
    expect(() => decodeImage(variant(0xc9))).toThrow('arithmetic-coded (sequential) JPEGs are not supported (only baseline and progressive Huffman JPEGs');
    expect(() => decodeImage(variant(0xca))).toThrow('arithmetic-coded (progressive) JPEGs are not supported');
    expect(() => decodeImage(variant(0xc3))).toThrow('lossless JPEGs are not supported');
    expect(() => decodeImage(variant(0xc5))).toThrow('hierarchical (differential sequential) JPEGs are not supported');
    expect(() => decodeImage(variant(0xc0, 12))).toThrow('JPEG has 12-bit samples; only 8-bit JPEGs are supported');
  });

  it('the error names the file', () => {
    const path = join(dir, 'arithmetic.jpg');
    writeFileSync(path, variant(0xc9));
    expect(() => readImage(path)).toThrow(`readImage: ${path}: arithmetic-coded (sequential) JPEGs are not supported`);
  });
});

describe('decodeFiles', () => {
  it('gives the same pixels on worker threads as on the calling thread, and reports bad files', async () => {
    const paths: string[] = [];
    for (let i = 0; i < 300; i++) {
      const p = join(dir, 'many', `${i}.jpg`);
      writeGradientJpeg(p, 8, 6, i);
      paths.push(p);
    }
    writeFileSync(paths[7], 'not an image');
    const shape = { height: 4, width: 4, colour: 'rgb' as const };
    const inline = await decodeFiles(paths, shape, { workers: 0 });
    const threaded = await decodeFiles(paths, shape, { workers: 2 });
    expect(threaded.pixels.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Buffer.from(threaded.pixels).equals(Buffer.from(inline.pixels))).toBe(true);
    expect(threaded.failures).toEqual([{ index: 7, reason: 'not a JPEG or PNG image' }]);
    expect(inline.failures).toEqual(threaded.failures);
  });
});
