/** Cross-entropy: the forward in one dispatch (the mean or sum included) up to a size, the backward in one. */
import { crossEntropyBackwardKernel, crossEntropyKernel, crossEntropyMode, crossEntropyTotalKernel } from '@webgrad/kernels-wgsl';
import type { Backend } from '../../backend';
import { requireFloat32, type Context } from './context';
import { bindsWhole, forParts } from './split';

type LossMethods = Pick<Backend, 'crossEntropy' | 'crossEntropyBackward'>;

export function lossMethods(ctx: Context): LossMethods {
  const q = ctx.queue;
  return {
    crossEntropy(x, target, rows, cols, p, dtype) {
      const what = 'crossEntropy';
      requireFloat32(what, dtype);
      const none = p.reduction === 'none';
      const loss = ctx.alloc(none ? rows : 1, what), lse = ctx.alloc(rows, what);
      const xb = ctx.buf(x, what), tb = ctx.buf(target, what);
      const mode = crossEntropyMode(rows, cols);
      if (mode === 'group' && bindsWhole(ctx, [xb, tb, lse.buffer, loss.buffer])) {
        q.run(crossEntropyKernel(rows, cols, p, 'group'), [xb, tb, lse.buffer, loss.buffer]);
        return { loss, lse };
      }
      // Large: the row losses, split as the binding limit asks, then the total.
      const rowMode = mode === 'group' ? 'rows' : mode;
      const rowLoss = none ? loss.buffer : q.storageBuffer(Math.max(rows, 1) * 4, `${what} (row losses)`);
      forParts(ctx, what, rows, [{ buffer: xb, rowElems: cols }, { buffer: tb, rowElems: 1 },
        { buffer: lse.buffer, rowElems: 1, written: 'out' }, { buffer: rowLoss, rowElems: 1, written: 'out' }],
      (_, n, bind) => q.run(crossEntropyKernel(n, cols, p, rowMode), bind));
      if (!none) {
        q.run(crossEntropyTotalKernel(rows, p), [rowLoss, loss.buffer]);
        q.releaseBuffer(rowLoss);
      }
      return { loss, lse };
    },
    crossEntropyBackward(g, x, lse, target, rows, cols, p, dtype) {
      const what = 'crossEntropyBackward';
      requireFloat32(what, dtype);
      const gx = ctx.alloc(rows * cols, what);
      forParts(ctx, what, rows, [{ buffer: ctx.buf(g, what), rowElems: p.reduction === 'none' ? 1 : null }, { buffer: ctx.buf(x, what), rowElems: cols },
        { buffer: ctx.buf(lse, what), rowElems: 1 }, { buffer: ctx.buf(target, what), rowElems: 1 }, { buffer: gx.buffer, rowElems: cols, written: 'out' }],
      (_, n, bind) => q.run(crossEntropyBackwardKernel(n, cols, p, rows), bind));
      return gx;
    },
  };
}
