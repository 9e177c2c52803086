import { type Dataset, type Tensor, collate, isDataset, tidy } from '@webgrad/tensor';

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

/**
 * What fit and evaluate take: batches (a DataLoader, an array of batches) or a map-style
 * Dataset (such as a TensorDataset), which they batch in order by `batchSize`.
 */
export type TrainingData = BatchSource | Dataset;

/** A Dataset as batches of `batchSize` samples, in order (a DataLoader shuffles); other sources as they are. */
export function asBatchSource(data: TrainingData, batchSize = 32, where = 'fit'): BatchSource {
  if (!isDataset(data) || Symbol.iterator in data || Symbol.asyncIterator in data) return data as BatchSource;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`${where}: batchSize must be a positive integer, got ${batchSize}`);
  const n = data.length;
  return {
    length: Math.ceil(n / batchSize),
    *[Symbol.iterator](): Iterator<Batch> {
      for (let start = 0; start < n; start += batchSize) {
        const end = Math.min(n, start + batchSize);
        yield tidy(() => collate(Array.from({ length: end - start }, (_, i) => data.get(start + i)), where));
      }
    },
  };
}

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
