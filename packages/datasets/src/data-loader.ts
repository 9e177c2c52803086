import { availableParallelism } from 'node:os';
import { tensor, type Tensor } from '@webgrad/tensor';
import { runBatchTask, type BatchResult, type BatchTask } from './batch-task';
import { toShared, type ImageSet, type PairSet } from './image-set';
import { mix, permutation } from './rng';
import { compileTransforms, type Transform, type TransformPlan } from './transforms';
import { WorkerPool } from './worker-pool';

export interface DataLoaderOptions {
  batchSize: number;
  /** A new order every epoch, fixed by `seed`. Default false. */
  shuffle?: boolean;
  /** Fixes the shuffle and the random augmentations. Default 0. */
  seed?: number;
  /** Leave out the last batch when it is smaller than batchSize. Default false. */
  dropLast?: boolean;
  /** Applied in order to every image; see `transforms`. Pixels always come out as floats in [0, 1] before normalize. */
  transforms?: Transform[];
  /** Where the batch tensors are made. Default: the tensor package's default device. */
  device?: string;
  /** Worker threads that build batches; 0 builds them on this thread. Default: 1 when there are two cores or more. */
  workers?: number;
  /** Batches built ahead of the one being used. Default 2. */
  prefetch?: number;
}

/**
 * One batch: x float32 [B, C, H, W]; y int32 [B] class labels, or float32 [B, C, H, W] targets
 * for image pairs. The caller owns both tensors and disposes them.
 */
export interface Batch {
  x: Tensor;
  y: Tensor;
  /** The dataset index of each row. */
  indices: Int32Array;
}

const isPairSet = (d: ImageSet | PairSet): d is PairSet => 'targetOf' in d;

/**
 * Batches of a data set as tensors, shuffled and augmented the same way for a given seed
 * whether built here or on worker threads (which keep the GPU fed while this thread trains).
 */
export class DataLoader implements AsyncIterable<Batch> {
  private readonly plan: TransformPlan;
  private readonly images: Uint8Array;
  private readonly targets?: BatchTask['targets'];
  private readonly opts: Required<Omit<DataLoaderOptions, 'device' | 'transforms'>> & { device?: string };
  private pool: WorkerPool | null = null;
  private nextEpoch = 0;

  constructor(
    readonly dataset: ImageSet | PairSet,
    options: DataLoaderOptions,
  ) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new Error(`DataLoader: batchSize must be a positive integer, got ${options.batchSize}`);
    this.opts = {
      batchSize: options.batchSize,
      shuffle: options.shuffle ?? false,
      seed: options.seed ?? 0,
      dropLast: options.dropLast ?? false,
      workers: options.workers ?? (availableParallelism() > 1 ? 1 : 0),
      prefetch: Math.max(1, options.prefetch ?? 2),
      device: options.device,
    };
    this.plan = compileTransforms(options.transforms ?? [], dataset.channels, dataset.height, dataset.width);
    // Shared memory lets worker threads read the images without a copy per batch.
    if (isPairSet(dataset)) {
      this.images = toShared(dataset.inputs);
      this.targets = { images: toShared(dataset.targets), targetOf: dataset.targetOf };
    } else {
      this.images = toShared(dataset.images);
    }
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.count / this.opts.batchSize;
    return this.opts.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** The dataset indices of each batch of `epoch`, in order. */
  order(epoch: number): Int32Array[] {
    const { batchSize, shuffle, seed } = this.opts;
    const all = shuffle ? permutation(this.dataset.count, mix(seed, epoch)) : Int32Array.from({ length: this.dataset.count }, (_, i) => i);
    return Array.from({ length: this.length }, (_, b) => all.slice(b * batchSize, Math.min((b + 1) * batchSize, all.length)));
  }

  private build(indices: Int32Array, epoch: number): Promise<BatchResult> {
    const task: BatchTask = { kind: 'batch', images: this.images, indices, plan: this.plan, seed: this.opts.seed, epoch, targets: this.targets };
    if (this.opts.workers < 1) return Promise.resolve(runBatchTask(task));
    this.pool ??= new WorkerPool(this.opts.workers);
    return this.pool.run<BatchResult>(task);
  }

  private toBatch(indices: Int32Array, built: BatchResult): Batch {
    const { channels, outHeight, outWidth } = this.plan;
    const shape = [indices.length, channels, outHeight, outWidth];
    const device = this.opts.device;
    const x = tensor(built.x, shape, { dtype: 'float32', device });
    const y = built.y
      ? tensor(built.y, shape, { dtype: 'float32', device })
      : tensor(Int32Array.from(indices, (i) => (this.dataset as ImageSet).labels[i]), [indices.length], { dtype: 'int32', device });
    return { x, y, indices };
  }

  /** The batches of one epoch (its number fixes the shuffle and augmentation). */
  async *epoch(epoch: number): AsyncGenerator<Batch> {
    const order = this.order(epoch);
    const ahead: Promise<BatchResult>[] = [];
    let next = 0;
    const fill = () => {
      while (next < order.length && ahead.length < this.opts.prefetch) ahead.push(this.build(order[next++], epoch));
    };
    try {
      for (let b = 0; b < order.length; b++) {
        fill();
        const built = await ahead.shift()!;
        fill();
        yield this.toBatch(order[b], built);
      }
    } finally {
      // Batches built ahead for a loop that stopped early are dropped.
      for (const p of ahead) p.catch(() => {});
    }
  }

  /** Each `for await` over the loader is the next epoch. */
  [Symbol.asyncIterator](): AsyncIterator<Batch> {
    return this.epoch(this.nextEpoch++);
  }

  /** Stops the worker threads (they are idle-unref'd, so this is only needed to free them early). */
  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = null;
  }
}
