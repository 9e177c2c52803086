import { checkUpdate, epilogueSteps, type Backend, type BatchNormCall, type BatchNormResult, type DType, type ElementwiseStep, type FusedElementwiseOp, type ReduceOp, type Shape, type Storage, type TypedArray, type UpdateItem, type UpdateOp } from '../../backend';
import { sizeOf } from '../../shape';
import { requireFloatDtype } from '../../shape-rules';
import { binaryLoop, broadcastLoop, chainFunction, fusedLoop, unaryLoop, updateLoop } from './elementwise';
import { reduce } from './reduce';
import { matmul } from './kernels/matmul';
import { col2im, convBackwardInput, convBackwardWeight, convForward, im2col } from './kernels/conv';
import { avgPool, avgPoolBackward, maxPool, maxPoolBackward } from './kernels/pool';
import { pad } from './kernels/pad';
import { softmax } from './kernels/softmax';
import { crossEntropy, crossEntropyBackward } from './kernels/cross-entropy';
import { batchNorm, batchNormBackward, batchNormRunningStats, type Epilogue } from './kernels/batch-norm';
import { batchNormBackwardUnfused, batchNormUnfused, checkEpilogue, convBiasGradient, convUnfused, matmulUnfused, reduceUnfused, withRunning, type RunningStats } from '../fusion';
import { type Alloc, gather, scatterAdd, strided, writeStrided } from './kernels/strided';
import { existingWasmRuntime, wasmRuntime } from './wasm/runtime';
import { wasmAvgPool, wasmAvgPoolBackward, wasmMaxPoolBackward, wasmReduce, wasmSoftmax, wasmUpdate } from './wasm/memops';
import { elementwiseRuntime, wasmBinary, wasmFused, wasmUnary, wasmWhere } from './wasm/elementwise';
import { wasmBatchNormBackwardFused, wasmBatchNormFused } from './wasm/batch-norm-fused';
import { wasmBatchNorm, wasmBatchNormBackward, wasmMaxPool, wasmConvBackwardInput, wasmConvBackwardWeight, wasmConvForward, wasmMatmul } from './wasm/kernels';

/** cpu storage: the typed array itself (bytes comes with it). */
type CpuStorage = TypedArray & Storage;
type FloatArray = Float32Array | Float64Array;

/**
 * A new storage, zeroed unless the caller writes every element (`written`): float32 and
 * int32 live in the WASM kernels' shared memory (so those kernels read them in place),
 * float64 and everything without WASM threads in the JS heap.
 */
function arrayFor(dtype: DType, n: number, written = false): CpuStorage {
  if (dtype !== 'float64') {
    const rt = wasmRuntime();
    if (rt?.shared) {
      try {
        return rt.allocArray(dtype, n, !written) as CpuStorage;
      } catch (err) {
        throw new RangeError(`cpu: a ${dtype} tensor of ${n.toLocaleString('en-US')} elements: ${(err as Error).message}`);
      }
    }
  }
  return heapArray(dtype, n);
}

/** A plain typed array (what read() hands to the caller, who may keep it for ever). */
const heapArray = (dtype: DType, n: number): CpuStorage =>
  (dtype === 'float32' ? new Float32Array(n) : dtype === 'int32' ? new Int32Array(n) : new Float64Array(n)) as CpuStorage;

const arr = (s: Storage) => s as CpuStorage;

const dtypeOfArray = (a: TypedArray): DType => (a instanceof Float32Array ? 'float32' : a instanceof Int32Array ? 'int32' : 'float64');

/**
 * Runs a JS kernel whose output is placed as arrayFor places x's dtype (in the WASM kernels'
 * memory for float32 and int32, so the next WASM kernel reads it in place); a kernel that
 * throws (a bad index) frees it.
 */
function ownedOutput<T extends TypedArray>(x: T, kernel: (alloc: Alloc<T>) => T): CpuStorage {
  const dtype = dtypeOfArray(x);
  let made: CpuStorage | null = null;
  try {
    return own(kernel((n, written) => (made = arrayFor(dtype, n, written)) as unknown as T));
  } catch (err) {
    if (made) wasmRuntime()?.freeArray(made);
    throw err;
  }
}
const flt = (s: Storage) => s as unknown as FloatArray;

