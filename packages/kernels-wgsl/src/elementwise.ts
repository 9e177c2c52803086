/**
 * Elementwise kernels: unary ops and broadcasting binary ops rendered from their expression
 * trees (./expr-wgsl), where, fill.
 */
import { broadcastStrides, mergeDims, type ElementwiseKernelOp, type FusedElementwiseOp } from '@webgrad/kernels-ir';
import { MATH_F32, wgslFusedFunction, wgslOpFunction } from './expr-wgsl';
import { FLOAT_SPECIALS, linearDispatch, linearMain, makeKernel, type Kernel, type ScalarType } from './kernel';
import { walkFields, walkOffsets } from './strides';

const WG = 256;

/**
 * Contiguous operands are read and written as vec4 (one load per 4 elements: CPU-emulated
 * adapters pay per load instruction, not per byte). Buffers are allocated in 16-byte
 * multiples, so the last vec4 stays inside them; its lanes past `count` are scratch.
 */
const vec4Apply = (fn: string, args: string[], out: ScalarType) =>
  `vec4<${out}>(${['x', 'y', 'z', 'w'].map((c) => `${fn}(${args.map((a) => `${a}.${c}`).join(', ')})`).join(', ')})`;

/** out[i] = op(x[i]); bindings x, out (both read as vec4). `a`, `b`: the op's scalar parameters. */
export function unaryKernel(op: ElementwiseKernelOp, count: number, inType: ScalarType, outType: ScalarType, a = 0, b = 0): Kernel {
  const count4 = Math.ceil(count / 4);
  return makeKernel({
    key: `unary/${op.name}/${inType}/${outType}`,
    storage: [['X', 'read', `vec4<${inType}>`], ['Y', 'read_write', `vec4<${outType}>`]],
    fields: [['count', 'i32', count4], ['a', 'f32', a], ['b', 'f32', b]],
    build: () => FLOAT_SPECIALS + MATH_F32 + wgslOpFunction(op, inType, outType) +
      linearMain(WG, `  Y[i] = ${vec4Apply('op', ['X[i]'], outType)};`),
    workgroupSize: WG,
    dispatch: linearDispatch(count4, WG),
  });
}

/**
 * out = a op b with broadcasting; aShape/bShape have outShape's rank. Bindings A, B, out.
 * The rank after merging dims is part of the variant.
 */
