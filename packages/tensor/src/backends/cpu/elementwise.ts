/**
 * The cpu's JavaScript loops of the elementwise op table: kernels-ir renders each op's
 * expression tree into a loop's source, compiled here once per op (and int/float variant)
 * with `new Function`, so the inner loop runs the expression inline instead of calling a
 * closure per element; and the broadcast walk those loops use.
 */
import { binaryLoopSource, broadcastStrides, channelMapSource, fusedLoopSource, renderJs, sizeOf, unaryLoopSource, updateLoopSource, usesIntMath, type ElementwiseKernelOp, type FusedElementwiseOp, type UpdateOp, type ChannelMap } from '@webgrad/kernels-ir';
import type { Shape, TypedArray } from '../../backend';

type UnaryLoop = (x: TypedArray, out: TypedArray, a: number, b: number) => void;
type BinaryLoop = (a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, outShape: Shape, out: TypedArray) => void;
type FusedLoop = (inputs: TypedArray[], shapes: Shape[], outShape: Shape, out: TypedArray) => void;
type UpdateLoop = (arrays: TypedArray[], scalars: readonly number[], i0: number, i1: number) => void;
/** A channel map's coefficients from its channel's inputs, and the function of one element's inputs over them. */
export type ChannelFunction = (channel: Readonly<Record<string, number | undefined>>) => (...element: number[]) => number;

/** Every compiled loop, by kind and key. */
const compiled = new Map<string, unknown>();

/** The function a rendered source returns, compiled once per key (`broadcastLoop` in its scope). */
function compileOnce<T>(key: string, source: () => string): T {
  let f = compiled.get(key) as T | undefined;
  if (!f) {
    f = new Function('broadcastLoop', source())(broadcastLoop) as T;
    compiled.set(key, f);
  }
  return f;
}

/** out[i] = op(x[i]), compiled once per op. */
export function unaryLoop(op: ElementwiseKernelOp, int32: boolean): UnaryLoop {
  const intMath = usesIntMath(op, int32);
  return compileOnce(`unary/${op.name}/${intMath}`, () => unaryLoopSource(op, intMath));
}

/** out = x op y with broadcasting, compiled once per op; equal shapes and a scalar y run flat. */
export function binaryLoop(op: ElementwiseKernelOp, int32: boolean): BinaryLoop {
  const intMath = usesIntMath(op, int32);
  return compileOnce(`binary/${op.name}/${intMath}`, () => binaryLoopSource(op, intMath));
}

/** out = op(inputs...) over float32 with broadcasting, compiled once per op (name). */
export const fusedLoop = (op: FusedElementwiseOp): FusedLoop => compileOnce(`fused/${op.name}`, () => fusedLoopSource(op));

/** The update `op` in place over elements [i0, i1) of the arrays, compiled once per op. */
export const updateLoop = (op: UpdateOp): UpdateLoop => compileOnce(`update/${op.name}`, () => updateLoopSource(op));

/** A channel map (batch norm's apply, its gx) as JavaScript in f64, compiled once per map. */
export const channelFunction = (map: ChannelMap): ChannelFunction => compileOnce(`channel/${map.name}`, () => channelMapSource(map));

/**
 * Visits every output index, calling visit(outIndex, offsets...) with each operand's offset.
 * The innermost dim runs as a tight loop; outer dims advance an odometer.
 */
export function broadcastLoop(outShape: Shape, shapes: Shape[], inner: (o: number, offs: number[], innerStrides: number[], n: number) => void): void {
  const rank = outShape.length;
  const total = sizeOf(outShape);
  if (total === 0) return;
  const strides = shapes.map((s) => broadcastStrides(s, outShape));
  if (rank === 0) {
    inner(0, shapes.map(() => 0), shapes.map(() => 0), 1);
    return;
  }
  const n = outShape[rank - 1];
  const innerStrides = strides.map((s) => s[rank - 1]);
  const idx = new Array<number>(rank - 1).fill(0);
  const offs = shapes.map(() => 0);
  for (let o = 0; o < total; o += n) {
    inner(o, offs, innerStrides, n);
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      for (let k = 0; k < offs.length; k++) offs[k] += strides[k][d];
      if (idx[d] < outShape[d]) break;
      for (let k = 0; k < offs.length; k++) offs[k] -= strides[k][d] * idx[d];
      idx[d] = 0;
    }
  }
}

/** Reads step k's residual at a flat index (null for a unary step). */
export type ChainFunction = (v: number, i: number) => number;
type ChainMaker = (residuals: readonly (TypedArray | null)[], as: readonly number[], bs: readonly number[]) => ChainFunction;
const chains = new Map<string, ChainMaker>();

/**
 * v ↦ the float ops applied in order (batch norm's epilogue and prologue), step k reading
 * residuals[k][i] as y. Each step's value is rounded as the array of a separate call would
 * store it (Math.fround for float32), so the result is the separate calls' bit for bit.
 * Compiled once per chain of ops, like the loops above.
 */
export function chainFunction(ops: readonly ElementwiseKernelOp[], float32: boolean): ChainMaker {
  const key = `${ops.map((op) => op.name).join(',')}/${float32}`;
  let make = chains.get(key);
  if (!make) {
    const round = float32 ? 'Math.fround' : '';
    const steps = ops.map((op, k) => {
      const body = renderJs(op.expr, false);
      const value = op.expr.kind === 'compare' || op.expr.kind === 'logic' ? `(${body} ? 1 : 0)` : body;
      return `{ const a = A${k}, b = B${k}, y = ${op.arity === 2 ? `R${k}[i]` : '0'}; x = ${round}(${value}); }`;
    });
    const unpack = ops.map((_, k) => `const R${k} = R[${k}], A${k} = As[${k}], B${k} = Bs[${k}];`).join('\n');
    make = new Function(`const sign = (v) => (v > 0 ? 1 : v < 0 ? -1 : 0);
const fround = ${float32 ? 'Math.fround' : '(v) => v'};
return function chain(R, As, Bs) {
${unpack}
  return function (v, i) { let x = v;\n${steps.join('\n')}\n    return x; };
};`)() as ChainMaker;
    chains.set(key, make);
  }
  return make;
}