let liveBuffers = 0;
let liveBytes = 0;
/** Counts a storage this backend hands out (stats() reports them). */
function own<T extends TypedArray>(a: T): CpuStorage {
  liveBuffers++;
  liveBytes += a.byteLength;
  return a as unknown as CpuStorage;
}

/** The WASM SIMD kernels for float32 where the runtime has them; float64 stays on the JS reference. */
const fast = (dtype: DType) => (dtype === 'float32' ? wasmRuntime() : null);
const f32 = (s: Storage) => s as unknown as Float32Array;

/** Does the cpu backend run its float32 compute on WebAssembly SIMD here? */
export function cpuHasWasm(): boolean {
  return wasmRuntime() !== null;
}

/** Threads the cpu kernels use (this one included): 1 where the runtime cannot run workers. */
export function cpuThreads(): number {
  return wasmRuntime()?.threads ?? 1;
}

/**
 * Resolves once the cpu kernels' worker threads are running (or after `ms`): a page's
 * workers may not start until its main thread returns to the event loop, and until they do
 * their share of each kernel runs on the caller.
 */
export async function cpuThreadsStarted(ms?: number): Promise<boolean> {
  return (await wasmRuntime()?.started(ms)) ?? true;
}

/** Sets the cpu kernels' thread count (useDevice('cpu', { threads }) and WEBGRAD_THREADS end here). */
export function setCpuThreads(n: number): number {
  const rt = wasmRuntime();
  if (!Number.isInteger(n) || n < 1) throw new Error(`cpu threads must be a positive integer, got ${n}`);
  rt?.setThreads(n);
  return cpuThreads();
}

function describeCpu(): string {
  const rt = wasmRuntime();
  if (!rt) return 'cpu (JavaScript typed arrays; no WebAssembly SIMD here)';
  const t = rt.threads;
  const why = t === 1 ? rt.whyOneThread : rt.workerFailure && `a worker failed, the caller runs its share: ${rt.workerFailure}`;
  return `cpu (WebAssembly SIMD${rt.relaxed ? ' + relaxed FMA' : ''}, ${t} thread${t === 1 ? '' : 's'}${why ? `: ${why}` : ''})`;
}

const requireFloat = (op: string, dtype: DType) => requireFloatDtype(op, dtype);

/** The JS reference reduction (and the path for int32, float64, arg ops and patterns the WASM kernel does not take). */
function jsReduce(op: ReduceOp, x: Storage, shape: Shape, axes: number[], dtype: DType): CpuStorage {
  const out = arrayFor(op === 'argmax' || op === 'argmin' ? 'int32' : dtype, sizeOf(shape.filter((_, d) => !axes.includes(d))));
  reduce(op, arr(x), shape, axes, out);
  return out;
}
function checkFused(op: FusedElementwiseOp, inputs: Storage[], inputShapes: Shape[]): void {
  if (inputs.length !== op.arity || inputShapes.length !== op.arity) throw new Error(`fused: ${op.arity} inputs expected, got ${inputs.length}`);
}

/** The JavaScript loops rendered from the op table: the reference, and every dtype the WASM kernels leave. */
const jsElementwise: Pick<Backend, 'unary' | 'binary' | 'fused' | 'where'> = {
  unary(op, x, size, inDtype, outDtype, a, b) {
    const out = arrayFor(outDtype, size, true);
    unaryLoop(op, inDtype === 'int32')(arr(x), out, a ?? 0, b ?? 0);
    return own(out);
  },
  binary(op, a, aShape, b, bShape, outShape, inDtype, outDtype) {
    const out = arrayFor(outDtype, sizeOf(outShape), true);
    binaryLoop(op, inDtype === 'int32')(arr(a), aShape, arr(b), bShape, outShape, out);
    return own(out);
  },
  fused(op, inputs, inputShapes, outShape) {
    checkFused(op, inputs, inputShapes);
    const out = arrayFor('float32', sizeOf(outShape), true);
    fusedLoop(op)(inputs.map(arr), inputShapes, outShape, out);
    return own(out);
  },
  where(cond, condShape, _condDtype, a, aShape, b, bShape, outShape, dtype) {
    const out = arrayFor(dtype, sizeOf(outShape), true);
    const c = arr(cond), x = arr(a), y = arr(b);
    broadcastLoop(outShape, [condShape, aShape, bShape], (o, [oc, oa, ob], [sc, sa, sb], n) => {
      for (let i = 0; i < n; i++) out[o + i] = c[oc + i * sc] !== 0 ? x[oa + i * sa] : y[ob + i * sb];
    });
    return own(out);
  },
};

