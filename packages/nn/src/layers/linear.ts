import { type Tensor, linear } from '@webgrad/tensor';
import { Module } from '../module';
import { type Parameter, zerosParameter } from '../parameter';
import { defaultLayerInit_ } from '../init';

/** y = x·Wᵀ + b with W [outFeatures, inFeatures] and PyTorch's default initialisation. */
export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: { bias?: boolean } = {},
  ) {
    super();
    for (const [what, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`Linear: ${what} must be a positive integer, got ${v}`);
    }
    this.weight = zerosParameter([outFeatures, inFeatures]);
    this.bias = opts.bias === false ? null : zerosParameter([outFeatures]);
    this.resetParameters();
  }

  resetParameters(): void {
    defaultLayerInit_(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}${this.bias ? '' : ', bias=false'}`;
  }
}
