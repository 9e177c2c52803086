import * as nn from '@webgrad/nn';

/** A small CNN touching reflect padding, BatchNorm, pooling, dilation and Linear. */
export const smallNet = () =>
  new nn.Sequential(
    // No bias before BatchNorm: its true gradient is zero, and Adam would amplify rounding
    // noise in it into different parameters on each device.
    new nn.Conv2d(3, 4, 3, { padding: 1, paddingMode: 'reflect', bias: false }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(4, 4, 3, { dilation: 2, padding: 'same' }), new nn.ReLU(), new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(4, 3),
  );
