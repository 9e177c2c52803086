import type { Tensor } from '@webgrad/tensor';

/** Inputs and targets of one batch; [x, y] pairs are accepted too. */
export interface Batch {
  x: Tensor;
  y: Tensor;
}

export type BatchLike = Batch | readonly [Tensor, Tensor];

/**
 * Where batches come from: anything iterable (sync or async) that can be iterated again each
 * epoch, such as an array of batches or a data loader. `length` (batches per epoch), when
 * present, gives the progress bar its total.
 */
export type BatchSource = (Iterable<BatchLike> | AsyncIterable<BatchLike>) & { length?: number };

export function toBatch(b: BatchLike): Batch {
  if (Array.isArray(b)) return { x: b[0], y: b[1] };
  const batch = b as Batch;
  if (!batch.x || !batch.y) throw new Error('fit: a batch must be { x, y } or [x, y]');
  return batch;
}

export async function* batchesOf(source: BatchSource): AsyncGenerator<Batch> {
  if (Symbol.asyncIterator in source) {
    for await (const b of source as AsyncIterable<BatchLike>) yield toBatch(b);
  } else {
    for (const b of source as Iterable<BatchLike>) yield toBatch(b);
  }
}
