/** torch.nn.functional's counterpart: the tensor package's ops that layers wrap, in one namespace. */
import { type Tensor, gelu as geluExact, geluTanh } from '@webgrad/tensor';

export {
  conv1d, conv2d, conv3d, unfold, linear, pad,
  maxPool1d, maxPool2d, maxPool3d, avgPool1d, avgPool2d, avgPool3d, adaptiveAvgPool2d, pool2d,
  batchNorm, dropout,
  relu, leakyRelu, sigmoid, tanh, silu, softplus, elu, hardtanh, softmax, logSoftmax,
  crossEntropy, nllLoss, mseLoss, l1Loss,
} from '@webgrad/tensor';

/** x · Φ(x), or PyTorch's tanh approximation with approximate: 'tanh'. */
export function gelu(x: Tensor, opts: { approximate?: 'none' | 'tanh' } = {}): Tensor {
  const approximate = opts.approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') throw new Error(`gelu: approximate must be 'none' or 'tanh', got '${approximate}'`);
  return approximate === 'tanh' ? geluTanh(x) : geluExact(x);
}
