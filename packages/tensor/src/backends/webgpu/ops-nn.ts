/** Pooling, batch norm, softmax and the fused optimizer steps. */
import {
  adamKernel, avgPoolBackwardKernel, avgPoolKernel, batchNormApplyKernel, batchNormBackwardApplyKernel, batchNormBackwardReduceKernel, batchNormStatsKernel,
  maxPoolBackwardKernel, maxPoolBackwardScatterKernel, maxPoolKernel, poolWindowsDisjoint, sgdKernel, softmaxKernel,
} from '@webgrad/kernels-wgsl';
import type { Backend, PoolParams } from '../../backend';
import { requireFloat32, type Context } from './context';

type NnMethods = Pick<Backend, 'maxPool' | 'maxPoolBackward' | 'avgPool' | 'avgPoolBackward' | 'batchNorm' | 'batchNormBackward' | 'softmax' | 'sgdStep' | 'adamStep'>;

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

function avgOnly(op: string, p: PoolParams): void {
  if (p.dilation.some((d) => d !== 1)) throw new Error(`${op}: dilation [${p.dilation}] is not supported (average pooling takes dilation 1)`);
}

export function nnMethods(ctx: Context): NnMethods {
  const q = ctx.queue;
  return {
    maxPool(x, p, dtype) {
      requireFloat32('maxPool', dtype);
      const n = p.planes * prod(p.outSize);
      const out = ctx.alloc(n, 'maxPool'), argmax = ctx.alloc(n, 'maxPool');
      q.run(maxPoolKernel(p), [ctx.buf(x, 'maxPool'), out.buffer, argmax.buffer]);
      return { out, argmax };
    },
    maxPoolBackward(gy, argmax, p, dtype) {
      requireFloat32('maxPoolBackward', dtype);
      const n = p.planes * prod(p.inSize);
      const gx = ctx.alloc(n, 'maxPoolBackward');
      const buffers = [ctx.buf(gy, 'maxPoolBackward'), ctx.buf(argmax, 'maxPoolBackward'), gx.buffer];
      if (poolWindowsDisjoint(p)) {
        q.clear(gx.buffer, n * 4);
        q.run(maxPoolBackwardScatterKernel(p), buffers);
      } else {
        q.run(maxPoolBackwardKernel(p), buffers);
      }
      return gx;
    },
    avgPool(x, p, dtype) {
      requireFloat32('avgPool', dtype);
      avgOnly('avgPool', p);
      const out = ctx.alloc(p.planes * prod(p.outSize), 'avgPool');
      q.run(avgPoolKernel(p), [ctx.buf(x, 'avgPool'), out.buffer]);
      return out;
    },
    avgPoolBackward(gy, p, dtype) {
      requireFloat32('avgPoolBackward', dtype);
      avgOnly('avgPoolBackward', p);
      const gx = ctx.alloc(p.planes * prod(p.inSize), 'avgPoolBackward');
      q.run(avgPoolBackwardKernel(p), [ctx.buf(gy, 'avgPoolBackward'), gx.buffer]);
      return gx;
    },
    batchNorm(x, weight, bias, p, dtype) {
      requireFloat32('batchNorm', dtype);
      const what = 'batchNorm';
      const mean = ctx.alloc(p.c, what), invstd = ctx.alloc(p.c, what), y = ctx.alloc(p.n * p.c * p.s, what);
      const xb = ctx.buf(x, what);
      q.run(batchNormStatsKernel(p, p.eps), [xb, mean.buffer, invstd.buffer]);
      const buffers = [xb, mean.buffer, invstd.buffer];
      if (weight) buffers.push(ctx.buf(weight, what));
      if (bias) buffers.push(ctx.buf(bias, what));
      buffers.push(y.buffer);
      q.run(batchNormApplyKernel(p, weight !== null, bias !== null), buffers);
      return { y, mean, invstd };
    },
    batchNormBackward(gy, x, mean, invstd, weight, p, dtype) {
      requireFloat32('batchNormBackward', dtype);
      const what = 'batchNormBackward';
      const gbias = ctx.alloc(p.c, what), gweight = ctx.alloc(p.c, what), gx = ctx.alloc(p.n * p.c * p.s, what);
      const inputs = [ctx.buf(gy, what), ctx.buf(x, what), ctx.buf(mean, what), ctx.buf(invstd, what)];
      q.run(batchNormBackwardReduceKernel(p), [...inputs, gbias.buffer, gweight.buffer]);
      const buffers = [...inputs, gbias.buffer, gweight.buffer];
      if (weight) buffers.push(ctx.buf(weight, what));
      buffers.push(gx.buffer);
      q.run(batchNormBackwardApplyKernel(p, weight !== null), buffers);
      return { gx, gweight, gbias };
    },
    softmax(x, rows, cols, log, dtype) {
      requireFloat32('softmax', dtype);
      const out = ctx.alloc(rows * cols, 'softmax');
      q.run(softmaxKernel(rows, cols, log), [ctx.buf(x, 'softmax'), out.buffer]);
      return out;
    },
    sgdStep(param, grad, momentumBuf, size, p) {
      const buffers = [ctx.buf(param, 'sgdStep'), ctx.buf(grad, 'sgdStep')];
      if (momentumBuf) buffers.push(ctx.buf(momentumBuf, 'sgdStep'));
      q.run(sgdKernel(size, p, buffers.length === 3), buffers);
    },
    adamStep(param, grad, m, v, size, p) {
      q.run(adamKernel(size, p), [ctx.buf(param, 'adamStep'), ctx.buf(grad, 'adamStep'), ctx.buf(m, 'adamStep'), ctx.buf(v, 'adamStep')]);
    },
  };
}
