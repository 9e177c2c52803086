import { JitTraceError, type Tensor, batchNorm, fromHost, isTracing, ones, zeros } from '@webgrad/tensor';
import { Module } from '../module';
import { type Parameter, zerosParameter } from '../parameter';
import { ones_, zeros_ } from '../init';

export interface BatchNormOptions {
  eps?: number;
  /** Weight of the new batch in the running statistics; null: a cumulative average. Default 0.1. */
  momentum?: number | null;
  /** Learnable scale and shift (default true). */
  affine?: boolean;
  /** Keep running statistics for evaluation (default true); otherwise batch statistics are always used. */
  trackRunningStats?: boolean;
}

/** BatchNorm1d/2d/3d: normalise each channel (dim 1) with batch statistics in training, running ones in eval. */
export abstract class BatchNormNd extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  runningMean: Tensor | null;
  runningVar: Tensor | null;
  numBatchesTracked: Tensor | null;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  /** numBatchesTracked, mirrored here so that momentum = null needs no device read. */
  private _batches = 0;

  constructor(
    private readonly _ranks: number[],
    readonly numFeatures: number,
    opts: BatchNormOptions = {},
  ) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1) throw new Error(`${this.constructor.name}: numFeatures must be a positive integer, got ${numFeatures}`);
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    this.affine = opts.affine ?? true;
    this.trackRunningStats = opts.trackRunningStats ?? true;
    this.weight = this.affine ? zerosParameter([numFeatures]) : null;
    this.bias = this.affine ? zerosParameter([numFeatures]) : null;
    this.runningMean = this.registerBuffer('runningMean', this.trackRunningStats ? zeros([numFeatures]) : null);
    this.runningVar = this.registerBuffer('runningVar', this.trackRunningStats ? ones([numFeatures]) : null);
    this.numBatchesTracked = this.registerBuffer('numBatchesTracked', this.trackRunningStats ? zeros([], { dtype: 'int32' }) : null);
    this.resetParameters();
  }

  resetRunningStats(): void {
    if (this.runningMean) zeros_(this.runningMean);
    if (this.runningVar) ones_(this.runningVar);
    this.setBatchCount(() => 0);
  }

  resetParameters(): void {
    this.resetRunningStats();
    if (this.weight) ones_(this.weight);
    if (this.bias) zeros_(this.bias);
  }

  /**
   * The batch count becomes next() on the host and on the device; under jit, each replay
   * calls next() again (fromHost), so a traced step counts its batch too.
   */
  private setBatchCount(next: () => number): void {
    if (!this.numBatchesTracked) {
      this._batches = next();
      return;
    }
    const t = fromHost(() => Int32Array.of((this._batches = next())), [], { device: this.numBatchesTracked.device });
    this.numBatchesTracked.set_(t);
    t.dispose();
  }

  forward(x: Tensor): Tensor {
    if (!this._ranks.includes(x.rank)) {
      const want = this._ranks.map((r) => `${r}-D`).join(' or ');
      throw new Error(`${this.constructor.name}: expected a ${want} input, got [${x.shape.join(',')}]`);
    }
    let momentum = this.momentum ?? 0;
    if (this.training && this.trackRunningStats) {
      if (isTracing() && this.momentum === null) {
        throw new JitTraceError(`${this.constructor.name} with momentum = null averages with a factor 1/n that changes every step, which a jit trace cannot replay; give a momentum, or train without jit`);
      }
      this.setBatchCount(() => this._batches + 1);
      if (this.momentum === null) momentum = 1 / this._batches;
    }
    // Batch statistics in training, and whenever there are no running statistics to use.
    const useBatchStats = this.training || !this.runningMean;
    const useRunning = !this.training || this.trackRunningStats;
    return batchNorm(x, useRunning ? this.runningMean : null, useRunning ? this.runningVar : null, this.weight, this.bias, {
      training: useBatchStats,
      momentum,
      eps: this.eps,
    });
  }

  protected override afterLoadStateDict(get: (name: string) => Tensor | undefined): void {
    const n = get('numBatchesTracked');
    if (n?.canReadSync) this._batches = n.dataSync()[0];
  }

  override extraRepr(): string {
    const parts = [`${this.numFeatures}`, `eps=${this.eps}`, `momentum=${this.momentum}`];
    if (!this.affine) parts.push('affine=false');
    if (!this.trackRunningStats) parts.push('trackRunningStats=false');
    return parts.join(', ');
  }
}

/** Over [N, C] or [N, C, L]. */
export class BatchNorm1d extends BatchNormNd {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super([2, 3], numFeatures, opts);
  }
}

/** Over [N, C, H, W]. */
export class BatchNorm2d extends BatchNormNd {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super([4], numFeatures, opts);
  }
}

/** Over [N, C, D, H, W]. */
export class BatchNorm3d extends BatchNormNd {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super([5], numFeatures, opts);
  }
}
