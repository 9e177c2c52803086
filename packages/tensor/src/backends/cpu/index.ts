import type { AdamParams, Backend, DType, SgdParams, Storage, TypedArray } from '../../backend';
import { sizeOf } from '../../shape';
import { requireFloatDtype } from '../../shape-rules';
import { binaryLoop, broadcastLoop, unaryLoop } from './elementwise';
import { reduce } from './reduce';
import { matmul } from './kernels/matmul';
import { col2im, convBackwardInput, convBackwardWeight, convForward, im2col } from './kernels/conv';
import { avgPool, avgPoolBackward, maxPool, maxPoolBackward } from './kernels/pool';
import { pad } from './kernels/pad';
import { softmax } from './kernels/softmax';
import { batchNorm, batchNormBackward } from './kernels/batch-norm';
import { gather, scatterAdd, strided, writeStrided } from './kernels/strided';

/** cpu storage: the typed array itself (bytes comes with it). */
type CpuStorage = TypedArray & Storage;
type FloatArray = Float32Array | Float64Array;

const arrayFor = (dtype: DType, n: number): CpuStorage =>
  (dtype === 'float32' ? new Float32Array(n) : dtype === 'int32' ? new Int32Array(n) : new Float64Array(n)) as CpuStorage;

const arr = (s: Storage) => s as CpuStorage;
const flt = (s: Storage) => s as unknown as FloatArray;

let liveBuffers = 0;
let liveBytes = 0;
/** Counts a storage this backend hands out (stats() reports them). */
function own<T extends TypedArray>(a: T): CpuStorage {
  liveBuffers++;
  liveBytes += a.byteLength;
  return a as unknown as CpuStorage;
}

const requireFloat = (op: string, dtype: DType) => requireFloatDtype(op, dtype);

