/**
 * A small WebAssembly binary emitter: just enough of the format to write compute kernels
 * (numeric ops, SIMD, relaxed SIMD, bulk memory, one imported shared memory) as nested
 * arrays of bytes, the way kernels-wgsl writes WGSL as strings.
 *
 * Code is a tree (`Code`): numbers are bytes, arrays nest, `{ call: name }` is resolved to a
 * function index when the module is assembled, so generators compose expressions freely:
 * `set(x, i32.add(get(x), i32.const(4)))`.
 */

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';
export type Code = number | { call: string } | readonly Code[];

const VAL: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

// --- encodings ---------------------------------------------------------------------------

export function uleb(n: number): number[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`uleb: ${n} is not a non-negative integer`);
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

export function sleb(n: number): number[] {
  if (!Number.isInteger(n)) throw new RangeError(`sleb: ${n} is not an integer`);
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n = Math.floor(n / 128);
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const utf8 = (s: string) => [...new TextEncoder().encode(s)];
const name = (s: string) => [...uleb(utf8(s).length), ...utf8(s)];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

// --- instructions --------------------------------------------------------------------------

/** A local variable of the function being written (see `func`). */
export interface Local { readonly index: number; readonly type: ValType }

const memarg = (align: number, offset: number) => [...uleb(align), ...uleb(offset)];
const simd = (op: number) => [0xfd, ...uleb(op)];

export const get = (l: Local): Code => [0x20, ...uleb(l.index)];
export const set = (l: Local, value: Code): Code => [value, 0x21, ...uleb(l.index)];
export const tee = (l: Local, value: Code): Code => [value, 0x22, ...uleb(l.index)];
export const drop = (value: Code): Code => [value, 0x1a];
export const call = (fn: string, ...args: Code[]): Code => [...args, { call: fn }];
/** `cond ? a : b`, both evaluated. */
export const select = (a: Code, b: Code, cond: Code): Code => [a, b, cond, 0x1b];

const bin = (op: number) => (a: Code, b: Code): Code => [a, b, op];
const un = (op: number) => (a: Code): Code => [a, op];

export const i32 = {
  const: (n: number): Code => [0x41, ...sleb(n | 0)],
  load: (addr: Code, offset = 0): Code => [addr, 0x28, ...memarg(2, offset)],
  store: (addr: Code, value: Code, offset = 0): Code => [addr, value, 0x36, ...memarg(2, offset)],
  eqz: un(0x45),
  eq: bin(0x46), ne: bin(0x47), lt: bin(0x48), gt: bin(0x4a), le: bin(0x4c), ge: bin(0x4e),
  /** Unsigned a < b: one compare for 0 <= a < b when b is non-negative. */
  ltU: bin(0x49),
  add: bin(0x6a), sub: bin(0x6b), mul: bin(0x6c), div: bin(0x6d), rem: bin(0x6f),
  and: bin(0x71), or: bin(0x72), shl: bin(0x74), shr: bin(0x75),
  min: (a: Code, b: Code): Code => select(a, b, i32.lt(a, b)),
  max: (a: Code, b: Code): Code => select(a, b, i32.gt(a, b)),
};

export const f32 = {
  const: (x: number): Code => [0x43, ...new Uint8Array(new Float32Array([x]).buffer)],
  load: (addr: Code, offset = 0): Code => [addr, 0x2a, ...memarg(2, offset)],
  store: (addr: Code, value: Code, offset = 0): Code => [addr, value, 0x38, ...memarg(2, offset)],
  add: bin(0x92), sub: bin(0x93), mul: bin(0x94), div: bin(0x95), min: bin(0x96), max: bin(0x97),
  sqrt: un(0x91),
  ne: bin(0x5c), lt: bin(0x5d), gt: bin(0x5e),
};

export const f64 = {
  const: (x: number): Code => [0x44, ...new Uint8Array(new Float64Array([x]).buffer)],
  add: bin(0xa0), sub: bin(0xa1), mul: bin(0xa2), div: bin(0xa3), sqrt: un(0x9f),
  fromF32: un(0xbb), toF32: un(0xb6), fromI32: un(0xb7),
  load: (addr: Code, offset = 0): Code => [addr, 0x2b, ...memarg(3, offset)],
  store: (addr: Code, value: Code, offset = 0): Code => [addr, value, 0x39, ...memarg(3, offset)],
};

export const v128 = {
  load: (addr: Code, offset = 0): Code => [addr, ...simd(0x00), ...memarg(4, offset)],
  store: (addr: Code, value: Code, offset = 0): Code => [addr, value, ...simd(0x0b), ...memarg(4, offset)],
  load32Splat: (addr: Code, offset = 0): Code => [addr, ...simd(0x09), ...memarg(2, offset)],
  zero: (): Code => [...simd(0x0c), ...new Array(16).fill(0)],
  /** 4 bytes into lane 0, the rest zero. */
  load32Zero: (addr: Code, offset = 0): Code => [addr, ...simd(0x5c), ...memarg(2, offset)],
  /** 8 bytes into the low half, the high half zero. */
  load64Zero: (addr: Code, offset = 0): Code => [addr, ...simd(0x5d), ...memarg(3, offset)],
  /** The 8 bytes of 64-bit lane `lane`. */
  store64Lane: (addr: Code, value: Code, lane: number, offset = 0): Code => [addr, value, ...simd(0x5b), ...memarg(3, offset), lane],
  store32Lane: (addr: Code, value: Code, lane: number, offset = 0): Code => [addr, value, ...simd(0x5a), ...memarg(2, offset), lane],
  /** Four f32 lanes of x (the bytes of v128.const). */
  f32Const: (x: number): Code => [...simd(0x0c), ...[0, 1, 2, 3].flatMap(() => [...new Uint8Array(new Float32Array([x]).buffer)])],
  /** Four i32 lanes of n. */
  i32Const: (n: number): Code => [...simd(0x0c), ...[0, 1, 2, 3].flatMap(() => [...new Uint8Array(new Int32Array([n]).buffer)])],
  /** The i32 lanes `lanes`. */
  i32Lanes: (lanes: readonly [number, number, number, number]): Code => [...simd(0x0c), ...new Uint8Array(new Int32Array(lanes).buffer)],
  not: (a: Code): Code => [a, ...simd(0x4d)],
  and: (a: Code, b: Code): Code => [a, b, ...simd(0x4e)],
  /** a & ~b */
  andNot: (a: Code, b: Code): Code => [a, b, ...simd(0x4f)],
  or: (a: Code, b: Code): Code => [a, b, ...simd(0x50)],
  xor: (a: Code, b: Code): Code => [a, b, ...simd(0x51)],
  /** Bits of a where mask is 1, of b where it is 0. */
  bitselect: (a: Code, b: Code, mask: Code): Code => [a, b, mask, ...simd(0x52)],
};

export const i32x4 = {
  splat: (x: Code): Code => [x, ...simd(0x11)],
  extractLane: (v: Code, lane: number): Code => [v, ...simd(0x1b), lane],
  replaceLane: (v: Code, lane: number, x: Code): Code => [v, x, ...simd(0x1c), lane],
  eq: (a: Code, b: Code): Code => [a, b, ...simd(0x37)],
  ne: (a: Code, b: Code): Code => [a, b, ...simd(0x38)],
  ltS: (a: Code, b: Code): Code => [a, b, ...simd(0x39)],
  gtS: (a: Code, b: Code): Code => [a, b, ...simd(0x3b)],
  shl: (a: Code, n: Code): Code => [a, n, ...simd(0xab)],
  shrS: (a: Code, n: Code): Code => [a, n, ...simd(0xac)],
  add: (a: Code, b: Code): Code => [a, b, ...simd(0xae)],
  /** i8x16.shuffle by 32-bit lanes: lane i of the result is lane `lanes[i]` of a ++ b (0–7). */
  shuffle: (a: Code, b: Code, lanes: readonly [number, number, number, number]): Code =>
    [a, b, ...simd(0x0d), ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])],
  sub: (a: Code, b: Code): Code => [a, b, ...simd(0xb1)],
  /** Saturating f32 -> i32 toward zero (NaN gives 0). */
  truncSatF32x4: (a: Code): Code => [a, ...simd(0xf8)],
};

