/**
 * What every generator returns, and the small pieces they share: the uniform parameter
 * block, storage binding declarations and 1-D dispatch over any number of elements.
 *
 * Generators are pure: the WGSL text depends only on the variant (types, rank, op),
 * never on sizes, so a backend compiles each `key` once; sizes travel in `params`.
 */

export type ScalarType = 'f32' | 'i32';
export type ParamType = 'i32' | 'u32' | 'f32';
export type Access = 'read' | 'read_write';

export interface Kernel {
  /** Identifies `code`: equal keys, equal code. */
  key: string;
  code: string;
  workgroupSize: [number, number, number];
  /** Workgroup counts; all zero when there is nothing to do. */
  dispatch: [number, number, number];
  /** Storage buffers at bindings 0..n-1, in the order the generator documents. */
  storage: Access[];
  /**
   * The uniform block (binding storage.length), 16-byte padded, as the 32-bit words of its
   * fields (f32 fields by their bits). A small typed array, not an ArrayBuffer: V8 keeps one
   * on its heap, while each ArrayBuffer costs about 1 µs to allocate, once per dispatch.
   */
  params: Uint32Array;
  /**
   * The entry point loops over its items with a grid stride, so any workgroup count >= 1
   * along x covers them all; `dispatch` is the count for one item per invocation, and a
   * backend may launch fewer (CPU-emulated adapters pay per workgroup).
   */
  gridStride?: boolean;
}

/** One uniform field: name, type, value. The names and types must depend only on the key. */
export type Field = [name: string, type: ParamType, value: number];

/** Largest workgroup count WebGPU guarantees per dimension. */
export const MAX_GROUPS = 65535;

const cache = new Map<string, string>();

/** Builds the code for `key` once; later calls return the same string. */
export function memoCode(key: string, build: () => string): string {
  let code = cache.get(key);
  if (code === undefined) {
    code = build();
    cache.set(key, code);
  }
  return code;
}

export function structDecl(fields: readonly Field[], binding: number): string {
  const body = fields.length ? fields.map(([n, t]) => `  ${n}: ${t},`).join('\n') : '  unused: u32,';
  return `struct Params {\n${body}\n}\n@group(0) @binding(${binding}) var<uniform> p: Params;\n`;
}

/** One f32 and its bits, for packing f32 fields into 32-bit words. */
const f32Bits = new Float32Array(1);
const bitsOfF32 = new Uint32Array(f32Bits.buffer);

export function packParams(fields: readonly Field[]): Uint32Array {
  const words = new Uint32Array(Math.max(4, Math.ceil(fields.length / 4) * 4));
  for (let i = 0; i < fields.length; i++) {
    const [name, type, v] = fields[i];
    if (type === 'f32') {
      f32Bits[0] = v;
      words[i] = bitsOfF32[0];
    } else if (type === 'u32') words[i] = checkInt(name, v, 0, 2 ** 32 - 1);
    // A negative i32 is stored modulo 2^32: its two's-complement bits.
    else words[i] = checkInt(name, v, -(2 ** 31), 2 ** 31 - 1);
  }
  return words;
}

function checkInt(name: string, v: number, lo: number, hi: number): number {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`kernel parameter ${name} = ${v} does not fit in 32 bits`);
  return v;
}

/** Declares storage buffers `[name, access, element type]` at bindings 0.. in order. */
export function storageDecls(buffers: readonly [name: string, access: Access, elem: string][]): string {
  return buffers
    .map(([n, a, t], i) => `@group(0) @binding(${i}) var<storage, ${a}> ${n}: array<${t}>;`)
    .join('\n') + '\n';
}

export const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** Workgroup counts covering `groups` groups, folded into y when x would pass the limit. */
export function foldGroups(groups: number): [number, number, number] {
  if (groups <= 0) return [0, 0, 0];
  if (groups <= MAX_GROUPS) return [groups, 1, 1];
  const y = ceilDiv(groups, MAX_GROUPS);
  if (y > MAX_GROUPS) throw new RangeError(`dispatch of ${groups} workgroups exceeds ${MAX_GROUPS}^2`);
  return [ceilDiv(groups, y), y, 1];
}

/** Dispatch for `count` items, one per invocation, `wg` invocations per group. */
export const linearDispatch = (count: number, wg: number) => foldGroups(ceilDiv(count, wg));

/** Marks code written by linearMain, whose kernels are gridStride. */
const GRID_STRIDE = 'grid-stride loop';

/**
 * An entry point running `body` for each flat item index `i` (i32) below `p.count` (the
 * generator must declare a `count` field), in a grid-stride loop: see Kernel.gridStride.
 */
export function linearMain(wg: number, body: string): string {
  return `@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  // ${GRID_STRIDE}
  let stride = i32(nwg.x * nwg.y * ${wg}u);
  for (var i = i32((wid.y * nwg.x + wid.x) * ${wg}u + lid.x); i < p.count; i += stride) {
${body}
  }
}
`;
}

/** What a kernel's key fixes: its code, storage access and grid-stride flag, kept for reuse by makeKernel. */
interface KeyedParts {
  code: string;
  storage: Access[];
  gridStride: boolean;
}
const keyedParts = new Map<string, KeyedParts>();

/**
 * Assembles a kernel from its parts. What depends only on the key (the code, the access
 * list, whether the code strides over a grid) is built the first time a key is seen; later
 * calls only pack the uniforms, since a training step makes every kernel anew each step.
 */
export function makeKernel(k: {
  key: string;
  storage: [name: string, access: Access, elem: string][];
  fields: Field[];
  build: () => string;
  workgroupSize: [number, number, number] | number;
  dispatch: [number, number, number];
  gridStride?: boolean;
}): Kernel {
  let parts = keyedParts.get(k.key);
  if (parts === undefined) {
    const code = memoCode(k.key, () => storageDecls(k.storage) + structDecl(k.fields, k.storage.length) + k.build());
    parts = { code, storage: k.storage.map((s) => s[1]), gridStride: code.includes(GRID_STRIDE) };
    keyedParts.set(k.key, parts);
  }
  const wg = typeof k.workgroupSize === 'number' ? ([k.workgroupSize, 1, 1] as [number, number, number]) : k.workgroupSize;
  // storage is shared by every kernel of this key: backends read it, never change it.
  // Every kernel gets the same properties in the same order (one hidden class for the backend's accesses).
  return { key: k.key, code: parts.code, workgroupSize: wg, dispatch: k.dispatch, storage: parts.storage, params: packParams(k.fields), gridStride: k.gridStride ?? parts.gridStride };
}

/**
 * WGSL helpers for float results that must be NaN or Infinity at run time (constants would
 * not compile), and a NaN test on the bits: WGSL leaves NaN behaviour to the implementation,
 * and a compiler that assumes no NaN folds `v != v` to false (lavapipe does).
 */
export const FLOAT_SPECIALS = `
fn nan_f32() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }
fn inf_f32() -> f32 { var bits = 0x7f800000u; return bitcast<f32>(bits); }
fn is_nan_f32(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
`;

const indexedNames = new Map<string, string[]>();

/** `${prefix}${d}`, built once: generators name per-dim fields so on every call. */
export function indexedName(prefix: string, d: number): string {
  let names = indexedNames.get(prefix);
  if (names === undefined) indexedNames.set(prefix, (names = []));
  return (names[d] ??= `${prefix}${d}`);
}

/** Per-dim fields `${prefix}${d}` for d < rank. */
export function dimFields(prefix: string, values: readonly number[], type: ParamType = 'i32'): Field[] {
  return values.map((v, d) => [indexedName(prefix, d), type, v] as Field);
}
