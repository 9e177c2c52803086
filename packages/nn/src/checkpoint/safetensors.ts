/**
 * The safetensors format (huggingface/safetensors): an unsigned 64-bit little-endian header
 * length N, N bytes of JSON { name: { dtype, shape, data_offsets: [begin, end] }, ...,
 * "__metadata__": { string: string } }, then the raw little-endian data, offsets counted from
 * the end of the header. Pure functions on bytes, so they also run in a browser.
 */
import type { DType, TypedArray } from '@webgrad/tensor';

export interface RawTensor {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

export interface SafetensorsContent {
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

/** The file's dtype names for ours. */
const WRITE_DTYPE = new Map<DType, string>([['float32', 'F32'], ['int32', 'I32'], ['float64', 'F64']]);
/** Bytes per value of each dtype webgrad reads (a Map: a dtype named `constructor` is just unknown). */
const BYTES = new Map<string, number>([['F64', 8], ['F32', 4], ['F16', 2], ['BF16', 2], ['I64', 8], ['I32', 4], ['I16', 2], ['I8', 1], ['U8', 1], ['BOOL', 1]]);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The reference reader's largest header (huggingface/safetensors: HeaderTooLarge above 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;
/** The deepest nesting of the header's JSON: serde_json's recursion limit, which the reference reader parses with. */
export const MAX_DEPTH = 128;
/** How much of a value from the file an error message quotes. */
const QUOTE_CHARS = 80;

/**
 * An empty record with no prototype, for records keyed by names read from a file: a tensor
 * named `__proto__` or `constructor` is then an entry like any other.
 */
export const nameRecord = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

export function encodeSafetensors(tensors: Record<string, RawTensor> | Map<string, RawTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header = nameRecord<unknown>();
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new Error("safetensors: '__metadata__' cannot name a tensor");
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`safetensors: ${shown(name)} has shape [${t.shape}] (${n} values) but ${t.data.length} values`);
    const dtype = WRITE_DTYPE.get(t.dtype);
    if (!dtype) throw new Error(`safetensors: ${shown(name)} has dtype ${shown(String(t.dtype))}; webgrad writes ${[...WRITE_DTYPE.keys()].join(', ')}`);
    const bytes = n * (BYTES.get(dtype) as number);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // The reference writer pads the header with spaces to a multiple of 8, so the data is aligned.
  json += ' '.repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const [, t] of entries) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(bytes, at);
    if (!littleEndian) swapBytes(out.subarray(at, at + bytes.length), t.data.BYTES_PER_ELEMENT);
    at += bytes.length;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array): SafetensorsContent {
  if (bytes.length < 8) throw new Error(`safetensors: ${bytes.length} bytes is too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const claimed = view.getBigUint64(0, true);
  if (claimed > BigInt(MAX_HEADER_BYTES)) throw new Error(`safetensors: the header claims ${claimed} bytes, over the format's limit of ${MAX_HEADER_BYTES}`);
  const n = Number(claimed);
  if (8 + n > bytes.length) throw new Error(`safetensors: the header claims ${n} bytes but the file has ${bytes.length - 8} after the length`);
  const header = parseHeader(bytes.subarray(8, 8 + n));
  const data = bytes.subarray(8 + n);
  const metadata = readMetadata(header.__metadata__);
  const tensors = new Map<string, RawTensor>();
  const spans: [number, number, string][] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, offsets } = readEntry(name, info);
    const size = BYTES.get(dtype);
    if (size === undefined) throw new Error(`safetensors: ${shown(name)} has dtype ${shown(dtype)}, which webgrad cannot read (it reads ${[...BYTES.keys()].join(', ')})`);
    const count = shape.reduce((a, b) => a * b, 1);
    const [begin, end] = offsets;
    if (end - begin !== count * size || begin < 0 || end > data.length) {
      throw new Error(`safetensors: ${shown(name)} [${shown(String(shape))}] ${dtype} needs ${count * size} bytes, its offsets [${begin}, ${end}] give ${end - begin} in a ${data.length}-byte data section`);
    }
    spans.push([begin, end, name]);
    tensors.set(name, { shape, ...convert(name, dtype, data.subarray(begin, end), count) });
  }
  spans.sort((a, b) => a[0] - b[0]);
  let expected = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== expected) throw new Error(`safetensors: ${shown(name)} starts at byte ${begin}, expected ${expected} (tensors must tile the data section)`);
    expected = end;
  }
  // The reference reader's MetadataIncompleteBuffer: bytes no tensor owns are damage or smuggling.
  if (expected !== data.length) throw new Error(`safetensors: the tensors cover ${expected} bytes of the ${data.length}-byte data section (${data.length - expected} trailing bytes)`);
  return { tensors, metadata };
}

/**
 * The header's JSON, checked as the reference reader checks it: valid UTF-8, nested at most
 * MAX_DEPTH deep (counted before parsing, so a hostile file cannot exhaust the stack), an
 * object, and nothing before its '{'.
 */