export const f32x4 = {
  splat: (x: Code): Code => [x, ...simd(0x13)],
  extractLane: (v: Code, lane: number): Code => [v, ...simd(0x1f), lane],
  replaceLane: (v: Code, lane: number, x: Code): Code => [v, x, ...simd(0x20), lane],
  add: (a: Code, b: Code): Code => [a, b, ...simd(0xe4)],
  sub: (a: Code, b: Code): Code => [a, b, ...simd(0xe5)],
  mul: (a: Code, b: Code): Code => [a, b, ...simd(0xe6)],
  max: (a: Code, b: Code): Code => [a, b, ...simd(0xe9)],
  /** NaN-propagating lanewise min (max above likewise). */
  min: (a: Code, b: Code): Code => [a, b, ...simd(0xe8)],
  div: (a: Code, b: Code): Code => [a, b, ...simd(0xe7)],
  abs: (a: Code): Code => [a, ...simd(0xe0)],
  neg: (a: Code): Code => [a, ...simd(0xe1)],
  sqrt: (a: Code): Code => [a, ...simd(0xe3)],
  floor: (a: Code): Code => [a, ...simd(0x68)],
  // comparisons give all-ones lanes where true (NaN compares false except ne)
  eq: (a: Code, b: Code): Code => [a, b, ...simd(0x41)],
  ne: (a: Code, b: Code): Code => [a, b, ...simd(0x42)],
  lt: (a: Code, b: Code): Code => [a, b, ...simd(0x43)],
  gt: (a: Code, b: Code): Code => [a, b, ...simd(0x44)],
  le: (a: Code, b: Code): Code => [a, b, ...simd(0x45)],
  ge: (a: Code, b: Code): Code => [a, b, ...simd(0x46)],
  /** i32 lanes to f32 (signed). */
  convertI32x4: (a: Code): Code => [a, ...simd(0xfa)],
  /** a * b + c in one rounding or two, as the machine prefers (relaxed SIMD). */
  relaxedMadd: (a: Code, b: Code, c: Code): Code => [a, b, c, ...simd(0x105)],
};