/**
 * The reference backend: every method on the plain-JavaScript kernels (one thread), typed
 * arrays in this process, simple and exact. It is the oracle the WASM kernels are tested
 * against and a row of the benchmarks. The cpu backend below is this object with the WASM
 * SIMD kernels laid over it, so whatever it does not replace runs here, and nothing here
 * reaches WASM by construction (storages may still live in the WASM memory: placement,
 * not compute).
 */
export const cpuReferenceBackend: Backend = {
  name: 'cpu',
  description: 'cpu (JavaScript reference kernels, one thread)',

  upload(data, dtype) {
    const a = arrayFor(dtype, data.length, true);
    a.set(data);
    return own(a);
  },
  fill(size, value, dtype) {
    return own(arrayFor(dtype, size, true).fill(value));
  },
  async read(s, size, dtype) {
    return this.readSync!(s, size, dtype);
  },
  readSync(s, size, dtype) {
    const out = heapArray(dtype, size);
    out.set(arr(s).subarray(0, size));
    return out;
  },
  dispose(s) {
    liveBuffers--;
    liveBytes -= arr(s).byteLength;
    wasmRuntime()?.freeArray(s);
  },
  stats() {
    return { buffers: liveBuffers, bytes: liveBytes };
  },
  collectionTurn() {
    existingWasmRuntime()?.collectIfGrowing();
  },
  async sync() {},

  ...jsElementwise,
  reduce(op, x, shape, axes, dtype, fusion) {
    // Separate passes: on the cpu a fused reduction saves no launch, and these are its bits.
    if (fusion) return reduceUnfused(cpuReferenceBackend, cpuReferenceBackend.reduce, op, x, shape, axes, dtype, fusion);
    return own(jsReduce(op, x, shape, axes, dtype));
  },

  strided(x, outShape, strides, offset) {
    return ownedOutput(arr(x), (alloc) => strided(arr(x), outShape, strides, offset, alloc));
  },
  writeStrided(dst, src, srcShape, dstStrides, dstOffset) {
    writeStrided(arr(dst), arr(src), srcShape, dstStrides, dstOffset);
  },
  pad(x, shape, pads, mode, value) {
    return ownedOutput(arr(x), (alloc) => pad(arr(x), [...shape], pads, mode, value, alloc));
  },
  gather(x, xShape, index, indexShape, axis) {
    return ownedOutput(arr(x), (alloc) => gather(arr(x), xShape, arr(index) as Int32Array, indexShape, axis, alloc));
  },
  scatterAdd(src, index, indexShape, outShape, axis) {
    return ownedOutput(arr(src), (alloc) => scatterAdd(arr(src), arr(index) as Int32Array, indexShape, outShape, axis, alloc));
  },
  copyInto(dst, src, size) {
    arr(dst).set(arr(src).subarray(0, size));
  },

  // Separate calls, as reduce's fusion: on the cpu an epilogue saves no launch, and these are its bits.
  matmul(a, b, p, dtype, epilogue) {
    if (epilogue) return matmulUnfused(cpuReferenceBackend, cpuReferenceBackend.matmul, a, b, p, dtype, epilogue);
    requireFloat('matmul', dtype);
    return own(matmul(flt(a), flt(b), p));
  },
  conv(x, w, bias, p, dtype, epilogue) {
    if (epilogue) return convUnfused(cpuReferenceBackend, cpuReferenceBackend.conv, x, w, bias, p, dtype, epilogue);
    requireFloat('conv', dtype);
    return own(convForward(flt(x), flt(w), bias ? flt(bias) : null, p));
  },
  convBackwardInput: (gy, w, p) => own(convBackwardInput(flt(gy), flt(w), p)),
  // The bias gradient as its own reduction: on the cpu doing both in one pass saves no launch.
  convBackwardWeight(x, gy, p, dtype, bias) {
    return { weight: own(convBackwardWeight(flt(x), flt(gy), p)), bias: bias ? convBiasGradient(cpuReferenceBackend, gy, p, dtype) : null };
  },
  im2col: (x, p) => own(im2col(flt(x), p)),
  col2im: (cols, p) => own(col2im(flt(cols), p)),

  maxPool(x, p, dtype) {
    requireFloat('maxPool', dtype);
    const { out, argmax } = maxPool(flt(x), p);
    return { out: own(out), argmax: own(argmax) };
  },
  maxPoolBackward: (gy, argmax, p) => own(maxPoolBackward(flt(gy), arr(argmax) as Int32Array, p)),
  avgPool: (x, p, dtype) => (requireFloat('avgPool', dtype), own(avgPool(flt(x), p))),
  avgPoolBackward: (gy, p) => own(avgPoolBackward(flt(gy), p)),

  batchNorm(x, weight, bias, p, dtype, epilogue) {
    requireFloat('batchNorm', dtype);
    checkEpilogue(epilogue);
    const r = batchNorm(flt(x), weight ? flt(weight) : null, bias ? flt(bias) : null, p, epilogue && jsChain(epilogueSteps(epilogue), dtype));
    const out: BatchNormResult = { y: own(r.y), mean: own(r.mean), invstd: own(r.invstd) };
    // No launch to save on the cpu: the update runs after the statistics, over their stored values.
    return p.running ? withRunning(out, runningStats(out, p, dtype)) : out;
  },
  batchNormBackward(gy, x, mean, invstd, weight, p, dtype, prologue) {
    requireFloat('batchNormBackward', dtype);
    const pro = prologue && jsChain([{ op: prologue.op, residual: prologue.y, a: prologue.a, b: prologue.b }], dtype);
    const r = batchNormBackward(flt(gy), flt(x), flt(mean), flt(invstd), weight ? flt(weight) : null, p, pro);
    return { gx: own(r.gx), gweight: own(r.gweight), gbias: own(r.gbias) };
  },

  softmax: (x, rows, cols, log, dtype) => (requireFloat('softmax', dtype), own(softmax(flt(x), rows, cols, log))),
  // The WASM backend keeps these: a classification head is small next to what precedes it.
  crossEntropy(x, target, rows, cols, p, dtype) {
    requireFloat('crossEntropy', dtype);
    const loss = arrayFor(dtype, p.reduction === 'none' ? rows : 1, true), lse = arrayFor(dtype, rows, true);
    crossEntropy(flt(x), arr(target) as Int32Array, rows, cols, p, flt(loss), flt(lse));
    return { loss: own(loss), lse: own(lse) };
  },
  crossEntropyBackward(g, x, lse, target, rows, cols, p, dtype) {
    requireFloat('crossEntropyBackward', dtype);
    const gx = arrayFor(dtype, rows * cols, true);
    crossEntropyBackward(flt(g), flt(x), flt(lse), arr(target) as Int32Array, rows, cols, p, flt(gx));
    return own(gx);
  },
  // One loop per parameter: on the cpu a step costs its arithmetic, not its launches.
  update(op, items, scalars, dtype) {
    requireFloat('update', dtype);
    checkUpdate(op, items, scalars);
    for (const it of items) refUpdate(op, it, scalars);
  },
};

