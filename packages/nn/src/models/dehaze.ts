import { type Tensor, relu } from '@webgrad/tensor';
import { Module } from '../module';
import { Conv2d } from '../layers/conv';
import { Sequential } from '../layers/container';
import { ReLU } from '../layers/activation';

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
 */
export class DehazeNet extends Module {
  head: Conv2d;
  body: Sequential;
  tail: Conv2d;
  readonly predict: 'residual' | 'image';

  constructor(opts: DehazeNetOptions = {}) {
    super();
    const c = opts.channels ?? 24;
    const cin = opts.inChannels ?? 3;
    this.predict = opts.predict ?? 'residual';
    this.head = new Conv2d(cin, c, 3, { padding: 1, paddingMode: 'reflect' });
    this.body = new Sequential(
      ...(opts.dilations ?? [1, 2, 5, 1]).flatMap((d) => [new Conv2d(c, c, 3, { padding: d, dilation: d, paddingMode: 'reflect' }), new ReLU()]),
    );
    this.tail = new Conv2d(c, cin, 3, { padding: 1, paddingMode: 'reflect' });
  }

  forward(x: Tensor): Tensor {
    const r = this.tail.forward(this.body.forward(relu(this.head.forward(x))));
    return this.predict === 'residual' ? x.add(r) : r;
  }
}

export const dehazeNet = (opts: DehazeNetOptions = {}) => new DehazeNet(opts);
