import { Module } from '../module';
import { Conv2d } from '../layers/conv';
import { BatchNorm2d } from '../layers/norm';
import { ReLU } from '../layers/activation';
import { AvgPool2d, MaxPool2d } from '../layers/pooling';
import { Flatten, Sequential } from '../layers/container';
import { Linear } from '../layers/linear';
import { channelList, layerCount, spatialPair } from './util';

export interface SimpleCnnOptions {
  /** N in N × [Conv → BatchNorm → ReLU → Pool] (default 3). */
  blocks?: number;
  /** Channels per block; one number for all (default 32, 64, 128, ... doubling). */
  channels?: number | number[];
  kernelSize?: number;
  numClasses?: number;
  inChannels?: number;
  inputSize?: number | [number, number];
  pool?: 'max' | 'avg';
  /** Makes each block's convolution (default nn.Conv2d): e.g. a hand-written one to compare. */
  conv?: ConvFactory;
}

/** A convolution layer for simpleCnn's blocks: same padding (k − 1)/2, stride 1. */
export type ConvFactory = (inChannels: number, outChannels: number, kernelSize: number, opts: { padding: number }) => Module;

/**
 * A simple CNN: blocks × [Conv → BatchNorm → ReLU → 2×2 Pool] → Flatten → Linear.
 *
 * PyTorch twin (same state-dict keys, `model.stateDict({ names: 'pytorch' })` loads with strict=True):
 * ```python
 * nn.Sequential(*[nn.Sequential(nn.Conv2d(cin, c, k, padding=k // 2), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2))  # or AvgPool2d
 *                 for cin, c in zip([in_channels] + channels, channels)],
 *               nn.Flatten(), nn.Linear(channels[-1] * h * w, num_classes))
 * ```
 * keys `0.0.weight`, `0.1.running_mean`, `0.1.num_batches_tracked`, …, `{blocks + 1}.weight`.
 */
export function simpleCnn(opts: SimpleCnnOptions = {}): Sequential {
  const blocks = layerCount('simpleCnn', 'blocks', opts.blocks ?? 3);
  const channels = channelList('simpleCnn', opts.channels, blocks, (i) => 32 * 2 ** i);
  const k = opts.kernelSize ?? 3;
  const inChannels = opts.inChannels ?? 3;
  let [h, w] = spatialPair('simpleCnn', opts.inputSize ?? 32);
  const layers: Module[] = [];
  let cin = inChannels;
  for (let i = 0; i < blocks; i++) {
    const c = channels[i];
    // Odd kernels keep the size with padding (k − 1)/2; the pooling then halves it.
    const padding = Math.floor(k / 2);
    const conv = opts.conv ? opts.conv(cin, c, k, { padding }) : new Conv2d(cin, c, k, { padding });
    h = h + 2 * padding - k + 1;
    w = w + 2 * padding - k + 1;
    const pool = opts.pool === 'avg' ? new AvgPool2d(2) : new MaxPool2d(2);
    h = Math.floor(h / 2);
    w = Math.floor(w / 2);
    if (h < 1 || w < 1) throw new Error(`simpleCnn: the input ${spatialPair('simpleCnn', opts.inputSize ?? 32).join('×')} is too small for ${blocks} blocks`);
    layers.push(new Sequential(conv, new BatchNorm2d(c), new ReLU(), pool));
    cin = c;
  }
  return new Sequential(...layers, new Flatten(), new Linear(cin * h * w, opts.numClasses ?? 10));
}
