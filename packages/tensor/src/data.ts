import type { TypedArray } from './backend';
import { fmt } from './shape';
import { Tensor, isTensor } from './tensor';
import { tensor } from './ops/creation';
import { narrow, reshape, stack } from './ops/shape';

/**
 * One sample: an input and a target (a tensor, or a class index as a number), as a pair
 * `[x, y]` or an object `{ x, y }`.
 */
export type Sample = readonly [Tensor, Tensor | number] | { x: Tensor; y: Tensor | number };

/**
 * PyTorch's map-style Dataset: how many samples, and the sample at an index. DataLoader
 * (in @webgrad/datasets), fit and evaluate (in @webgrad/nn) take one.
 */
export interface Dataset<S extends Sample = Sample> {
  readonly length: number;
  get(index: number): S;
}

export function isDataset(x: unknown): x is Dataset {
  return typeof x === 'object' && x !== null && typeof (x as Dataset).get === 'function' && typeof (x as Dataset).length === 'number';
}

/**
 * Samples are rows of two tensors with the same first dim, as torch's TensorDataset:
 * `new TensorDataset(x [N, ...], y [N, ...])`, sample i is `[x[i], y[i]]`. On cpu its
 * values can be shared with loader worker threads.
 */
export class TensorDataset implements Dataset<[Tensor, Tensor]> {
  constructor(
    readonly x: Tensor,
    readonly y: Tensor,
  ) {
    if (!isTensor(x) || !isTensor(y)) throw new Error('TensorDataset: expected new TensorDataset(x, y) with two tensors');
    if (x.rank === 0 || y.rank === 0 || x.shape[0] !== y.shape[0]) {
      throw new Error(`TensorDataset: x ${fmt(x.shape)} and y ${fmt(y.shape)} must have the same first dim (one row per sample)`);
    }
    if (x.device !== y.device) throw new Error(`TensorDataset: x is on ${x.device} but y is on ${y.device}`);
  }

  get length(): number {
    return this.x.shape[0];
  }

  get(index: number): [Tensor, Tensor] {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) throw new Error(`TensorDataset: index ${index} is out of range for ${this.length} samples`);
    return [row(this.x, index), row(this.y, index)];
  }
}

function row(t: Tensor, i: number): Tensor {
  return reshape(narrow(t, 0, i, 1), t.shape.slice(1));
}

/** Splits a sample into its input and target. */
export function sampleParts(s: Sample, where: string): { x: Tensor; y: Tensor | number } {
  const [x, y] = Array.isArray(s) ? s : [(s as { x: Tensor }).x, (s as { y: Tensor | number }).y];
  if (!isTensor(x) || !(isTensor(y) || typeof y === 'number')) {
    throw new Error(`${where}: a sample must be [x, y] or { x, y } with x a tensor and y a tensor or a class index, got ${Object.prototype.toString.call(s)}`);
  }
  return { x, y };
}

/**
 * Stacks samples into one batch (PyTorch's default_collate): x [B, ...]; y [B, ...], or
 * int32 [B] when the targets are class indices given as numbers.
 */
export function collate(samples: readonly Sample[], where = 'collate'): { x: Tensor; y: Tensor } {
  if (samples.length === 0) throw new Error(`${where}: no samples to batch`);
  const parts = samples.map((s) => sampleParts(s, where));
  const x = stack(parts.map((p) => p.x));
  const ys = parts.map((p) => p.y);
  let y: Tensor;
  if (ys.every((v) => typeof v === 'number')) y = tensor(Int32Array.from(ys as number[]), { device: x.device });
  else if (ys.every(isTensor)) y = stack(ys as Tensor[]);
  else throw new Error(`${where}: targets mix numbers and tensors`);
  return { x, y };
}

/**
 * The values of a cpu tensor for sharing with worker threads (copied into shared memory; a
 * plain copy in a page without shared memory, which has no worker threads either).
 */
export function sharedValues(t: Tensor): TypedArray {
  const values = t.dataSync();
  const Ctor = values.constructor as { new (b: ArrayBufferLike): TypedArray };
  const out = new Ctor(typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(values.byteLength) : new ArrayBuffer(values.byteLength));
  out.set(values);
  return out;
}