export function binaryKernel(op: ElementwiseKernelOp, aShape: readonly number[], bShape: readonly number[], outShape: readonly number[], inType: ScalarType, outType: ScalarType): Kernel {
  const m = mergeDims(outShape, [broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
  const count = outShape.reduce((x, y) => x * y, 1);
  const rank = m.shape.length;
  // Rendered only when the key's code is first built (makeKernel memoizes it).
  const fn = () => wgslOpFunction(op, inType, outType);
  if (rank <= 1 && m.strides.every((s) => s.length === 0 || s[0] === 1)) {
    const count4 = Math.ceil(count / 4);
    return makeKernel({
      key: `binary/${op.name}/${inType}/${outType}/flat4`,
      storage: [['A', 'read', `vec4<${inType}>`], ['B', 'read', `vec4<${inType}>`], ['Y', 'read_write', `vec4<${outType}>`]],
      fields: [['count', 'i32', count4]],
      build: () => FLOAT_SPECIALS + MATH_F32 + fn() + linearMain(WG, '  let a = A[i];\n  let b = B[i];\n' + `  Y[i] = ${vec4Apply('op', ['a', 'b'], outType)};`),
      workgroupSize: WG,
      dispatch: linearDispatch(count4, WG),
    });
  }
  return makeKernel({
    key: `binary/${op.name}/${inType}/${outType}/r${rank}`,
    storage: [['A', 'read', inType], ['B', 'read', inType], ['Y', 'read_write', outType]],
    fields: [['count', 'i32', count], ...walkFields(m, ['a', 'b'])],
    build: () =>
      FLOAT_SPECIALS + MATH_F32 +
      fn() + linearMain(WG, `${walkOffsets(rank, ['a', 'b'])}  Y[i] = op(A[o_a], B[o_b]);`),
    workgroupSize: WG,
    dispatch: linearDispatch(count, WG),
  });
}

/** Walk names of a fused op's inputs ('s' is taken by the walk's shape fields). */
const FUSED_NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];

/**
 * out = op(in0, ...) over float32, each input broadcast to outShape (same rank). Bindings
 * X0 .. X{arity-1}, out: arity + 1 storage buffers. All inputs of the output's shape read
 * and write as vec4 (as binaryKernel's flat case); otherwise one element per invocation
 * over the merged walk, whose rank is part of the variant.
 */
export function fusedKernel(op: FusedElementwiseOp, inShapes: readonly (readonly number[])[], outShape: readonly number[]): Kernel {
  if (inShapes.length !== op.arity) throw new Error(`fusedKernel: ${op.arity} inputs expected, got ${inShapes.length} shapes`);
  const names = FUSED_NAMES.slice(0, op.arity);
  const m = mergeDims(outShape, inShapes.map((s) => broadcastStrides(s, outShape)));
  const count = outShape.reduce((x, y) => x * y, 1);
  const rank = m.shape.length;
  const inputs = (elem: string) => names.map((_, k) => [`X${k}`, 'read', elem] as [string, 'read', string]);
  const fn = () => wgslFusedFunction(op);
  if (rank <= 1 && m.strides.every((s) => s.length === 0 || s[0] === 1)) {
    const count4 = Math.ceil(count / 4);
    const loads = names.map((_, k) => `  let v${k} = X${k}[i];\n`).join('');
    return makeKernel({
      key: `fused/${op.name}/flat4`,
      storage: [...inputs('vec4<f32>'), ['Y', 'read_write', 'vec4<f32>']],
      fields: [['count', 'i32', count4]],
      build: () => FLOAT_SPECIALS + MATH_F32 + fn() + linearMain(WG, loads + `  Y[i] = ${vec4Apply('op', names.map((_, k) => `v${k}`), 'f32')};`),
      workgroupSize: WG,
      dispatch: linearDispatch(count4, WG),
    });
  }
  // A last dim of whole vec4s along which every input advances (aligned: its other strides
  // are multiples of 4) or repeats one value: 4 outputs per invocation, as in the flat case.
  const last = rank - 1;
  const vec = rank > 0 && m.shape[last] % 4 === 0 && m.strides.every((st) => st[last] === 0 || (st[last] === 1 && st.every((v) => v % 4 === 0 || v === 1)));
  if (vec) {
    const kinds = m.strides.map((st) => (st[last] === 1 ? 'v' : 's'));
    const loads = names.map((n, k) => (kinds[k] === 'v' ? `X${k}[o_${n} / 4]` : `vec4<f32>(X${k}[o_${n}])`));
    const count4 = count / 4;
    return makeKernel({
      key: `fused/${op.name}/r${rank}${kinds.join('')}`,
      storage: [...names.map((_, k) => [`X${k}`, 'read', kinds[k] === 'v' ? 'vec4<f32>' : 'f32'] as [string, 'read', string]), ['Y', 'read_write', 'vec4<f32>']],
      fields: [['count', 'i32', count4], ...walkFields(m, names)],
      build: () => FLOAT_SPECIALS + MATH_F32 + fn() +
        linearMain(WG, `${walkOffsets(rank, names, 'i * 4')}${names.map((_, k) => `  let v${k} = ${loads[k]};\n`).join('')}  Y[i] = ${vec4Apply('op', names.map((_, k) => `v${k}`), 'f32')};`),
      workgroupSize: WG,
      dispatch: linearDispatch(count4, WG),
    });
  }
  return makeKernel({
    key: `fused/${op.name}/r${rank}`,
    storage: [...inputs('f32'), ['Y', 'read_write', 'f32']],
    fields: [['count', 'i32', count], ...walkFields(m, names)],
    build: () => FLOAT_SPECIALS + MATH_F32 + fn() +
      linearMain(WG, `${walkOffsets(rank, names)}  Y[i] = op(${names.map((n, k) => `X${k}[o_${n}]`).join(', ')});`),
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

/** Y[i] += X[i] (f32): sums the partial results of an op run in parts. Bindings X, Y. */
export function accumulateKernel(count: number): Kernel {
  return makeKernel({
    key: 'accumulate/f32',
    storage: [['X', 'read', 'f32'], ['Y', 'read_write', 'f32']],
    fields: [['count', 'i32', count]],
    build: () => linearMain(WG, '  Y[i] += X[i];'),
    workgroupSize: WG,
    dispatch: linearDispatch(count, WG),
  });
}
