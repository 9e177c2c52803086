/**
 * Images whose header declares far more pixels than their file holds (decompression bombs),
 * and a large but legitimate JPEG, made at test time so that no big file is stored.
 */
import { deflateSync } from 'node:zlib';
import { pngChunk } from './images';

const u16 = (v: number) => [v >> 8, v & 255];

function segment(marker: number, body: number[]): number[] {
  return [0xff, marker, ...u16(body.length + 2), ...body];
}

/**
 * A baseline 4:2:0 YCbCr JPEG of width×height pixels, all mid-grey: every block is a zero DC
 * difference and an end-of-block, each a one-bit code, so 45 MP take about 260 KB.
 */
export function flatJpeg(width: number, height: number): Uint8Array {
  const oneCode = (symbol: number) => [1, ...new Array<number>(15).fill(0), symbol];
  const head = [
    0xff, 0xd8,
    ...segment(0xdb, [0, ...new Array<number>(64).fill(1)]),
    ...segment(0xc0, [8, ...u16(height), ...u16(width), 3, 1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0]),
    ...segment(0xc4, [0x00, ...oneCode(0)]),
    ...segment(0xc4, [0x10, ...oneCode(0)]),
    ...segment(0xda, [3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]),
  ];
  const mcus = Math.ceil(width / 16) * Math.ceil(height / 16);
  const scanBytes = Math.ceil((mcus * 6 * 2) / 8);
  const out = new Uint8Array(head.length + scanBytes + 2);
  out.set(head);
  out.set([0xff, 0xd9], head.length + scanBytes);
  return out;
}

/**
 * An 8-bit grey PNG that declares width×height but holds one compressed row group: with a
 * limit it is refused from its header; without one a decoder would allocate the whole image.
 */
export function bombPng(width: number, height: number): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  const rows = deflateSync(Buffer.alloc(Math.min(height, 64) * (width + 1)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', rows), pngChunk('IEND', new Uint8Array(0))]);
}

/** A JPEG header declaring width×height (up to 65535 each) with almost no data. */
export function bombJpeg(width: number, height: number): Uint8Array {
  const full = flatJpeg(16, 16);
  const out = new Uint8Array(full);
  // The SOF0 segment follows SOI (2 bytes) and DQT (2 + 2 + 65 bytes): height at +5, width at +7.
  const sof = 2 + 69;
  out.set([...u16(height), ...u16(width)], sof + 5);
  return out;
}
