import { Module } from '../module';
import { ReLU, Sigmoid, Tanh } from '../layers/activation';
import { Dropout } from '../layers/dropout';
import { Flatten, Sequential } from '../layers/container';
import { Linear } from '../layers/linear';

export interface MlpOptions {
  /** Layer widths from input to output, e.g. [3072, 512, 256, 10]. */
  sizes: number[];
  activation?: 'relu' | 'sigmoid' | 'tanh';
  /** Dropout after each hidden activation (default 0: none). */
  dropout?: number;
}

/**
 * The feed-forward comparison model: Flatten, then Linear → activation per hidden layer.
 * PyTorch twin: nn.Sequential(nn.Flatten(), nn.Linear(s0, s1), nn.ReLU(), [nn.Dropout(p),] …, nn.Linear(s[-2], s[-1])), keys by position.
 */
export function mlp(opts: MlpOptions): Sequential {
  const { sizes } = opts;
  if (sizes.length < 2) throw new Error(`mlp: sizes needs at least an input and an output size, got [${sizes}]`);
  const act = { relu: ReLU, sigmoid: Sigmoid, tanh: Tanh }[opts.activation ?? 'relu'];
  const layers: Module[] = [new Flatten()];
  for (let i = 0; i < sizes.length - 1; i++) {
    layers.push(new Linear(sizes[i], sizes[i + 1]));
    if (i < sizes.length - 2) {
      layers.push(new act());
      if (opts.dropout) layers.push(new Dropout(opts.dropout));
    }
  }
  return new Sequential(...layers);
}
