/**
 * Batch norm's fused epilogue / prologue, a reduction's and a product's, and a convolution's
 * bias gradient beside its weights', done as the separate calls they stand for: the fallback
 * where a backend cannot fuse (a tree with no rendering there, too many bindings, a batch too
 * large to bind whole), and what the fused kernels must equal.
 */
import { checkProductEpilogue, convAxes, matmulAxes, type Axes3 } from '@webgrad/kernels-ir';
import { epilogueSteps, type Backend, type BatchNormCall, type BatchNormEpilogue, type BatchNormPrologue, type BatchNormResult, type ConvParams, type DType, type MatmulParams, type ProductFusion, type ReduceFusion, type ReduceOp, type Shape, type Storage } from '../backend';

/** Checks what every backend's fused path assumes: float ops of x's shape, residuals where the op is binary. */
export function checkEpilogue(e: BatchNormEpilogue | undefined): void {
  for (const s of epilogueSteps(e)) {
    if (s.op.arity === 2 && !s.residual) throw new Error(`batchNorm epilogue: the binary op ${s.op.name} needs a residual`);
  }
}

/** y after the epilogue's steps as unary / binary calls (intermediates disposed; y too, when steps ran). */
export function applyEpilogue(backend: Backend, y: Storage, size: number, dtype: DType, e: BatchNormEpilogue | undefined): Storage {
  let v = y;
  for (const s of epilogueSteps(e)) {
    const next = s.op.arity === 2
      ? backend.binary(s.op, v, [size], s.residual!, [size], [size], dtype, dtype)
      : backend.unary(s.op, v, size, dtype, dtype, s.a ?? 0, s.b ?? 0);
    backend.dispose(v);
    v = next;
  }
  return v;
}

/**
 * A backend's running-statistics update from a batch's mean and invstd (p.running's
 * settings), as new storages: its own helper, not a Backend method, since batchNorm with
 * p.running is the way in (where webgpu folds it into the statistics pass).
 */
export type RunningStats = (r: { mean: Storage; invstd: Storage }, p: BatchNormCall, dtype: DType) => { mean: Storage; var: Storage };

/** batchNorm as separate calls: the plain one, then the epilogue's ops, then the backend's running-statistics update. */
export function batchNormUnfused(backend: Backend, plain: Backend['batchNorm'], running: RunningStats, x: Storage, weight: Storage | null, bias: Storage | null,
  p: BatchNormCall, dtype: DType, epilogue: BatchNormEpilogue | undefined): BatchNormResult {
  const r: BatchNormResult = plain.call(backend, x, weight, bias, p, dtype);
  r.y = applyEpilogue(backend, r.y, p.n * p.c * p.s, dtype, epilogue);
  return p.running ? withRunning(r, running(r, p, dtype)) : r;
}

/** The result with the running statistics' new storages. */
export const withRunning = (r: BatchNormResult, next: { mean: Storage; var: Storage }): BatchNormResult =>
  ({ y: r.y, mean: r.mean, invstd: r.invstd, runningMean: next.mean, runningVar: next.var });

/** gy after the prologue's op, as the binary call it stands for. */
export function applyPrologue(backend: Backend, gy: Storage, size: number, dtype: DType, pro: BatchNormPrologue): Storage {
  return pro.op.arity === 2
    ? backend.binary(pro.op, gy, [size], pro.y, [size], [size], dtype, dtype)
    : backend.unary(pro.op, gy, size, dtype, dtype, pro.a ?? 0, pro.b ?? 0);
}

/** batchNormBackward as separate calls: the prologue's op, then the plain backward. */
export function batchNormBackwardUnfused(backend: Backend, plain: Backend['batchNormBackward'], gy: Storage, x: Storage, mean: Storage, invstd: Storage,
  weight: Storage | null, p: BatchNormCall, dtype: DType, pro: BatchNormPrologue): { gx: Storage; gweight: Storage; gbias: Storage } {
  const g = applyPrologue(backend, gy, p.n * p.c * p.s, dtype, pro);
  try {
    return plain.call(backend, g, x, mean, invstd, weight, p, dtype);
  } finally {
    backend.dispose(g);
  }
}