function parseHeader(raw: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    // ignoreBOM keeps a byte-order mark in the text, where the '{' check refuses it as the reference reader does.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
  } catch {
    throw new Error(`safetensors: the header is not valid UTF-8 (${raw.length} bytes)`);
  }
  const depth = nestingDepth(text, MAX_DEPTH);
  if (depth > MAX_DEPTH) throw new Error(`safetensors: the header's JSON nests deeper than ${MAX_DEPTH} levels (a tensor entry needs 3)`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    throw new Error(`safetensors: the header is not valid JSON: ${shown((err as Error).message)}`);
  }
  if (!isPlainObject(header)) throw new Error(`safetensors: the header is ${describe(header)}, expected a JSON object of tensors`);
  if (!text.startsWith('{')) throw new Error(`safetensors: the header starts with "${shown(text.slice(0, 8))}", expected '{' (the reference reader refuses anything before it)`);
  // JSON.parse makes `__proto__` an own property; a null-prototype copy keeps every key a plain entry.
  return Object.assign(nameRecord<unknown>(), header);
}

/** How deep the JSON text's arrays and objects nest, counting no further than limit + 1. */
export function nestingDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/** The bytes after the header: every tensor's data, in file order. */
export function dataSection(bytes: Uint8Array): Uint8Array {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true));
  return bytes.subarray(8 + n);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Text from a file as an error message shows it: control characters escaped, at most QUOTE_CHARS characters. */
export function shown(text: string): string {
  const escaped = JSON.stringify(text.slice(0, QUOTE_CHARS)).slice(1, -1);
  return text.length > QUOTE_CHARS ? `${escaped}… (${text.length} characters)` : escaped;
}

/** A JSON value from the header for an error message, shortened (a long array by its first values and its length). */
function shownJson(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v) && v.length > 16) return `${shown(JSON.stringify(v.slice(0, 16)).slice(0, -1))},… (${v.length} values)]`;
  return shown(JSON.stringify(v));
}

function readMetadata(raw: unknown): Record<string, string> {
  const out = nameRecord<string>();
  if (raw === undefined) return out;
  if (!isPlainObject(raw)) throw new Error(`safetensors: __metadata__ is ${describe(raw)}, expected an object of strings`);
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') throw new Error(`safetensors: __metadata__.${shown(k)} is ${describe(v)}, expected a string`);
    out[k] = v;
  }
  return out;
}

/** A header entry checked field by field, so a damaged header says which field of which tensor. */
function readEntry(name: string, info: unknown): { dtype: string; shape: number[]; offsets: [number, number] } {
  if (!isPlainObject(info)) throw new Error(`safetensors: the header entry of ${shown(name)} is ${describe(info)}, expected { dtype, shape, data_offsets }`);
  const { dtype, shape, data_offsets: offsets } = info;
  if (typeof dtype !== 'string') throw new Error(`safetensors: ${shown(name)} has no dtype (got ${describe(dtype)})`);
  if (!Array.isArray(shape) || !shape.every(isCount)) throw new Error(`safetensors: ${shown(name)} has no valid shape (got ${shownJson(shape)}; expected an array of non-negative integers)`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw new Error(`safetensors: ${shown(name)} has no valid data_offsets (got ${shownJson(offsets)}; expected [begin, end])`);
  }
  return { dtype, shape, offsets: offsets as [number, number] };
}

/** Copies (the data may be unaligned) and converts the file's dtype to one of ours. */
function convert(name: string, dtype: string, raw: Uint8Array, n: number): { dtype: DType; data: TypedArray } {
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const floats = (read: (i: number) => number) => ({ dtype: 'float32' as const, data: Float32Array.from({ length: n }, (_, i) => read(i)) });
  const ints = (read: (i: number) => number) => ({ dtype: 'int32' as const, data: Int32Array.from({ length: n }, (_, i) => read(i)) });
  switch (dtype) {
    case 'F32':
      return floats((i) => v.getFloat32(4 * i, true));
    case 'F64':
      return { dtype: 'float64', data: Float64Array.from({ length: n }, (_, i) => v.getFloat64(8 * i, true)) };
    case 'F16':
      return floats((i) => half(v.getUint16(2 * i, true)));
    case 'BF16':
      return floats((i) => new Float32Array(new Uint32Array([v.getUint16(2 * i, true) << 16]).buffer)[0]);
    case 'I32':
      return ints((i) => v.getInt32(4 * i, true));
    case 'I64':
      return ints((i) => {
        const x = v.getBigInt64(8 * i, true);
        if (x > 2147483647n || x < -2147483648n) throw new Error(`safetensors: ${shown(name)} (I64) holds ${x}, which does not fit webgrad's int32`);
        return Number(x);
      });
    case 'I16':
      return ints((i) => v.getInt16(2 * i, true));
    case 'I8':
      return ints((i) => v.getInt8(i));
    case 'U8':
    case 'BOOL':
      return ints((i) => v.getUint8(i));
    default:
      throw new Error(`safetensors: unsupported dtype ${shown(dtype)}`);
  }
}

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function swapBytes(b: Uint8Array, width: number): void {
  for (let i = 0; i < b.length; i += width) b.subarray(i, i + width).reverse();
}
