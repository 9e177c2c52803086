import { Module } from '../module';
import { Conv2d } from '../layers/conv';
import { ReLU } from '../layers/activation';
import { MaxPool2d } from '../layers/pooling';
import { Dropout } from '../layers/dropout';
import { Flatten, Sequential } from '../layers/container';
import { Linear } from '../layers/linear';
import { convOutputSize } from '../hdc';
import { spatialPair } from './util';

export interface AlexNetOptions {
  numClasses?: number;
  /** Square input size (227 for the original). */
  inputSize?: number;
  /** Scales every channel count and the hidden fc size (1 = the original's). */
  width?: number;
  inChannels?: number;
  dropout?: number;
  /**
   * 'original': 11×11 stride 4 first, 3×3/2 max pools (Krizhevsky et al. 2012).
   * 'small': 3×3 stride 1 first and 2×2/2 pools, for small images such as CIFAR's 32×32.
   * Default: original from 127 pixels up.
   */
  variant?: 'original' | 'small';
}

/**
 * AlexNet as Krizhevsky et al. (2012) describe it, without the two-GPU grouping: 62,378,344
 * parameters at 227×227 and 1000 classes (the usual "≈ 60 M").
 *
 * PyTorch twin: one flat nn.Sequential of the same layers in the same order (Conv2d, ReLU,
 * MaxPool2d, …, Flatten, Dropout, Linear, ReLU, Dropout, Linear, ReLU, Linear), so the keys
 * are `0.weight`, `3.weight`, …, `15.bias`, `18.weight`, `20.bias` by position.
 */
export function alexnet(opts: AlexNetOptions = {}): Sequential {
  const size = opts.inputSize ?? 227;
  spatialPair('alexnet', size);
  const variant = opts.variant ?? (size >= 127 ? 'original' : 'small');
  const width = opts.width ?? 1;
  const ch = (c: number) => Math.max(1, Math.round(c * width));
  const [c1, c2, c3, c4, c5, hidden] = [96, 256, 384, 384, 256, 4096].map(ch);
  const original = variant === 'original';
  const poolK = original ? 3 : 2;
  let s = size;
  const conv = (cin: number, cout: number, k: number, stride: number, padding: number) => {
    s = convOutputSize(s, k, padding, stride);
    return new Conv2d(cin, cout, k, { stride, padding });
  };
  const pool = () => {
    s = convOutputSize(s, poolK, 0, 2);
    return new MaxPool2d(poolK, { stride: 2 });
  };
  const layers: Module[] = [
    original ? conv(opts.inChannels ?? 3, c1, 11, 4, 0) : conv(opts.inChannels ?? 3, c1, 3, 1, 1),
    new ReLU(),
    pool(),
    conv(c1, c2, 5, 1, 2),
    new ReLU(),
    pool(),
    conv(c2, c3, 3, 1, 1),
    new ReLU(),
    conv(c3, c4, 3, 1, 1),
    new ReLU(),
    conv(c4, c5, 3, 1, 1),
    new ReLU(),
    pool(),
  ];
  if (s < 1) throw new Error(`alexnet: input ${size}×${size} is too small for the ${variant} variant`);
  const p = opts.dropout ?? 0.5;
  return new Sequential(
    ...layers,
    new Flatten(),
    new Dropout(p),
    new Linear(c5 * s * s, hidden),
    new ReLU(),
    new Dropout(p),
    new Linear(hidden, hidden),
    new ReLU(),
    new Linear(hidden, opts.numClasses ?? 1000),
  );
}