export const f64x2 = {
  splat: (x: Code): Code => [x, ...simd(0x14)],
  add: (a: Code, b: Code): Code => [a, b, ...simd(0xf0)],
  sub: (a: Code, b: Code): Code => [a, b, ...simd(0xf1)],
  mul: (a: Code, b: Code): Code => [a, b, ...simd(0xf2)],
  div: (a: Code, b: Code): Code => [a, b, ...simd(0xf3)],
  sqrt: (a: Code): Code => [a, ...simd(0xef)],
  max: (a: Code, b: Code): Code => [a, b, ...simd(0xf5)],
  nearest: (a: Code): Code => [a, ...simd(0x94)],
  trunc: (a: Code): Code => [a, ...simd(0x7a)],
  /** Both lanes narrowed into the low two f32 lanes, the high two zero. */
  demoteZero: (v: Code): Code => [v, ...simd(0x5e)],
  extractLane: (v: Code, lane: number): Code => [v, ...simd(0x21), lane],
  /** The low two f32 lanes, widened. */
  promoteLow: (v: Code): Code => [v, ...simd(0x5f)],
};

export const i64 = {
  const: (n: number): Code => [0x42, ...sleb(n)],
};

/** The integer lanes exp's scaling by 2^k needs. */
export const i64x2 = {
  splat: (x: Code): Code => [x, ...simd(0x12)],
  add: (a: Code, b: Code): Code => [a, b, ...simd(0xce)],
  shl: (a: Code, n: Code): Code => [a, n, ...simd(0xcb)],
  /** i32 lanes 0, 1 sign-extended. */
  extendLowI32x4: (a: Code): Code => [a, ...simd(0xc7)],
};
/** f64 lanes to i32 lanes 0, 1 (saturating), lanes 2, 3 zero. */
export const i32x4TruncSatF64x2Zero = (a: Code): Code => [a, ...simd(0xfc)];

/** memory.fill(dst, byte, n) and memory.copy(dst, src, n) on memory 0 (bulk memory). */
export const memory = {
  fill: (dst: Code, byte: Code, n: Code): Code => [dst, byte, n, 0xfc, ...uleb(11), 0x00],
  copy: (dst: Code, src: Code, n: Code): Code => [dst, src, n, 0xfc, ...uleb(10), 0x00, 0x00],
};

// --- control ---------------------------------------------------------------------------------

export const block = (...body: Code[]): Code => [0x02, 0x40, body, 0x0b];
export const loop = (...body: Code[]): Code => [0x03, 0x40, body, 0x0b];
export const br = (depth: number): Code => [0x0c, ...uleb(depth)];
export const brIf = (depth: number, cond: Code): Code => [cond, 0x0d, ...uleb(depth)];
export const if_ = (cond: Code, then: Code[], otherwise?: Code[]): Code =>
  otherwise ? [cond, 0x04, 0x40, then, 0x05, otherwise, 0x0b] : [cond, 0x04, 0x40, then, 0x0b];

/**
 * `for (v = from; v < to; v += step) body` (signed i32). `to` and `step` are evaluated on
 * every iteration, so pass locals or constants. The body may not branch out of the loop.
 */
