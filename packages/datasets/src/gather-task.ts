import type { TypedArray } from '@webgrad/tensor';

/**
 * Build one batch of a TensorDataset: the rows at `indices` of x and y, which sit in shared
 * memory so that a worker thread reads them without a copy per batch.
 */
export interface GatherTask {
  kind: 'gather';
  x: TypedArray;
  y: TypedArray;
  /** Values per row of x and of y. */
  xRow: number;
  yRow: number;
  indices: Int32Array;
}

export interface GatherResult {
  x: TypedArray;
  y: TypedArray;
}

function rows(src: TypedArray, row: number, indices: Int32Array): TypedArray {
  const Ctor = src.constructor as { new (n: number): TypedArray };
  const out = new Ctor(indices.length * row);
  for (let i = 0; i < indices.length; i++) out.set(src.subarray(indices[i] * row, (indices[i] + 1) * row), i * row);
  return out;
}

export function runGatherTask(task: GatherTask): GatherResult {
  return { x: rows(task.x, task.xRow, task.indices), y: rows(task.y, task.yRow, task.indices) };
}
