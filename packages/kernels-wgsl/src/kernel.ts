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
  /** The uniform block (binding storage.length), 16-byte padded. */
  params: ArrayBuffer;
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

export function packParams(fields: readonly Field[]): ArrayBuffer {
  const bytes = Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
  const buf = new ArrayBuffer(bytes);
  const view = new DataView(buf);
  fields.forEach(([name, type, v], i) => {
    if (type === 'f32') view.setFloat32(i * 4, v, true);
    else if (type === 'u32') view.setUint32(i * 4, checkInt(name, v, 0, 2 ** 32 - 1), true);
    else view.setInt32(i * 4, checkInt(name, v, -(2 ** 31), 2 ** 31 - 1), true);
  });
  return buf;
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

/** Assembles a kernel from its parts; code is built only the first time a key is seen. */
export function makeKernel(k: {
  key: string;
  storage: [name: string, access: Access, elem: string][];
  fields: Field[];
  build: () => string;
  workgroupSize: [number, number, number] | number;
  dispatch: [number, number, number];
  gridStride?: boolean;
}): Kernel {
  const code = memoCode(k.key, () => storageDecls(k.storage) + structDecl(k.fields, k.storage.length) + k.build());
  const wg = typeof k.workgroupSize === 'number' ? ([k.workgroupSize, 1, 1] as [number, number, number]) : k.workgroupSize;
  const kernel: Kernel = { key: k.key, code, workgroupSize: wg, dispatch: k.dispatch, storage: k.storage.map((s) => s[1]), params: packParams(k.fields) };
  if (k.gridStride ?? code.includes(GRID_STRIDE)) kernel.gridStride = true;
  return kernel;
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

/** Per-dim fields `${prefix}${d}` for d < rank. */
export function dimFields(prefix: string, values: readonly number[], type: ParamType = 'i32'): Field[] {
  return values.map((v, d) => [`${prefix}${d}`, type, v] as Field);
}
