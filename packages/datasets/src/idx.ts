import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** An IDX file's contents: its dimensions and its values, row-major. */
export interface IdxArray {
  dims: number[];
  data: IdxData;
}

// The third magic byte names the element type.
const TYPES: Record<number, { name: string; bytes: number; read: (v: DataView, at: number) => number; make: (n: number) => IdxData }> = {
  0x08: { name: 'unsigned byte', bytes: 1, read: (v, at) => v.getUint8(at), make: (n) => new Uint8Array(n) },
  0x09: { name: 'signed byte', bytes: 1, read: (v, at) => v.getInt8(at), make: (n) => new Int8Array(n) },
  0x0b: { name: 'short', bytes: 2, read: (v, at) => v.getInt16(at), make: (n) => new Int16Array(n) },
  0x0c: { name: 'int', bytes: 4, read: (v, at) => v.getInt32(at), make: (n) => new Int32Array(n) },
  0x0d: { name: 'float', bytes: 4, read: (v, at) => v.getFloat32(at), make: (n) => new Float32Array(n) },
  0x0e: { name: 'double', bytes: 8, read: (v, at) => v.getFloat64(at), make: (n) => new Float64Array(n) },
};

const hex = (b: Uint8Array) => [...b.subarray(0, 4)].map((x) => x.toString(16).padStart(2, '0')).join(' ');

/** Parses IDX bytes (already gunzipped), checking the magic number and that the size matches the header. */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  const type = TYPES[bytes[2]];
  const ndims = bytes[3];
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || !type || ndims === 0) {
    throw new Error(`IDX: ${file}: bad magic number ${hex(bytes)}; an IDX file starts 00 00, a type byte (08, 09, 0b, 0c, 0d or 0e) and the number of dimensions`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = 4 + 4 * ndims;
  if (bytes.length < header) throw new Error(`IDX: ${file}: ${bytes.length} bytes is shorter than its ${header}-byte header`);
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const expected = header + count * type.bytes;
  if (bytes.length !== expected) {
    throw new Error(`IDX: ${file}: ${bytes.length} bytes, but its header [${dims.join(', ')}] of ${type.name}s needs ${expected}; the file is truncated or corrupt`);
  }
  if (type.bytes === 1) {
    const data = type.make(count);
    data.set(type.name === 'signed byte' ? new Int8Array(bytes.buffer, bytes.byteOffset + header, count) : bytes.subarray(header));
    return { dims, data };
  }
  // Multi-byte values are big-endian.
  const data = type.make(count);
  for (let i = 0; i < count; i++) data[i] = type.read(view, header + i * type.bytes);
  return { dims, data };
}

/** Reads an IDX file (MNIST, Fashion-MNIST), gzipped or raw, told apart by content. */
export function readIdx(path: string): IdxArray {
  let bytes: Uint8Array = readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (err) {
      throw new Error(`IDX: ${path}: cannot gunzip (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  return parseIdx(bytes, path);
}
