import { type PaddingMode, type Tensor, conv1d, conv2d, conv3d } from '@webgrad/tensor';
import { Module } from '../module';
import { Parameter, zerosParameter } from '../parameter';
import { defaultLayerInit_ } from '../init';
import { nonNegativeSizes, positiveSizes } from './sizes';

export interface ConvLayerOptions {
  stride?: number | number[];
  /** A number, one per spatial dim, 'same' (stride 1 only) or 'valid' (no padding). */
  padding?: number | number[] | 'same' | 'valid';
  dilation?: number | number[];
  groups?: number;
  /** Default true. */
  bias?: boolean;
  /** How padded positions are filled: zeros (default), reflect, replicate or circular. */
  paddingMode?: PaddingMode;
}

const PADDING_MODES: PaddingMode[] = ['zeros', 'reflect', 'replicate', 'circular'];
const convFns = [conv1d, conv2d, conv3d];

function perDim(name: string, what: string, v: number | number[], nd: number): number[] {
  if (typeof v !== 'number' && !Array.isArray(v)) throw new Error(`${name}: ${what} must be a number or an array of numbers, got ${JSON.stringify(v)}`);
  const out = typeof v === 'number' ? new Array<number>(nd).fill(v) : v.length === 1 ? new Array<number>(nd).fill(v[0]) : [...v];
  if (out.length !== nd) throw new Error(`${name}: ${what} has ${out.length} values [${out}] but the layer has ${nd} spatial dims`);
  return out;
}

/** Conv1d/2d/3d: nn.ConvNd with PyTorch's options, weight [out, in/groups, ...kernel] and default init. */
export abstract class ConvNd extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[] | 'same' | 'valid';
  readonly dilation: number[];
  readonly groups: number;
  readonly paddingMode: PaddingMode;

  constructor(
    private readonly nd: 1 | 2 | 3,
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number | number[],
    opts: ConvLayerOptions = {},
  ) {
    super();
    const name = `Conv${nd}d`;
    this.kernelSize = perDim(name, 'kernelSize', kernelSize, nd);
    this.stride = perDim(name, 'stride', opts.stride ?? 1, nd);
    this.dilation = perDim(name, 'dilation', opts.dilation ?? 1, nd);
    const padding = opts.padding ?? 0;
    this.padding = typeof padding === 'string' ? padding : perDim(name, 'padding', padding, nd);
    this.groups = opts.groups ?? 1;
    this.paddingMode = opts.paddingMode ?? 'zeros';
    positiveSizes(name, 'kernelSize', this.kernelSize);
    positiveSizes(name, 'stride', this.stride);
    positiveSizes(name, 'dilation', this.dilation);
    if (typeof this.padding !== 'string') nonNegativeSizes(name, 'padding', this.padding);
    for (const [what, v] of [['inChannels', inChannels], ['outChannels', outChannels], ['groups', this.groups]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: ${what} must be a positive integer, got ${v}`);
    }
    if (inChannels % this.groups) throw new Error(`${name}: inChannels (${inChannels}) must be divisible by groups (${this.groups})`);
    if (outChannels % this.groups) throw new Error(`${name}: outChannels (${outChannels}) must be divisible by groups (${this.groups})`);
    if (!PADDING_MODES.includes(this.paddingMode)) throw new Error(`${name}: paddingMode must be one of ${PADDING_MODES.join(', ')}, got '${this.paddingMode}'`);
    if (typeof padding === 'string' && padding !== 'same' && padding !== 'valid') throw new Error(`${name}: padding must be a number, an array, 'same' or 'valid', got '${padding}'`);
    if (padding === 'same' && this.stride.some((s) => s !== 1)) throw new Error(`${name}: padding 'same' is not supported for strided convolutions (stride [${this.stride}])`);
    this.weight = zerosParameter([outChannels, inChannels / this.groups, ...this.kernelSize]);
    this.bias = opts.bias === false ? null : zerosParameter([outChannels]);
    this.resetParameters();
  }

  /** PyTorch's default: kaiming_uniform(a = √5) weights, bias U(±1/√fanIn). */
  resetParameters(): void {
    defaultLayerInit_(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    const { stride, padding, dilation, groups, paddingMode } = this;
    return convFns[this.nd - 1](x, this.weight, this.bias, { stride, padding, dilation, groups, paddingMode });
  }

  override extraRepr(): string {
    const parts = [`${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}]`, `stride=[${this.stride}]`];
    if (typeof this.padding === 'string') parts.push(`padding='${this.padding}'`);
    else if (this.padding.some((p) => p !== 0)) parts.push(`padding=[${this.padding}]`);
    if (this.dilation.some((d) => d !== 1)) parts.push(`dilation=[${this.dilation}]`);
    if (this.groups !== 1) parts.push(`groups=${this.groups}`);
    if (!this.bias) parts.push('bias=false');
    if (this.paddingMode !== 'zeros') parts.push(`paddingMode='${this.paddingMode}'`);
    return parts.join(', ');
  }
}

export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], opts: ConvLayerOptions = {}) {
    super(1, inChannels, outChannels, kernelSize, opts);
  }
}

export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], opts: ConvLayerOptions = {}) {
    super(2, inChannels, outChannels, kernelSize, opts);
  }
}

export class Conv3d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], opts: ConvLayerOptions = {}) {
    super(3, inChannels, outChannels, kernelSize, opts);
  }
}
