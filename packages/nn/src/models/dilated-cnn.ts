import { Module } from '../module';
import { Conv2d } from '../layers/conv';
import { BatchNorm2d } from '../layers/norm';
import { ReLU } from '../layers/activation';
import { AdaptiveAvgPool2d } from '../layers/pooling';
import { Flatten, Sequential } from '../layers/container';
import { Linear } from '../layers/linear';
import { convOutputSize } from '../hdc';
import { channelList, spatialPair } from './util';

export interface DilatedCnnOptions {
  /** One unpadded convolution per rate (default [1, 2, 5]; all 1 gives the ordinary model). */
  dilations?: number[];
  kernelSize?: number;
  /** Channels per layer; one number for all (default 32, 64, 128, ... doubling). */
  channels?: number | number[];
  numClasses?: number;
  inChannels?: number;
  inputSize?: number;
  /** BatchNorm after each convolution (default true). */
  batchNorm?: boolean;
}

/** The spatial size after each layer, e.g. 32 → 30 → 26 → 16 for [1, 2, 5] with k = 3. */
export function dilatedCnnSizes(inputSize: number, dilations: readonly number[], kernelSize = 3): number[] {
  const sizes = [inputSize];
  for (const d of dilations) sizes.push(convOutputSize(sizes[sizes.length - 1], kernelSize, 0, 1, d));
  return sizes;
}

/**
 * A dilated CNN: [Conv(dilation d, no padding) → BatchNorm → ReLU] per rate → pool to 1×1 → Linear.
 *
 * PyTorch twin (same state-dict keys):
 * ```python
 * nn.Sequential(*[m for cin, c, d in zip([in_channels] + channels, channels, dilations)
 *                 for m in (nn.Conv2d(cin, c, k, dilation=d), nn.BatchNorm2d(c), nn.ReLU())],
 *               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels[-1], num_classes))
 * ```
 * (without BatchNorm2d when batchNorm is false).
 */
export function dilatedCnn(opts: DilatedCnnOptions = {}): Sequential {
  const dilations = opts.dilations ?? [1, 2, 5];
  const k = opts.kernelSize ?? 3;
  const channels = channelList('dilatedCnn', opts.channels, dilations.length, (i) => 32 * 2 ** i);
  spatialPair('dilatedCnn', opts.inputSize ?? 32);
  const sizes = dilatedCnnSizes(opts.inputSize ?? 32, dilations, k);
  if (sizes.some((s) => s < 1)) throw new Error(`dilatedCnn: the input shrinks below 1×1: ${sizes.join(' → ')}`);
  const layers: Module[] = [];
  let cin = opts.inChannels ?? 3;
  dilations.forEach((d, i) => {
    layers.push(new Conv2d(cin, channels[i], k, { dilation: d }));
    if (opts.batchNorm ?? true) layers.push(new BatchNorm2d(channels[i]));
    layers.push(new ReLU());
    cin = channels[i];
  });
  return new Sequential(...layers, new AdaptiveAvgPool2d(1), new Flatten(), new Linear(cin, opts.numClasses ?? 10));
}
