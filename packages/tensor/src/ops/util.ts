import type { Backend, DType, PadMode, Storage } from '../backend';
import { Tensor } from '../tensor';
import { fmt } from '../shape';
import { requireFloatDtype } from '../shape-rules';

/** A new tensor owning a storage the backend just made. */
export function wrap(backend: Backend, storage: Storage, shape: readonly number[], dtype: DType): Tensor {
  return Tensor.fromStorage(backend, storage, shape, dtype);
}

/**
 * `make()`'s storage (or storages), or the backend's out-of-memory error prefixed with the op and the
 * shape it was making (a backend sees only the element count).
 */
export function allocate<T = Storage>(op: string, shape: readonly number[], make: () => T): T {
  try {
    return make();
  } catch (err) {
    if (err instanceof RangeError) throw new RangeError(`${op} ${fmt(shape)}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** The backend all inputs share; a clear error when they sit on different devices. */
export function commonBackend(op: string, ...ts: Tensor[]): Backend {
  const b = ts[0].backend;
  for (const t of ts) {
    if (t.backend !== b) {
      throw new Error(`${op}: tensors are on different devices (${ts.map((x) => `${fmt(x.shape)} on ${x.device}`).join(', ')}); move them with .to(device)`);
    }
  }
  return b;
}

export function requireFloat(op: string, ...ts: Tensor[]): void {
  for (const t of ts) requireFloatDtype(op, t.dtype, t.shape);
}

export function requireInt(op: string, what: string, t: Tensor): void {
  if (t.dtype !== 'int32') throw new Error(`${op}: ${what} must be an int32 tensor, got ${t.dtype} ${fmt(t.shape)}`);
}

/** A strided gather copy: the one primitive behind permute, expand and slices. */
export function stridedCopy(x: Tensor, shape: number[], strides: number[], offset: number): Tensor {
  return wrap(x.backend, allocate('copy', shape, () => x.backend.strided(x.storage, shape, strides, offset, x.dtype)), shape, x.dtype);
}

/** Pads every dim by [before, after] (negative crops), without recording a gradient. */
export function padRaw(x: Tensor, pads: [number, number][], mode: PadMode, value: number): Tensor {
  const shape = x.shape.map((d, i) => d + pads[i][0] + pads[i][1]);
  return wrap(x.backend, x.backend.pad(x.storage, x.shape, pads, mode, value, x.dtype), shape, x.dtype);
}
