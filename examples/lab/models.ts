/**
 * The lab's own teaching models (they belong to the lab, not to the library):
 * - LAB.md §1: convolution written by hand, as a student would: a loop over output
 *   positions, each a small tensor product. Deliberately naive (hundreds of tiny ops per
 *   image, each with its autograd node) so that the lab and `npm run bench` can set loops
 *   against kernels.
 * - LAB.md §5: the dehazing network.
 */
import { type Tensor, convOutputLength, pad, relu, stack } from '@webgrad/tensor';
import * as nn from '@webgrad/nn';

/** 2-D cross-correlation of X [H, W] with K [kh, kw], stride 1, no padding: [H − kh + 1, W − kw + 1]. */
export function corr2d(X: Tensor, K: Tensor): Tensor {
  if (X.rank !== 2 || K.rank !== 2) throw new Error(`corr2d: X and K must be 2-D, got [${X.shape}] and [${K.shape}]`);
  const [h, w] = X.shape;
  const [kh, kw] = K.shape;
  const oh = h - kh + 1;
  const ow = w - kw + 1;
  if (oh < 1 || ow < 1) throw new Error(`corr2d: kernel [${K.shape}] is larger than the input [${X.shape}]`);
  const values: Tensor[] = [];
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) values.push(X.slice([i, j], [kh, kw]).mul(K).sum());
  }
  return stack(values).reshape([oh, ow]);
}

/** LAB.md §1.2: a layer around corr2d for one channel in and out: a kernel and a scalar bias. */
export class MyCorr2d extends nn.Module {
  weight: nn.Parameter;
  bias: nn.Parameter;
  constructor(readonly kernelSize: [number, number]) {
    super();
    this.weight = nn.zerosParameter(kernelSize);
    this.bias = nn.zerosParameter([1]);
    // PyTorch's default for a 1-in, 1-out convolution: U(±1/√fanIn) for both.
    const bound = 1 / Math.sqrt(kernelSize[0] * kernelSize[1]);
    nn.init.uniform_(this.weight, -bound, bound);
    nn.init.uniform_(this.bias, -bound, bound);
  }
  forward(x: Tensor): Tensor {
    return corr2d(x, this.weight).add(this.bias);
  }
}

export interface MyConv2dOptions {
  stride?: number;
  padding?: number;
  bias?: boolean;
}

/**
 * LAB.md §1.6: multi-channel convolution by hand. Input [N, Cin, H, W], weight
 * [Cout, Cin, kh, kw]: for every output position, the window times every kernel, summed.
 */
export class MyConv2d extends nn.Module {
  weight: nn.Parameter;
  bias: nn.Parameter | null;
  readonly kernelSize: [number, number];
  readonly stride: number;
  readonly padding: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number | [number, number],
    opts: MyConv2dOptions = {},
  ) {
    super();
    this.kernelSize = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize;
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    this.weight = nn.zerosParameter([outChannels, inChannels, ...this.kernelSize]);
    this.bias = opts.bias === false ? null : nn.zerosParameter([outChannels]);
    nn.init.defaultLayerInit_(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels) {
      throw new Error(`MyConv2d: expected input [N, ${this.inChannels}, H, W], got [${x.shape}]`);
    }
    const [kh, kw] = this.kernelSize;
    const s = this.stride;
    const p = this.padding;
    const input = p > 0 ? pad(x, [p, p, p, p]) : x;
    const [n, cin, h, w] = input.shape;
    const oh = convOutputLength(h, kh, 0, 0, s, 1);
    const ow = convOutputLength(w, kw, 0, 0, s, 1);
    const kernels = this.weight.reshape([1, this.outChannels, cin * kh * kw]);
    const columns: Tensor[] = [];
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const window = input.slice([0, 0, i * s, j * s], [n, cin, kh, kw]).reshape([n, 1, cin * kh * kw]);
        columns.push(window.mul(kernels).sum(2)); // [N, Cout]
      }
    }
    const y = stack(columns, 2).reshape([n, this.outChannels, oh, ow]);
    return this.bias ? y.add(this.bias.reshape([1, this.outChannels, 1, 1])) : y;
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], stride=${this.stride}, padding=${this.padding}`;
  }
}

export interface DehazeNetOptions {
  /** Feature channels inside the network (default 24). */
  channels?: number;
  /** One 3×3 convolution + ReLU per rate; dilation widens the context cheaply (default [1, 2, 5, 1]). */
  dilations?: number[];
  inChannels?: number;
  /** 'residual': predict the haze residual and add it to the input (default); 'image': predict the clear image. */
  predict?: 'residual' | 'image';
}

/**
 * A small fully convolutional image-to-image network for LAB.md §5's dehazing: any input
 * size, output the same size as the input. Reflect padding keeps borders free of the dark
 * frame that zero padding would teach.
 *
 * PyTorch twin (same state-dict keys: `head.weight`, `body.0.weight`, `body.2.bias`, …, `tail.bias`):
 * ```python
 * class DehazeNet(nn.Module):
 *     def __init__(self, c=24, dilations=(1, 2, 5, 1), cin=3):
 *         super().__init__()
 *         self.head = nn.Conv2d(cin, c, 3, padding=1, padding_mode='reflect')
 *         self.body = nn.Sequential(*[m for d in dilations for m in (nn.Conv2d(c, c, 3, padding=d, dilation=d, padding_mode='reflect'), nn.ReLU())])
 *         self.tail = nn.Conv2d(c, cin, 3, padding=1, padding_mode='reflect')
 *     def forward(self, x):
 *         return x + self.tail(self.body(torch.relu(self.head(x))))  # 'image' mode: without x +
 * ```
 */
export class DehazeNet extends nn.Module {
  head: nn.Conv2d;
  body: nn.Sequential;
  tail: nn.Conv2d;
  readonly predict: 'residual' | 'image';

  constructor(opts: DehazeNetOptions = {}) {
    super();
    const c = opts.channels ?? 24;
    const cin = opts.inChannels ?? 3;
    this.predict = opts.predict ?? 'residual';
    this.head = new nn.Conv2d(cin, c, 3, { padding: 1, paddingMode: 'reflect' });
    this.body = new nn.Sequential(
      ...(opts.dilations ?? [1, 2, 5, 1]).flatMap((d) => [new nn.Conv2d(c, c, 3, { padding: d, dilation: d, paddingMode: 'reflect' }), new nn.ReLU()]),
    );
    this.tail = new nn.Conv2d(c, cin, 3, { padding: 1, paddingMode: 'reflect' });
  }

  forward(x: Tensor): Tensor {
    const r = this.tail.forward(this.body.forward(relu(this.head.forward(x))));
    return this.predict === 'residual' ? x.add(r) : r;
  }
}

export const dehazeNet = (opts: DehazeNetOptions = {}) => new DehazeNet(opts);
