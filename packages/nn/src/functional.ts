/** torch.nn.functional's counterpart: the tensor package's ops that layers wrap, in one namespace. */
export {
  conv1d, conv2d, conv3d, unfold, linear, pad,
  maxPool1d, maxPool2d, maxPool3d, avgPool1d, avgPool2d, avgPool3d, adaptiveAvgPool2d, pool2d,
  batchNorm, dropout,
  relu, leakyRelu, sigmoid, tanh, softmax, logSoftmax,
  crossEntropy, nllLoss, mseLoss, l1Loss,
} from '@webgrad/tensor';