/** The reference backend: typed arrays in this process, simple and exact. */
export const cpuBackend: Backend = {
  name: 'cpu',
  description: 'cpu (JavaScript typed arrays)',

  upload(data, dtype) {
    const a = arrayFor(dtype, data.length);
    a.set(data);
    return own(a);
  },
  fill(size, value, dtype) {
    return own(arrayFor(dtype, size).fill(value));
  },
  async read(s, size, dtype) {
    return this.readSync!(s, size, dtype);
  },
  readSync(s, size, dtype) {
    const out = arrayFor(dtype, size);
    out.set(arr(s).subarray(0, size));
    return out;
  },
  dispose(s) {
    liveBuffers--;
    liveBytes -= arr(s).byteLength;
  },
  stats() {
    return { buffers: liveBuffers, bytes: liveBytes };
  },
  async sync() {},

  unary(op, x, size, inDtype, outDtype, a, b) {
    const out = arrayFor(outDtype, size);
    unaryLoop(op, inDtype === 'int32')(arr(x), out, a ?? 0, b ?? 0);
    return own(out);
  },
  binary(op, a, aShape, b, bShape, outShape, inDtype, outDtype) {
    const out = arrayFor(outDtype, sizeOf(outShape));
    binaryLoop(op, inDtype === 'int32')(arr(a), aShape, arr(b), bShape, outShape, out);
    return own(out);
  },
  where(cond, condShape, _condDtype, a, aShape, b, bShape, outShape, dtype) {
    const out = arrayFor(dtype, sizeOf(outShape));
    const c = arr(cond), x = arr(a), y = arr(b);
    broadcastLoop(outShape, [condShape, aShape, bShape], (o, [oc, oa, ob], [sc, sa, sb], n) => {
      for (let i = 0; i < n; i++) out[o + i] = c[oc + i * sc] !== 0 ? x[oa + i * sa] : y[ob + i * sb];
    });
    return own(out);
  },
  reduce(op, x, shape, axes, dtype) {
    const outDtype = op === 'argmax' || op === 'argmin' ? 'int32' : dtype;
    const out = arrayFor(outDtype, sizeOf(shape.filter((_, d) => !axes.includes(d))));
    reduce(op, arr(x), shape, axes, out);
    return own(out);
  },

  strided(x, outShape, strides, offset) {
    return own(strided(arr(x), outShape, strides, offset));
  },
  writeStrided(dst, src, srcShape, dstStrides, dstOffset) {
    writeStrided(arr(dst), arr(src), srcShape, dstStrides, dstOffset);
  },
  pad(x, shape, pads, mode, value) {
    return own(pad(arr(x), [...shape], pads, mode, value));
  },
  gather(x, xShape, index, indexShape, axis) {
    return own(gather(arr(x), xShape, arr(index) as Int32Array, indexShape, axis));
  },
  scatterAdd(src, index, indexShape, outShape, axis) {
    return own(scatterAdd(arr(src), arr(index) as Int32Array, indexShape, outShape, axis));
  },
  copyInto(dst, src, size) {
    arr(dst).set(arr(src).subarray(0, size));
  },

  matmul(a, b, p, dtype) {
    requireFloat('matmul', dtype);
    return own(matmul(flt(a), flt(b), p));
  },
  conv(x, w, bias, p, dtype) {
    requireFloat('conv', dtype);
    return own(convForward(flt(x), flt(w), bias ? flt(bias) : null, p));
  },
  convBackwardInput(gy, w, p) {
    return own(convBackwardInput(flt(gy), flt(w), p));
  },
  convBackwardWeight(x, gy, p) {
    return own(convBackwardWeight(flt(x), flt(gy), p));
  },
  im2col(x, p) {
    return own(im2col(flt(x), p));
  },
  col2im(cols, p) {
    return own(col2im(flt(cols), p));
  },

  maxPool(x, p, dtype) {
    requireFloat('maxPool', dtype);
    const { out, argmax } = maxPool(flt(x), p);
    return { out: own(out), argmax: own(argmax) };
  },
  maxPoolBackward(gy, argmax, p) {
    return own(maxPoolBackward(flt(gy), arr(argmax) as Int32Array, p));
  },
  avgPool(x, p, dtype) {
    requireFloat('avgPool', dtype);
    return own(avgPool(flt(x), p));
  },
  avgPoolBackward(gy, p) {
    return own(avgPoolBackward(flt(gy), p));
  },

  batchNorm(x, weight, bias, p, dtype) {
    requireFloat('batchNorm', dtype);
    const r = batchNorm(flt(x), weight ? flt(weight) : null, bias ? flt(bias) : null, p);
    return { y: own(r.y), mean: own(r.mean), invstd: own(r.invstd) };
  },
  batchNormBackward(gy, x, mean, invstd, weight, p, dtype) {
    requireFloat('batchNormBackward', dtype);
    const r = batchNormBackward(flt(gy), flt(x), flt(mean), flt(invstd), weight ? flt(weight) : null, p);
    return { gx: own(r.gx), gweight: own(r.gweight), gbias: own(r.gbias) };
  },

  softmax(x, rows, cols, log, dtype) {
    requireFloat('softmax', dtype);
    return own(softmax(flt(x), rows, cols, log));
  },
  sgdStep(param, grad, momentumBuf, size, p: SgdParams) {
    const w = flt(param), g = flt(grad), buf = momentumBuf ? flt(momentumBuf) : null;
    for (let i = 0; i < size; i++) {
      let d = g[i] + p.weightDecay * w[i];
      if (buf) {
        buf[i] = p.firstStep ? d : p.momentum * buf[i] + (1 - p.dampening) * d;
        d = p.nesterov ? d + p.momentum * buf[i] : buf[i];
      }
      w[i] -= p.lr * d;
    }
  },
  adamStep(param, grad, m, v, size, p: AdamParams) {
    const w = flt(param), g = flt(grad), mm = flt(m), vv = flt(v);
    const bc1 = 1 - p.beta1 ** p.step;
    const bc2 = 1 - p.beta2 ** p.step;
    const stepSize = p.lr / bc1;
    const sqrtBc2 = Math.sqrt(bc2);
    for (let i = 0; i < size; i++) {
      let gi = g[i];
      if (p.decoupled) w[i] *= 1 - p.lr * p.weightDecay;
      else gi += p.weightDecay * w[i];
      mm[i] = p.beta1 * mm[i] + (1 - p.beta1) * gi;
      vv[i] = p.beta2 * vv[i] + (1 - p.beta2) * gi * gi;
      w[i] -= (stepSize * mm[i]) / (Math.sqrt(vv[i]) / sqrtBc2 + p.eps);
    }
  },
};
