/**
 * Elementwise kernels: unary ops, broadcasting binary ops, where, fill.
 * Semantics follow the cpu backend (JavaScript number math): NaN wins max/min, int
 * division truncates and gives 0 for a zero divisor, pow handles negative bases.
 */
import { FLOAT_SPECIALS, linearDispatch, linearMain, makeKernel, type Kernel, type ScalarType } from './kernel';
import { broadcastStrides, mergeDims, walkFields, walkOffsets } from './strides';

export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'sign' | 'relu' | 'sigmoid' | 'tanh' | 'step'
  | 'leakyRelu' | 'leakyReluGrad' | 'powScalar' | 'clamp' | 'affine' | 'cast';
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

const WG = 256;

/** pow with JavaScript's results for negative bases, zero and a zero exponent. */
const POW_F32 = `
fn pow_f32(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  let oddInt = floor(y) == y && fract(y * 0.5) != 0.0;
  let negative = (bitcast<u32>(x) & 0x80000000u) != 0u;
  if (x == 0.0) {
    let r0 = select(inf_f32(), 0.0, y > 0.0);
    return select(r0, -r0, negative && oddInt);
  }
  let r = pow(abs(x), y);
  if (x > 0.0) { return r; }
  if (x != x) { return x; }
  if (floor(y) != y) { return nan_f32(); }
  return select(r, -r, oddInt);
}
`;

/** Ops computed exactly in i32 when the input is int32; the rest go through f32. */
const INT_UNARY: Partial<Record<UnaryOp, string>> = {
  neg: '-x', abs: 'abs(x)', sign: 'sign(x)', relu: 'max(x, 0)', step: 'select(0, 1, x > 0)', cast: 'x',
};

function unaryExpr(op: UnaryOp): string {
  switch (op) {
    case 'neg': return '-x';
    case 'exp': return 'exp(x)';
    case 'log': return 'log(x)';
    case 'sqrt': return 'sqrt(x)';
    case 'abs': return 'abs(x)';
    case 'sign': return 'sign(x)';
    case 'relu': return 'select(0.0, x, x > 0.0)';
    case 'step': return 'select(0.0, 1.0, x > 0.0)';
    // Stable in both tails; exp never overflows.
    case 'sigmoid': return 'select(exp(x) / (1.0 + exp(x)), 1.0 / (1.0 + exp(-x)), x >= 0.0)';
    // Some drivers compute tanh from exp and give NaN for large |x|.
    case 'tanh': return 'tanh(clamp(x, -20.0, 20.0))';
    case 'leakyRelu': return 'select(p.a * x, x, x > 0.0)';
    case 'leakyReluGrad': return 'select(p.a, 1.0, x > 0.0)';
    case 'powScalar': return 'pow_f32(x, p.a)';
    case 'clamp': return 'select(select(x, p.b, x > p.b), p.a, x < p.a)';
    case 'affine': return 'p.a * x + p.b';
    case 'cast': return 'x';
  }
}

/**
 * Contiguous operands are read and written as vec4 (one load per 4 elements: CPU-emulated
 * adapters pay per load instruction, not per byte). Buffers are allocated in 16-byte
 * multiples, so the last vec4 stays inside them; its lanes past `count` are scratch.
 */
const vec4Apply = (fn: string, args: string[], out: ScalarType) =>
  `vec4<${out}>(${['x', 'y', 'z', 'w'].map((c) => `${fn}(${args.map((a) => `${a}.${c}`).join(', ')})`).join(', ')})`;

/** out[i] = op(x[i]); bindings x, out (both read as vec4). */
export function unaryKernel(op: UnaryOp, count: number, inType: ScalarType, outType: ScalarType, a = 0, b = 0): Kernel {
  const intPath = inType === 'i32' && INT_UNARY[op] !== undefined;
  const expr = intPath ? INT_UNARY[op]! : unaryExpr(op);
  const arg = inType === 'f32' || intPath ? 'v' : 'f32(v)';
  const count4 = Math.ceil(count / 4);
  return makeKernel({
    key: `unary/${op}/${inType}/${outType}`,
    storage: [['X', 'read', `vec4<${inType}>`], ['Y', 'read_write', `vec4<${outType}>`]],
    fields: [['count', 'i32', count4], ['a', 'f32', a], ['b', 'f32', b]],
    build: () => FLOAT_SPECIALS + POW_F32 +
      `fn op(v: ${inType}) -> ${outType} {\n  let x = ${arg};\n  return ${outType}(${expr});\n}\n` +
      linearMain(WG, `  Y[i] = ${vec4Apply('op', ['X[i]'], outType)};`),
    workgroupSize: WG,
    dispatch: linearDispatch(count4, WG),
  });
}

