import { type Dataset, type DType, TensorDataset, collate, isDataset, sharedValues, tensor, tidy, type Tensor } from '@webgrad/tensor';
import { runBatchTask, type BatchResult, type BatchTask } from './batch-task';
import { runGatherTask, type GatherResult, type GatherTask } from './gather-task';
import { toShared, type ImageSet, type PairSet } from './image-set';
import { mix, permutation } from './rng';
import { compileTransforms, type Transform, type TransformPlan } from './transforms';
import { nodeOnly, type TaskPool } from './platform';

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
  /**
   * Worker threads that build batches; 0 builds them on this thread. Default: 1 when there
   * are two cores or more. Image sets and cpu TensorDatasets use them; another Dataset's
   * get() runs on this thread.
   */
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

/** A cpu TensorDataset's values in shared memory, gathered into batches on workers. */
interface SharedRows {
  task: Omit<GatherTask, 'indices'>;
  xShape: number[];
  yShape: number[];
  xDtype: DType;
  yDtype: DType;
}

function sharedRows(d: TensorDataset): SharedRows {
  const row = (t: Tensor) => t.size / t.shape[0];
  return {
    task: { kind: 'gather', x: sharedValues(d.x), y: sharedValues(d.y), xRow: row(d.x), yRow: row(d.y) },
    xShape: d.x.shape.slice(1),
    yShape: d.y.shape.slice(1),
    xDtype: d.x.dtype,
    yDtype: d.y.dtype,
  };
}

/**
 * Batches of a data set as tensors, shuffled and augmented the same way for a given seed
 * whether built here or on worker threads (which keep the GPU fed while this thread trains).
 */
export class DataLoader implements AsyncIterable<Batch> {
  private readonly plan: TransformPlan | null = null;
  private readonly images: Uint8Array = new Uint8Array(0);
  private readonly targets?: BatchTask['targets'];
  private readonly rows: SharedRows | null = null;
  private readonly opts: Required<Omit<DataLoaderOptions, 'device' | 'transforms'>> & { device?: string };
  private pool: TaskPool | null = null;
  private nextEpoch = 0;

  /**
   * `dataset`: an image set (ImageSet, PairSet) or any map-style Dataset (length + get(i)),
   * such as a TensorDataset.
   */
  constructor(
    readonly dataset: ImageSet | PairSet | Dataset,
    options: DataLoaderOptions,
  ) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new Error(`DataLoader: batchSize must be a positive integer, got ${options.batchSize}`);
    this.opts = {
      batchSize: options.batchSize,
      shuffle: options.shuffle ?? false,
      seed: options.seed ?? 0,
      dropLast: options.dropLast ?? false,
      workers: options.workers ?? ((nodeOnly.cores?.() ?? 1) > 1 ? 1 : 0),
      prefetch: Math.max(1, options.prefetch ?? 2),
      device: options.device,
    };
    if (isDataset(dataset)) {
      if (options.transforms?.length) throw new Error("DataLoader: transforms apply to image sets; a Dataset's get(i) returns its samples already transformed");
      // A cpu TensorDataset is plain numbers, so worker threads can gather its rows.
      if (dataset instanceof TensorDataset && dataset.x.backend.readSync) this.rows = sharedRows(dataset);
      return;
    }
    this.plan = compileTransforms(options.transforms ?? [], dataset.channels, dataset.height, dataset.width);
    // Shared memory lets worker threads read the images without a copy per batch.
    if (isPairSet(dataset)) {
      this.images = toShared(dataset.inputs);
      this.targets = { images: toShared(dataset.targets), targetOf: dataset.targetOf };
    } else {
      this.images = toShared(dataset.images);
    }
  }

  /** Samples in the data set. */
  private get count(): number {
    return isDataset(this.dataset) ? this.dataset.length : this.dataset.count;
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.count / this.opts.batchSize;
    return this.opts.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** The dataset indices of each batch of `epoch`, in order. */
  order(epoch: number): Int32Array[] {
    const { batchSize, shuffle, seed } = this.opts;
    const all = shuffle ? permutation(this.count, mix(seed, epoch)) : Int32Array.from({ length: this.count }, (_, i) => i);
    return Array.from({ length: this.length }, (_, b) => all.slice(b * batchSize, Math.min((b + 1) * batchSize, all.length)));
  }

  private run<R>(task: BatchTask | GatherTask, here: () => R): Promise<R> {
    if (this.opts.workers < 1) return Promise.resolve(here());
    if (!nodeOnly.workerPool) throw new Error(`DataLoader: workers: ${this.opts.workers} needs worker threads, which only the Node entry of @webgrad/datasets has; in a page use workers: 0`);
    this.pool ??= nodeOnly.workerPool(this.opts.workers);
    return this.pool.run<R>(task);
  }

  /**
   * Starts building a batch (on a worker when possible); the tensors are made only when the
   * batch is used, so batches built ahead for a loop that stops early leak nothing.
   */
  private build(indices: Int32Array, epoch: number): Promise<() => Batch> {
    const device = this.opts.device;
    if (this.rows) {
      const rows = this.rows;
      const task: GatherTask = { ...rows.task, indices };
      return this.run<GatherResult>(task, () => runGatherTask(task)).then((r) => () => ({
        x: tensor(r.x, { shape: [indices.length, ...rows.xShape], dtype: rows.xDtype, device }),
        y: tensor(r.y, { shape: [indices.length, ...rows.yShape], dtype: rows.yDtype, device }),
        indices,
      }));
    }
    if (isDataset(this.dataset)) {
      const dataset = this.dataset;
      return Promise.resolve(() => {
        const { x, y } = tidy(() => {
          const b = collate(Array.from(indices, (i) => dataset.get(i)), 'DataLoader');
          return device && b.x.device !== device ? { x: b.x.to(device), y: b.y.to(device) } : b;
        });
        return { x, y, indices };
      });
    }
    const task: BatchTask = { kind: 'batch', images: this.images, indices, plan: this.plan!, seed: this.opts.seed, epoch, targets: this.targets };
    return this.run<BatchResult>(task, () => runBatchTask(task)).then((built) => () => this.toBatch(indices, built));
  }

  private toBatch(indices: Int32Array, built: BatchResult): Batch {
    const { channels, outHeight, outWidth } = this.plan!;
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
    const ahead: Promise<() => Batch>[] = [];
    let next = 0;
    const fill = () => {
      while (next < order.length && ahead.length < this.opts.prefetch) ahead.push(this.build(order[next++], epoch));
    };
    try {
      for (let b = 0; b < order.length; b++) {
        fill();
        const make = await ahead.shift()!;
        fill();
        yield make();
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
