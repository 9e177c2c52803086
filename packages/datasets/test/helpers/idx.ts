import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

/** IDX bytes of unsigned bytes with the given dims. */
export function idxBytes(dims: number[], values: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.set([0, 0, 0x08, dims.length]);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, values]);
}

export function writeIdx(path: string, dims: number[], values: Uint8Array, gzip = false): void {
  const bytes = idxBytes(dims, values);
  writeFileSync(path, gzip ? gzipSync(bytes) : bytes);
}
