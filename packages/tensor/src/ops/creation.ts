import type { DType, TypedArray } from '../backend';
import { getBackend, getDefaultDevice } from '../engine';
import { nextFloat, nextNormal, nextUint32 } from '../random';
import { replayed } from '../jit/state';
import { fmt, sizeOf } from '../shape';
import { Tensor, type NestedArray } from '../tensor';
import { allocate, wrap } from './util';
import { checkTensorFits } from '../limits';

export interface CreateOptions {
  dtype?: DType;
  device?: string;
  requiresGrad?: boolean;
}

function finish(data: TypedArray, shape: readonly number[], opts: CreateOptions, dtype: DType): Tensor {
  const backend = getBackend(opts.device ?? getDefaultDevice());
  checkTensorFits('tensor', backend.name, backend.limits, shape, dtype);
  const t = wrap(backend, allocate('tensor', shape, () => backend.upload(data, dtype)), shape, dtype);
  if (opts.requiresGrad) t.requiresGrad_();
  return t;
}

function typedFor(dtype: DType, n: number): TypedArray {
  return dtype === 'int32' ? new Int32Array(n) : dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

function checkShape(op: string, shape: readonly number[]): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${op}: invalid shape ${fmt(shape)}: every dim must be a non-negative integer`);
  }
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0] as NestedArray;
  }
  return shape;
}

function flatten(data: NestedArray, shape: number[], out: number[], dim = 0): void {
  if (dim === shape.length) {
    if (typeof data !== 'number') throw new Error('tensor: nested array is ragged (sub-arrays of different lengths)');
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[dim]) {
    throw new Error(`tensor: nested array is ragged: dim ${dim} should have ${shape[dim]} entries`);
  }
  for (const x of data) flatten(x, shape, out, dim + 1);
}

/** tensor()'s options: the creation options plus, for flat data, the shape to fill. */
export interface TensorOptions extends CreateOptions {
  shape?: readonly number[];
}

const TENSOR_OPTION_KEYS = ['dtype', 'device', 'requiresGrad', 'shape'] as const;
const DTYPES: readonly DType[] = ['float32', 'int32', 'float64'];
const TENSOR_FORM = "tensor(data, { dtype, device, requiresGrad, shape })";

/** Splits tensor()'s second and third arguments into a shape and options, or says the right form. */
function tensorArgs(second: unknown, third: unknown): { shape?: readonly number[]; opts: CreateOptions } {
  const isPlainObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x) && !ArrayBuffer.isView(x);
  let shape: readonly number[] | undefined;
  let opts: Record<string, unknown> = {};
  if (Array.isArray(second) || second === undefined) {
    // The positional form tensor(flatData, shape, opts), kept for flat and typed data.
    shape = second;
    if (third !== undefined && !isPlainObject(third)) throw new Error(`tensor: the options must be an object like ${TENSOR_FORM}, got ${describe(third)}`);
    opts = third ?? {};
  } else if (isPlainObject(second)) {
    if (third !== undefined) throw new Error(`tensor: unexpected third argument ${describe(third)}; pass everything in one options object: ${TENSOR_FORM}`);
    opts = second;
    shape = opts.shape as readonly number[] | undefined;
    if (shape !== undefined && !Array.isArray(shape)) throw new Error(`tensor: shape must be an array of dims, got ${describe(shape)}`);
  } else {
    throw new Error(`tensor: the second argument must be an options object, ${TENSOR_FORM}, got ${describe(second)}`);
  }
  const unknown = Object.keys(opts).filter((k) => !(TENSOR_OPTION_KEYS as readonly string[]).includes(k));
  if (unknown.length) throw new Error(`tensor: unknown option ${unknown.map((k) => `'${k}'`).join(', ')}; the options are ${TENSOR_FORM}`);
  if (opts.dtype !== undefined && !DTYPES.includes(opts.dtype as DType)) {
    throw new Error(`tensor: unknown dtype ${describe(opts.dtype)}; expected one of ${DTYPES.map((d) => `'${d}'`).join(', ')}`);
  }
  return { shape, opts: opts as CreateOptions };
}

function describe(x: unknown): string {
  return typeof x === 'string' ? `'${x}'` : Array.isArray(x) ? `[${x.join(',')}]` : String(x);
}

/**
 * A tensor from nested arrays, a flat array or a typed array, PyTorch's torch.tensor:
 * `tensor([[1, 2], [3, 4]], { dtype: 'int32', device: 'webgpu', requiresGrad: false })`.
 * The shape comes from the nesting; flat data takes `{ shape }` (or the older positional
 * `tensor(flat, shape, opts)`). dtype defaults to the typed array's, else float32.
 */
export function tensor(data: NestedArray | TypedArray | number[], opts?: TensorOptions): Tensor;
export function tensor(data: NestedArray | TypedArray | number[], shape: readonly number[] | undefined, opts?: CreateOptions): Tensor;
export function tensor(data: NestedArray | TypedArray | number[], second?: unknown, third?: unknown): Tensor {
  const { shape, opts } = tensorArgs(second, third);
  let flat: ArrayLike<number>;
  let inferred: number[];
  let dtype: DType = opts.dtype ?? 'float32';
  if (ArrayBuffer.isView(data)) {
    flat = data;
    inferred = [data.length];
    if (!opts.dtype) dtype = data instanceof Int32Array ? 'int32' : data instanceof Float64Array ? 'float64' : 'float32';
  } else {
    inferred = inferShape(data);
    const out: number[] = [];
    flatten(data, inferred, out);
    flat = out;
  }
  const finalShape = shape ? [...shape] : inferred;
  checkShape('tensor', finalShape);
  if (sizeOf(finalShape) !== flat.length) {
    throw new Error(`tensor: ${flat.length} values cannot fill shape ${fmt(finalShape)} (${sizeOf(finalShape)} elements)`);
  }
  const typed = typedFor(dtype, flat.length);
  typed.set(flat as ArrayLike<number>);
  return finish(typed, finalShape, opts, dtype);
}

export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  checkShape('full', shape);
  const dtype = opts.dtype ?? 'float32';
  const backend = getBackend(opts.device ?? getDefaultDevice());
  checkTensorFits('full', backend.name, backend.limits, shape, dtype);
  const t = wrap(backend, allocate('full', shape, () => backend.fill(sizeOf(shape), value, dtype)), shape, dtype);
  if (opts.requiresGrad) t.requiresGrad_();
  return t;
}

export const zeros = (shape: readonly number[], opts: CreateOptions = {}) => full(shape, 0, opts);
export const ones = (shape: readonly number[], opts: CreateOptions = {}) => full(shape, 1, opts);
const like = (t: Tensor, opts: CreateOptions): CreateOptions => ({ dtype: t.dtype, device: t.device, ...opts });
export const zerosLike = (t: Tensor, opts: CreateOptions = {}) => full(t.shape, 0, like(t, opts));
export const onesLike = (t: Tensor, opts: CreateOptions = {}) => full(t.shape, 1, like(t, opts));
export const fullLike = (t: Tensor, value: number, opts: CreateOptions = {}) => full(t.shape, value, like(t, opts));

/** Values start, start + step, ... below end (PyTorch's arange). int32 when all arguments are integers. */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new Error('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = opts.dtype ?? ([start, end, step].every(Number.isInteger) ? 'int32' : 'float32');
  const data = typedFor(dtype, n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return finish(data, [n], opts, dtype);
}

export function linspace(start: number, end: number, steps: number, opts: CreateOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`linspace: steps must be a non-negative integer, got ${steps}`);
  const dtype = opts.dtype ?? 'float32';
  const data = typedFor(dtype, steps);
  for (let i = 0; i < steps; i++) data[i] = steps === 1 ? start : start + ((end - start) * i) / (steps - 1);
  return finish(data, [steps], opts, dtype);
}

export function eye(n: number, opts: CreateOptions = {}): Tensor {
  const dtype = opts.dtype ?? 'float32';
  const data = typedFor(dtype, n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  return finish(data, [n, n], opts, dtype);
}

function random(op: string, shape: readonly number[], opts: CreateOptions, draw: () => number): Tensor {
  checkShape(op, shape);
  const dtype = opts.dtype ?? 'float32';
  const drawAll = (): TypedArray => {
    const data = typedFor(dtype, sizeOf(shape));
    for (let i = 0; i < data.length; i++) data[i] = draw();
    return data;
  };
  return fromHost(drawAll, shape, opts);
}

/**
 * A tensor of values that the host computes for each step (random draws, a counter): `make`
 * returns them, flat. Inside a jit trace, each replay calls `make` again, in the order the
 * trace met it, so it must do the host's side of the step (advance the generator or the count).
 */
export function fromHost(make: () => TypedArray, shape: readonly number[], opts: CreateOptions = {}): Tensor {
  checkShape('fromHost', shape);
  const data = make();
  if (data.length !== sizeOf(shape)) throw new Error(`fromHost: ${data.length} values cannot fill shape ${fmt(shape)} (${sizeOf(shape)} elements)`);
  const dtype: DType = data instanceof Int32Array ? 'int32' : data instanceof Float64Array ? 'float64' : 'float32';
  return finish(replayed(data, make), shape, opts, dtype);
}

/** Uniform in [low, high) from the seeded generator (manualSeed). */
export function rand(shape: readonly number[], opts: CreateOptions & { low?: number; high?: number } = {}): Tensor {
  const low = opts.low ?? 0, high = opts.high ?? 1;
  return random('rand', shape, opts, () => low + (high - low) * nextFloat());
}

/** Normal with the given mean and std from the seeded generator. */
export function randn(shape: readonly number[], opts: CreateOptions & { mean?: number; std?: number } = {}): Tensor {
  const mean = opts.mean ?? 0, std = opts.std ?? 1;
  return random('randn', shape, opts, () => mean + std * nextNormal());
}

/** Integers uniform in [low, high), int32. */
export function randint(low: number, high: number, shape: readonly number[], opts: CreateOptions = {}): Tensor {
  if (!(high > low)) throw new Error(`randint: high (${high}) must be greater than low (${low})`);
  const span = high - low;
  return random('randint', shape, { dtype: 'int32', ...opts }, () => low + (nextUint32() % span));
}
