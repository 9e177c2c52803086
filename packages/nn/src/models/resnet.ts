import { type Tensor, relu } from '@webgrad/tensor';
import { Module } from '../module';
import { Conv2d } from '../layers/conv';
import { BatchNorm2d } from '../layers/norm';
import { AdaptiveAvgPool2d } from '../layers/pooling';
import { Sequential } from '../layers/container';
import { Linear } from '../layers/linear';
import { layerCount } from './util';

export interface BasicBlockOptions {
  stride?: number;
  /** Dilation of the two 3×3 convolutions (one rate for both, or one each); padding follows it. */
  dilation?: number | [number, number];
  /** false: the plain block, no shortcut at all (for the plain-versus-residual comparison). */
  residual?: boolean;
}

const conv3x3 = (cin: number, cout: number, stride: number, dilation: number) =>
  new Conv2d(cin, cout, 3, { stride, padding: dilation, dilation, bias: false });

/**
 * The residual block of He et al. (2016): conv → BN → ReLU → conv → BN, plus the input, then ReLU (the
 * addition comes before the final activation). When the stride or the channel count
 * changes, a 1×1 convolution with that stride (and BatchNorm) reshapes the input.
 */
export class BasicBlock extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  downsample: Sequential | null;
  readonly residual: boolean;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    opts: BasicBlockOptions = {},
  ) {
    super();
    const stride = opts.stride ?? 1;
    const [d1, d2] = typeof opts.dilation === 'number' ? [opts.dilation, opts.dilation] : opts.dilation ?? [1, 1];
    this.residual = opts.residual ?? true;
    this.conv1 = conv3x3(inChannels, outChannels, stride, d1);
    this.bn1 = new BatchNorm2d(outChannels);
    this.conv2 = conv3x3(outChannels, outChannels, 1, d2);
    this.bn2 = new BatchNorm2d(outChannels);
    this.downsample =
      this.residual && (stride !== 1 || inChannels !== outChannels)
        ? new Sequential(new Conv2d(inChannels, outChannels, 1, { stride, bias: false }), new BatchNorm2d(outChannels))
        : null;
  }

  forward(x: Tensor): Tensor {
    let y = relu(this.bn1.forward(this.conv1.forward(x)));
    y = this.bn2.forward(this.conv2.forward(y));
    if (this.residual) y = y.add(this.downsample ? this.downsample.forward(x) : x);
    return relu(y);
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}${this.residual ? '' : ', residual=false'}`;
  }
}

/**
 * A stem, stages of BasicBlocks, global average pooling and a linear classifier (torchvision's names).
 *
 * PyTorch twin: torchvision's ResNet with BasicBlock, except the CIFAR stem: `conv1` is a 3×3
 * stride-1 convolution (no bias) and there is no max pool; stage i is `layer{i+1}`, a block's
 * shortcut `downsample` = Sequential(Conv2d 1×1 stride s, no bias; BatchNorm2d). The keys
 * (`conv1.weight`, `bn1.running_mean`, `layer2.0.downsample.1.num_batches_tracked`, `fc.bias`)
 * are torchvision's; test/fixtures/onnx/make_fixtures.py spells the twin out.
 */
export class ResNet extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  layers: Sequential[];
  avgpool = new AdaptiveAvgPool2d(1);
  fc: Linear;

  constructor(inChannels: number, width: number, stages: Sequential[], outChannels: number, numClasses: number) {
    super();
    this.conv1 = conv3x3(inChannels, width, 1, 1);
    this.bn1 = new BatchNorm2d(width);
    this.layers = stages;
    this.fc = new Linear(outChannels, numClasses);
  }

  /** Stage i as torchvision names it (layer1 ... layer4). */
  override namedChildren(): [string, Module][] {
    return super.namedChildren().map(([n, m]) => [n.startsWith('layers.') ? `layer${Number(n.slice(7)) + 1}` : n, m]);
  }

  forward(x: Tensor): Tensor {
    let y = relu(this.bn1.forward(this.conv1.forward(x)));
    for (const stage of this.layers) y = stage.forward(y);
    return this.fc.forward(this.avgpool.forward(y).flatten(1));
  }
}

export interface ResNetOptions {
  numClasses?: number;
  inChannels?: number;
  /** Channels of the first stage (64 in the paper); the stages use w, 2w, 4w, 8w. */
  width?: number;
  /** Blocks per stage (ResNet-18: [2, 2, 2, 2]). */
  blocks?: number[];
}

function build(opts: ResNetOptions, residual: boolean): ResNet {
  const w = opts.width ?? 64;
  const blocks = opts.blocks ?? [2, 2, 2, 2];
  if (!Array.isArray(blocks) || blocks.length === 0) throw new Error(`resnet: blocks must list the blocks of each stage, e.g. [2, 2, 2, 2], got ${JSON.stringify(blocks)}`);
  blocks.forEach((n, i) => layerCount('resnet', `blocks[${i}]`, n));
  const stages: Sequential[] = [];
  let cin = w;
  blocks.forEach((n, i) => {
    const cout = w * 2 ** i;
    const stage = new Sequential();
    for (let b = 0; b < n; b++) {
      stage.append(new BasicBlock(b === 0 ? cin : cout, cout, { stride: b === 0 && i > 0 ? 2 : 1, residual }));
    }
    stages.push(stage);
    cin = cout;
  });
  return new ResNet(opts.inChannels ?? 3, w, stages, cin, opts.numClasses ?? 10);
}

/**
 * ResNet-18 for 32×32 inputs: 3×3 conv w, then 2 blocks each of w (32×32),
 * 2w /2 (16×16), 4w /2 (8×8), 8w /2 (4×4), average pool, fc. 11,173,962 parameters at
 * w = 64 and 10 classes.
 */
export const resnet18 = (opts: ResNetOptions = {}) => build(opts, true);

/** The same 18 layers without any shortcut: the plain network of the comparison (PyTorch twin: ResNet's with the `+ identity` and `downsample` removed). */
export const plainNet18 = (opts: ResNetOptions = {}) => build(opts, false);

export interface DilatedResNetOptions extends Omit<ResNetOptions, 'blocks'> {
  /** Dilations of the dilated stage's convolutions, two per block (default [1, 2, 5, 1, 2, 5], HDC's sawtooth). */
  dilations?: number[];
}

/**
 * Residual + dilated: stem, a w stage at full size, a 2w stage /2, then
 * residual blocks at 2w whose convolutions follow the dilation rates (padding = rate keeps
 * the size), so the receptive field grows without further downsampling. PyTorch twin: the
 * ResNet twin with stages layer1 = [BasicBlock(w, w)], layer2 = [BasicBlock(w, 2w, stride 2)],
 * layer3 = one block per pair of rates, whose 3×3 convolutions take `padding=d, dilation=d`.
 */
export function dilatedResNet(opts: DilatedResNetOptions = {}): ResNet {
  const w = opts.width ?? 64;
  const rates = opts.dilations ?? [1, 2, 5, 1, 2, 5];
  if (rates.length === 0 || rates.length % 2) throw new Error(`dilatedResNet: dilations must come in pairs (two convolutions per block), got [${rates}]`);
  const dilatedStage = new Sequential();
  for (let i = 0; i < rates.length; i += 2) dilatedStage.append(new BasicBlock(2 * w, 2 * w, { dilation: [rates[i], rates[i + 1]] }));
  const stages = [new Sequential(new BasicBlock(w, w)), new Sequential(new BasicBlock(w, 2 * w, { stride: 2 })), dilatedStage];
  return new ResNet(opts.inChannels ?? 3, w, stages, 2 * w, opts.numClasses ?? 10);
}