const ref = cpuReferenceBackend;

/** The running statistics of both cpu backends: p.c values, the reference's JavaScript (f64 or f32 storage as the dtype). */
const runningStats: RunningStats = (r, p: BatchNormCall) => {
  const run = p.running!;
  const next = batchNormRunningStats(flt(run.mean), flt(run.var), flt(r.mean), flt(r.invstd), { c: p.c, momentum: run.momentum, eps: p.eps, count: run.count });
  return { mean: own(next.mean), var: own(next.var) };
};

/** One parameter's step in the reference's JavaScript: the WASM backend's fallback too. */
const refUpdate = (op: UpdateOp, it: UpdateItem, scalars: readonly number[]) => updateLoop(op)(it.arrays.map(flt), scalars, 0, it.size);

/** The JavaScript epilogue / prologue of the reference batch norm kernels. */
function jsChain(steps: readonly ElementwiseStep[], dtype: DType): Epilogue {
  return chainFunction(steps.map((st) => st.op), dtype === 'float32')(
    steps.map((st) => (st.residual ? arr(st.residual) : null)), steps.map((st) => st.a ?? 0), steps.map((st) => st.b ?? 0));
}

/** The WASM batch norm without fusion (float32, a runtime present). */
const plainWasmBatchNorm: Backend['batchNorm'] = (x, weight, bias, p) => {
  const r = wasmBatchNorm(fast('float32')!, f32(x), weight ? f32(weight) : null, bias ? f32(bias) : null, p);
  return { y: own(r.y), mean: own(r.mean), invstd: own(r.invstd) };
};
const plainWasmBatchNormBackward: Backend['batchNormBackward'] = (gy, x, mean, invstd, weight, p) => {
  const r = wasmBatchNormBackward(fast('float32')!, f32(gy), f32(x), f32(mean), f32(invstd), weight ? f32(weight) : null, p);
  return { gx: own(r.gx), gweight: own(r.gweight), gbias: own(r.gbias) };
};