function binaryExpr(op: BinaryOp, t: ScalarType, out: ScalarType): string {
  const one = (cond: string) => `select(${out}(0), ${out}(1), ${cond})`;
  const isF = t === 'f32';
  switch (op) {
    case 'add': return 'x + y';
    case 'sub': return 'x - y';
    case 'mul': return 'x * y';
    case 'div': return isF ? 'x / y' : 'select(x / y, 0, y == 0)';
    case 'pow': return isF ? 'pow_f32(x, y)' : 'i32(pow_f32(f32(x), f32(y)))';
    case 'maximum': return isF ? 'select(y, x, x > y || x != x)' : 'max(x, y)';
    case 'minimum': return isF ? 'select(y, x, x < y || x != x)' : 'min(x, y)';
    case 'eq': return one('x == y');
    case 'ne': return one('x != y');
    case 'lt': return one('x < y');
    case 'le': return one('x <= y');
    case 'gt': return one('x > y');
    case 'ge': return one('x >= y');
  }
}

/**
 * out = a op b with broadcasting; aShape/bShape have outShape's rank. Bindings A, B, out.
 * The rank after merging dims is part of the variant.
 */
export function binaryKernel(op: BinaryOp, aShape: readonly number[], bShape: readonly number[], outShape: readonly number[], inType: ScalarType, outType: ScalarType): Kernel {
  const m = mergeDims(outShape, [broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
  const count = outShape.reduce((x, y) => x * y, 1);
  const rank = m.shape.length;
  const fn = `fn op(x: ${inType}, y: ${inType}) -> ${outType} {\n  return ${outType}(${binaryExpr(op, inType, outType)});\n}\n`;
  if (rank <= 1 && m.strides.every((s) => s.length === 0 || s[0] === 1)) {
    const count4 = Math.ceil(count / 4);
    return makeKernel({
      key: `binary/${op}/${inType}/${outType}/flat4`,
      storage: [['A', 'read', `vec4<${inType}>`], ['B', 'read', `vec4<${inType}>`], ['Y', 'read_write', `vec4<${outType}>`]],
      fields: [['count', 'i32', count4]],
      build: () => FLOAT_SPECIALS + POW_F32 + fn + linearMain(WG, '  let a = A[i];\n  let b = B[i];\n' + `  Y[i] = ${vec4Apply('op', ['a', 'b'], outType)};`),
      workgroupSize: WG,
      dispatch: linearDispatch(count4, WG),
    });
  }
  return makeKernel({
    key: `binary/${op}/${inType}/${outType}/r${rank}`,
    storage: [['A', 'read', inType], ['B', 'read', inType], ['Y', 'read_write', outType]],
    fields: [['count', 'i32', count], ...walkFields(m, ['a', 'b'])],
    build: () =>
      FLOAT_SPECIALS + POW_F32 +
      fn + linearMain(WG, `${walkOffsets(rank, ['a', 'b'])}  Y[i] = op(A[o_a], B[o_b]);`),
    workgroupSize: WG,
    dispatch: linearDispatch(count, WG),
  });
}

/** out = cond != 0 ? a : b, all broadcast to outShape (same rank). Bindings C, A, B, out. */
export function whereKernel(condShape: readonly number[], aShape: readonly number[], bShape: readonly number[], outShape: readonly number[], condType: ScalarType, type: ScalarType): Kernel {
  const m = mergeDims(outShape, [condShape, aShape, bShape].map((s) => broadcastStrides(s, outShape)));
  const count = outShape.reduce((x, y) => x * y, 1);
  const rank = m.shape.length;
  return makeKernel({
    key: `where/${condType}/${type}/r${rank}`,
    storage: [['C', 'read', condType], ['A', 'read', type], ['B', 'read', type], ['Y', 'read_write', type]],
    fields: [['count', 'i32', count], ...walkFields(m, ['c', 'a', 'b'])],
    build: () => linearMain(WG, `${walkOffsets(rank, ['c', 'a', 'b'])}  Y[i] = select(B[o_b], A[o_a], C[o_c] != ${condType}(0));`),
    workgroupSize: WG,
    dispatch: linearDispatch(count, WG),
  });
}

/** out[i] = value; binding out. */
export function fillKernel(count: number, value: number, type: ScalarType): Kernel {
  return makeKernel({
    key: `fill/${type}`,
    storage: [['Y', 'read_write', type]],
    fields: [['count', 'i32', count], ['value', type, value]],
    build: () => linearMain(WG, '  Y[i] = p.value;'),
    workgroupSize: WG,
    dispatch: linearDispatch(count, WG),
  });
}