export const forRange = (v: Local, from: Code, to: Code, step: Code, ...body: Code[]): Code => [
  set(v, from),
  block(
    brIf(0, i32.ge(get(v), to)),
    loop(...body, set(v, i32.add(get(v), step)), brIf(0, i32.lt(get(v), to))),
  ),
];

// --- functions and modules ---------------------------------------------------------------------

export interface FuncDef {
  name: string;
  params: ValType[];
  results: ValType[];
  locals: ValType[];
  body: Code;
  exported: boolean;
}

/**
 * Declares a function: `params` and `locals` map names to types; `body` receives the
 * `Local`s by name, and `temp(type)` for more locals as it needs them. Exported under its name unless `exported` is false.
 */
export function func<P extends Record<string, ValType>, L extends Record<string, ValType>>(
  fnName: string,
  params: P,
  locals: L,
  body: (v: { [K in keyof P | keyof L]: Local }, temp: (type: ValType) => Local) => Code[],
  opts: { results?: ValType[]; exported?: boolean } = {},
): FuncDef {
  const vars: Record<string, Local> = {};
  let index = 0;
  for (const [k, type] of Object.entries(params)) vars[k] = { index: index++, type };
  for (const [k, type] of Object.entries(locals)) {
    if (k in vars) throw new Error(`func ${fnName}: local ${k} shadows a parameter`);
    vars[k] = { index: index++, type };
  }
  // more locals, made while the body is generated (a renderer's temporaries)
  const temps: ValType[] = [];
  const temp = (type: ValType): Local => {
    temps.push(type);
    return { index: index++, type };
  };
  const code = body(vars as { [K in keyof P | keyof L]: Local }, temp);
  return {
    name: fnName,
    params: Object.values(params),
    results: opts.results ?? [],
    locals: [...Object.values(locals), ...temps],
    body: code,
    exported: opts.exported ?? true,
  };
}

function flatten(code: Code, fnIndex: Map<string, number>, out: number[]): void {
  if (typeof code === 'number') out.push(code);
  else if (Array.isArray(code)) for (const c of code) flatten(c, fnIndex, out);
  else {
    const target = (code as { call: string }).call;
    const idx = fnIndex.get(target);
    if (idx === undefined) throw new Error(`call to unknown function ${target}`);
    out.push(0x10, ...uleb(idx));
  }
}

export interface MemoryImport {
  module: string;
  field: string;
  initialPages: number;
  maximumPages: number;
  shared: boolean;
}

/** Assembles a module: one imported memory, the given functions (in index order), their exports. */
export function assemble(mem: MemoryImport, funcs: FuncDef[]): Uint8Array<ArrayBuffer> {
  const types: string[] = [];
  const typeBytes: number[][] = [];
  const typeOf = (f: FuncDef) => {
    const bytes = [0x60, ...vec(f.params.map((t) => [VAL[t]])), ...vec(f.results.map((t) => [VAL[t]]))];
    const key = bytes.join(',');
    let i = types.indexOf(key);
    if (i < 0) { i = types.length; types.push(key); typeBytes.push(bytes); }
    return i;
  };
  const fnIndex = new Map(funcs.map((f, i) => [f.name, i]));
  if (fnIndex.size !== funcs.length) throw new Error('assemble: duplicate function names');
  const funcTypes = funcs.map(typeOf);

  const limits = [mem.shared ? 0x03 : 0x01, ...uleb(mem.initialPages), ...uleb(mem.maximumPages)];
  const imports = vec([[...name(mem.module), ...name(mem.field), 0x02, ...limits]]);
  const exports = vec(funcs.flatMap((f, i) => (f.exported ? [[...name(f.name), 0x00, ...uleb(i)]] : [])));
  const bodies = funcs.map((f) => {
    // locals as runs of one type
    const runs: number[][] = [];
    for (const t of f.locals) {
      const last = runs[runs.length - 1];
      if (last && last[1] === VAL[t]) last[0]++;
      else runs.push([1, VAL[t]]);
    }
    const body: number[] = [...vec(runs.map(([n, t]) => [...uleb(n), t]))];
    flatten(f.body, fnIndex, body);
    body.push(0x0b);
    return [...uleb(body.length), ...body];
  });

  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(typeBytes)),
    ...section(2, imports),
    ...section(3, vec(funcTypes.map((t) => uleb(t)))),
    ...section(7, exports),
    ...section(10, vec(bodies)),
  ]);
}
