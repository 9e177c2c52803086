import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/** A w×h RGB test image (interleaved) whose colour varies smoothly with position and `seed`. */
export function gradient(width: number, height: number, seed = 0): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 3 * (y * width + x);
      out[i] = (seed * 37 + (x * 255) / Math.max(1, width - 1)) & 255;
      out[i + 1] = (seed * 11 + (y * 255) / Math.max(1, height - 1)) & 255;
      out[i + 2] = (seed * 53 + 128) & 255;
    }
  }
  return out;
}

function ensureDir(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
}

/** JPEG bytes of an RGB image (jpeg-js's encoder takes ~30 ms to set up per call, so tests reuse bytes). */
export function jpegBytes(rgb: Uint8Array, width: number, height: number, quality = 95): Buffer {
  const rgba = Buffer.alloc(width * height * 4, 255);
  for (let i = 0; i < width * height; i++) rgba.set(rgb.subarray(3 * i, 3 * i + 3), 4 * i);
  return Buffer.from(jpeg.encode({ data: rgba, width, height }, quality).data);
}

export function writeJpeg(path: string, rgb: Uint8Array, width: number, height: number, quality = 95): void {
  ensureDir(path);
  writeFileSync(path, jpegBytes(rgb, width, height, quality));
}

const gradientJpegs = new Map<string, Buffer>();

/** Writes gradient(width, height, seed % 8) as a JPEG, encoding each of the 8 variants once. */
export function writeGradientJpeg(path: string, width: number, height: number, seed: number): void {
  const key = `${width}x${height}:${seed % 8}`;
  if (!gradientJpegs.has(key)) gradientJpegs.set(key, jpegBytes(gradient(width, height, seed % 8), width, height));
  ensureDir(path);
  writeFileSync(path, gradientJpegs.get(key)!);
}

/**
 * A PNG through pngjs's encoder. `data` holds `inputColorType`'s samples interleaved
 * (0 grey, 2 RGB, 4 grey+alpha, 6 RGBA), 16-bit samples as a Uint16Array.
 */
export function writePng(path: string, data: Uint8Array | Uint16Array, width: number, height: number, colorType: 0 | 2 | 4 | 6, bitDepth: 8 | 16 = 8): void {
  const png = new PNG({ width, height, colorType, inputColorType: colorType, bitDepth, inputHasAlpha: colorType === 4 || colorType === 6 });
  png.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  ensureDir(path);
  writeFileSync(path, PNG.sync.write(png, { colorType, inputColorType: colorType, bitDepth, inputHasAlpha: colorType === 4 || colorType === 6 }));
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One PNG chunk: length, type, body and CRC. */
export function pngChunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}

/** An 8-bit palette PNG (colour type 3), which pngjs cannot write: `index` holds one palette index per pixel. */
export function writePalettePng(path: string, index: Uint8Array, palette: [number, number, number][], width: number, height: number): void {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 3, 0, 0, 0], 8);
  const raw = Buffer.alloc(height * (width + 1));
  for (let y = 0; y < height; y++) raw.set(index.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('PLTE', Buffer.from(palette.flat())),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
  ensureDir(path);
  writeFileSync(path, png);
}