/**
 * The cpu backend: the reference with its float32 compute on the WASM SIMD kernels where
 * the runtime has them (each method falls back to the reference for other dtypes, and where
 * no runtime loaded).
 */
export const cpuBackend: Backend = {
  ...ref,
  get description() {
    return describeCpu();
  },

  unary(op, x, size, inDtype, outDtype, a, b) {
    const rt = elementwiseRuntime(inDtype, outDtype);
    const out = rt && wasmUnary(rt, op, f32(x), size, a ?? 0, b ?? 0);
    return out ? own(out) : ref.unary(op, x, size, inDtype, outDtype, a, b);
  },
  binary(op, a, aShape, b, bShape, outShape, inDtype, outDtype) {
    const rt = elementwiseRuntime(inDtype, outDtype);
    const out = rt && wasmBinary(rt, op, f32(a), aShape, f32(b), bShape, outShape);
    return out ? own(out) : ref.binary(op, a, aShape, b, bShape, outShape, inDtype, outDtype);
  },
  fused(op, inputs, inputShapes, outShape) {
    const rt = elementwiseRuntime('float32', 'float32');
    checkFused(op, inputs, inputShapes);
    const out = rt && wasmFused(rt, op, inputs.map(f32), inputShapes, outShape);
    return out ? own(out) : ref.fused(op, inputs, inputShapes, outShape);
  },
  where(cond, condShape, condDtype, a, aShape, b, bShape, outShape, dtype) {
    const rt = condDtype !== 'float64' ? elementwiseRuntime(dtype, dtype) : null;
    if (rt) return own(wasmWhere(rt, arr(cond) as Float32Array | Int32Array, condShape, f32(a), aShape, f32(b), bShape, outShape));
    return ref.where(cond, condShape, condDtype, a, aShape, b, bShape, outShape, dtype);
  },
  reduce(op, x, shape, axes, dtype, fusion) {
    if (fusion) return reduceUnfused(cpuBackend, cpuBackend.reduce, op, x, shape, axes, dtype, fusion);
    const rt = fast(dtype), viaWasm = rt && wasmReduce(rt, op, f32(x), shape, axes);
    return viaWasm ? own(viaWasm) : ref.reduce(op, x, shape, axes, dtype);
  },

  matmul(a, b, p, dtype, epilogue) {
    if (epilogue) return matmulUnfused(cpuBackend, cpuBackend.matmul, a, b, p, dtype, epilogue);
    const rt = fast(dtype);
    return rt ? own(wasmMatmul(rt, f32(a), f32(b), p)) : ref.matmul(a, b, p, dtype);
  },
  conv(x, w, bias, p, dtype, epilogue) {
    if (epilogue) return convUnfused(cpuBackend, cpuBackend.conv, x, w, bias, p, dtype, epilogue);
    const rt = fast(dtype);
    return rt ? own(wasmConvForward(rt, f32(x), f32(w), bias ? f32(bias) : null, p)) : ref.conv(x, w, bias, p, dtype);
  },
  convBackwardInput(gy, w, p, dtype) {
    const rt = fast(dtype);
    return rt ? own(wasmConvBackwardInput(rt, f32(gy), f32(w), p)) : ref.convBackwardInput(gy, w, p, dtype);
  },
  convBackwardWeight(x, gy, p, dtype, bias) {
    const rt = fast(dtype);
    if (!rt) return ref.convBackwardWeight(x, gy, p, dtype, bias);
    return { weight: own(wasmConvBackwardWeight(rt, f32(x), f32(gy), p)), bias: bias ? convBiasGradient(cpuBackend, gy, p, dtype) : null };
  },

  maxPool(x, p, dtype) {
    const rt = fast(dtype);
    if (!rt) return ref.maxPool(x, p, dtype);
    const { out, argmax } = wasmMaxPool(rt, f32(x), p);
    return { out: own(out), argmax: own(argmax) };
  },
  maxPoolBackward(gy, argmax, p, dtype) {
    const rt = fast(dtype);
    return rt ? own(wasmMaxPoolBackward(rt, f32(gy), arr(argmax) as Int32Array, p)) : ref.maxPoolBackward(gy, argmax, p, dtype);
  },
  avgPool(x, p, dtype) {
    const rt = fast(dtype);
    return rt ? own(wasmAvgPool(rt, f32(x), p)) : ref.avgPool(x, p, dtype);
  },
  avgPoolBackward(gy, p, dtype) {
    const rt = fast(dtype);
    return rt ? own(wasmAvgPoolBackward(rt, f32(gy), p)) : ref.avgPoolBackward(gy, p, dtype);
  },

  batchNorm(x, weight, bias, p, dtype, epilogue) {
    const rt = fast(dtype);
    if (!rt) return ref.batchNorm(x, weight, bias, p, dtype, epilogue);
    checkEpilogue(epilogue);
    if (!epilogue && !p.running) return plainWasmBatchNorm(x, weight, bias, p, dtype);
    const steps = epilogueSteps(epilogue);
    const r = steps.length > 0 ? wasmBatchNormFused(rt, f32(x), weight ? f32(weight) : null, bias ? f32(bias) : null, p,
      steps.map((st) => ({ op: st.op, other: st.residual ? f32(st.residual) : null, a: st.a ?? 0, b: st.b ?? 0 }))) : null;
    if (!r) return batchNormUnfused(this, plainWasmBatchNorm, runningStats, x, weight, bias, p, dtype, epilogue);
    const out: BatchNormResult = { y: own(r.y), mean: own(r.mean), invstd: own(r.invstd) };
    // The running statistics are the reference's JavaScript on the cpu (p.c values): after the kernel.
    return p.running ? withRunning(out, runningStats(out, p, dtype)) : out;
  },
  batchNormBackward(gy, x, mean, invstd, weight, p, dtype, prologue) {
    const rt = fast(dtype);
    if (!rt) return ref.batchNormBackward(gy, x, mean, invstd, weight, p, dtype, prologue);
    if (prologue) {
      const r = wasmBatchNormBackwardFused(rt, f32(gy), f32(x), f32(mean), f32(invstd), weight ? f32(weight) : null, p,
        { op: prologue.op, other: f32(prologue.y), a: prologue.a ?? 0, b: prologue.b ?? 0 });
      if (r) return { gx: own(r.gx), gweight: own(r.gweight), gbias: own(r.gbias) };
      return batchNormBackwardUnfused(this, plainWasmBatchNormBackward, gy, x, mean, invstd, weight, p, dtype, prologue);
    }
    return plainWasmBatchNormBackward(gy, x, mean, invstd, weight, p, dtype);
  },

  softmax(x, rows, cols, log, dtype) {
    const rt = fast(dtype);
    return rt ? own(wasmSoftmax(rt, f32(x), rows, cols, log)) : ref.softmax(x, rows, cols, log, dtype);
  },
  // Per parameter, in place on WASM when its arrays are all float32 storage in its memory, else the reference.
  update(op, items, scalars, dtype) {
    requireFloat('update', dtype);
    checkUpdate(op, items, scalars);
    const rt = dtype === 'float32' ? wasmRuntime() : null;
    for (const it of items) {
      if (!(rt && wasmUpdate(rt, op, it.arrays.map(f32), it.size, scalars))) refUpdate(op, it, scalars);
    }
  },
};