/** Checks what every backend's fused reduction assumes: a float32 sum, max or min, trees of the right arity. */
export function checkReduceFusion(op: ReduceOp, dtype: DType, f: ReduceFusion): void {
  if (dtype !== 'float32' || (op !== 'sum' && op !== 'max' && op !== 'min')) throw new Error(`reduce: elementwise work fuses into a float32 sum, max or min, not a ${dtype} ${op}`);
  if (f.prologue && f.prologue.op.arity !== 1 + f.prologue.others.length) throw new Error(`reduce: the prologue takes ${f.prologue.op.arity} inputs, given x and ${f.prologue.others.length} more`);
  if (f.epilogue && f.epilogue.arity !== 1) throw new Error(`reduce: the epilogue takes ${f.epilogue.arity} inputs; it maps each result alone`);
}

/** reduce with `fusion` as separate calls: the prologue's fused op, the plain reduction, the epilogue's. */
export function reduceUnfused(backend: Backend, plain: Backend['reduce'], op: ReduceOp, x: Storage, shape: Shape, axes: number[], dtype: DType, f: ReduceFusion): Storage {
  checkReduceFusion(op, dtype, f);
  const values = f.prologue ? backend.fused(f.prologue.op, [x, ...f.prologue.others], f.prologue.others.map(() => shape).concat([shape]), shape) : x;
  const reduced = plain.call(backend, op, values, shape, axes, dtype);
  if (values !== x) backend.dispose(values);
  if (!f.epilogue) return reduced;
  const kept = shape.filter((_, d) => !axes.includes(d));
  const out = backend.fused(f.epilogue, [reduced], [kept], kept);
  backend.dispose(reduced);
  return out;
}

/** Checks what every backend's fused product assumes: float32, an epilogue of the right arity with inputs that broadcast. */
export function checkProductFusion(what: 'matmul' | 'conv', out: Axes3, dtype: DType, e: ProductFusion): void {
  if (dtype !== 'float32') throw new Error(`${what}: an epilogue fuses into a float32 product, not a ${dtype} one`);
  if (e.others.length !== e.shapes.length) throw new Error(`${what}: the epilogue has ${e.others.length} further inputs but ${e.shapes.length} shapes`);
  checkProductEpilogue(e, out, what);
}

/** The epilogue as the fused call after the product (the product's result disposed). */
function applyProductEpilogue(backend: Backend, y: Storage, out: Axes3, e: ProductFusion): Storage {
  const z = backend.fused(e.op, [y, ...e.others], [out, ...e.shapes], out);
  backend.dispose(y);
  return z;
}

/** matmul with an epilogue as separate calls: the plain product, then the epilogue's fused op. */
export function matmulUnfused(backend: Backend, plain: Backend['matmul'], a: Storage, b: Storage, p: MatmulParams, dtype: DType, e: ProductFusion): Storage {
  checkProductFusion('matmul', matmulAxes(p), dtype, e);
  return applyProductEpilogue(backend, plain.call(backend, a, b, p, dtype), matmulAxes(p), e);
}

/** conv with an epilogue as separate calls: the plain convolution (bias included), then the epilogue's fused op. */
export function convUnfused(backend: Backend, plain: Backend['conv'], x: Storage, w: Storage, bias: Storage | null, p: ConvParams, dtype: DType, e: ProductFusion): Storage {
  checkProductFusion('conv', convAxes(p), dtype, e);
  return applyProductEpilogue(backend, plain.call(backend, x, w, bias, p, dtype), convAxes(p), e);
}

/** A convolution's bias gradient as its own reduction, gy [N, Cout, ...out] summed over all but axis 1: for backends (or variants) with no kernel that makes it beside the weights'. */
export function convBiasGradient(backend: Backend, gy: Storage, p: ConvParams, dtype: DType): Storage {
  return backend.reduce('sum', gy, [p.batch, p.outChannels, ...p.outSize], [0, ...p.outSize.map((_, i) => i + 2)], dtype);
}
