import { type PoolOptions, type Tensor, adaptiveAvgPool2d, avgPool1d, avgPool2d, avgPool3d, maxPool1d, maxPool2d, maxPool3d, pool2d } from '@webgrad/tensor';
import { Module } from '../module';
import { nonNegativeSizes, positiveSizes } from './sizes';

type PoolFn = (x: Tensor, kernelSize: number | number[], opts: PoolOptions) => Tensor;
export type MaxPoolOptions = Pick<PoolOptions, 'stride' | 'padding' | 'dilation' | 'ceilMode'>;
export type AvgPoolOptions = Pick<PoolOptions, 'stride' | 'padding' | 'ceilMode' | 'countIncludePad'>;

/** A pooling window's sizes: kernel, stride and dilation ≥ 1, padding ≥ 0. */
function checkWindow(layer: string, kernelSize: number | number[], opts: PoolOptions): void {
  positiveSizes(layer, 'kernelSize', kernelSize);
  if (opts.stride !== undefined) positiveSizes(layer, 'stride', opts.stride);
  if (opts.dilation !== undefined) positiveSizes(layer, 'dilation', opts.dilation);
  if (opts.padding !== undefined) nonNegativeSizes(layer, 'padding', opts.padding);
}

abstract class PoolNd extends Module {
  constructor(
    private readonly _fn: PoolFn,
    readonly kernelSize: number | number[],
    readonly options: PoolOptions,
  ) {
    super();
    checkWindow(this.constructor.name, kernelSize, options);
  }
  forward(x: Tensor): Tensor {
    return this._fn(x, this.kernelSize, this.options);
  }
  override extraRepr(): string {
    const extra = Object.entries(this.options)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v}]` : v}`);
    return [`kernelSize=${Array.isArray(this.kernelSize) ? `[${this.kernelSize}]` : this.kernelSize}`, ...extra].join(', ');
  }
}

export class MaxPool1d extends PoolNd {
  constructor(kernelSize: number | number[], opts: MaxPoolOptions = {}) {
    super(maxPool1d, kernelSize, opts);
  }
}
export class MaxPool2d extends PoolNd {
  constructor(kernelSize: number | number[], opts: MaxPoolOptions = {}) {
    super(maxPool2d, kernelSize, opts);
  }
}
export class MaxPool3d extends PoolNd {
  constructor(kernelSize: number | number[], opts: MaxPoolOptions = {}) {
    super(maxPool3d, kernelSize, opts);
  }
}
export class AvgPool1d extends PoolNd {
  constructor(kernelSize: number | number[], opts: AvgPoolOptions = {}) {
    super(avgPool1d, kernelSize, opts);
  }
}
export class AvgPool2d extends PoolNd {
  constructor(kernelSize: number | number[], opts: AvgPoolOptions = {}) {
    super(avgPool2d, kernelSize, opts);
  }
}
export class AvgPool3d extends PoolNd {
  constructor(kernelSize: number | number[], opts: AvgPoolOptions = {}) {
    super(avgPool3d, kernelSize, opts);
  }
}

/** Average pooling to a fixed output size (1 gives global average pooling). */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: number | [number | null, number | null]) {
    super();
    // null keeps that dim's input size.
    const sizes = Array.isArray(outputSize) ? outputSize.filter((s) => s !== null) : outputSize;
    if (Array.isArray(outputSize) && outputSize.length !== 2) throw new Error(`AdaptiveAvgPool2d: outputSize must be a number or [h, w], got [${outputSize.join(', ')}]`);
    positiveSizes('AdaptiveAvgPool2d', 'outputSize', sizes);
  }
  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
  override extraRepr(): string {
    return `outputSize=${Array.isArray(this.outputSize) ? `[${this.outputSize}]` : this.outputSize}`;
  }
}

/**
 * A user-defined pooling: `reduce` gets every window as [N, C, kh·kw, L] and
 * reduces dim 2, e.g. `new Pool2d(2, (w) => w.max(2))`, or a mean of the two largest values.
 */
export class Pool2d extends Module {
  constructor(
    readonly kernelSize: number | number[],
    private readonly _reduce: (windows: Tensor) => Tensor,
    readonly options: { stride?: number | number[]; padding?: number | number[] } = {},
    readonly name = 'custom',
  ) {
    super();
    checkWindow('Pool2d', kernelSize, options);
  }
  forward(x: Tensor): Tensor {
    return pool2d(x, this.kernelSize, this._reduce, this.options);
  }
  override extraRepr(): string {
    return `kernelSize=${this.kernelSize}, reduce=${this.name}`;
  }
}
