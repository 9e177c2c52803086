/** Pooling, batch norm, softmax and the fused optimizer steps. */
import {
  adamKernel, avgPoolBackwardKernel, batchNormRunningStatsKernel, avgPoolKernel, batchNormApplyKernel, batchNormBackwardApplyKernel, batchNormCombineKernel, batchNormBackwardReduceKernel, batchNormStatsKernel,
  maxPoolBackwardKernel, maxPoolBackwardScatterKernel, maxPoolKernel, poolWindowsDisjoint, sgdKernel, softmaxKernel,
} from '@webgrad/kernels-wgsl';
import type { Backend, PoolParams } from '../../backend';
import { requireFloat32, type Context } from './context';
import { Packer } from './pack';
import type { Binding } from './queue';
import { Accumulator, bindsWhole, forParts, type Operand } from './split';
import { sizeOf } from '../../shape';

type NnMethods = Pick<Backend, 'maxPool' | 'maxPoolBackward' | 'avgPool' | 'avgPoolBackward' | 'batchNorm' | 'batchNormBackward' | 'batchNormRunningStats' | 'softmax' | 'sgdStep' | 'adamStep' | 'sgdSteps' | 'adamSteps'>;

function avgOnly(op: string, p: PoolParams): void {
  if (p.dilation.some((d) => d !== 1)) throw new Error(`${op}: dilation [${p.dilation}] is not supported (average pooling takes dilation 1)`);
}

export function nnMethods(ctx: Context): NnMethods {
  const q = ctx.queue;
  /** Pooling ops split by planes; `part` gets the params of its planes. */
  const byPlanes = (what: string, p: PoolParams, operands: Operand[], part: (pp: PoolParams, bind: Binding[]) => void) =>
    forParts(ctx, what, p.planes, operands, (_, n, bind) => part(n === p.planes ? p : { ...p, planes: n }, bind));
  /** Elementwise ops over `size` values of every operand, split by element ranges. */
  const byElements = (what: string, size: number, buffers: Binding[], written: Operand['written'][], part: (n: number, bind: Binding[]) => void) =>
    forParts(ctx, what, size, buffers.map((buffer, i) => ({ buffer, rowElems: 1, written: written[i] })), (_, n, bind) => part(n, bind));

  const packer = new Packer(ctx);

  return {
    maxPool(x, p, dtype) {
      requireFloat32('maxPool', dtype);
      const inRow = sizeOf(p.inSize), outRow = sizeOf(p.outSize);
      const out = ctx.alloc(p.planes * outRow, 'maxPool'), argmax = ctx.alloc(p.planes * outRow, 'maxPool');
      byPlanes('maxPool', p, [{ buffer: ctx.buf(x, 'maxPool'), rowElems: inRow }, { buffer: out.buffer, rowElems: outRow, written: 'out' }, { buffer: argmax.buffer, rowElems: outRow, written: 'out' }],
        (pp, bind) => q.run(maxPoolKernel(pp), bind));
      return { out, argmax };
    },
    maxPoolBackward(gy, argmax, p, dtype) {
      requireFloat32('maxPoolBackward', dtype);
      const inRow = sizeOf(p.inSize), outRow = sizeOf(p.outSize);
      const n = p.planes * inRow;
      const gx = ctx.alloc(n, 'maxPoolBackward');
      const disjoint = poolWindowsDisjoint(p);
      // The scatter kernel writes only window maxima: the rest of gx must be zero, staged parts included.
      if (disjoint) q.clear(gx.buffer, n * 4);
      byPlanes('maxPoolBackward', p, [
        { buffer: ctx.buf(gy, 'maxPoolBackward'), rowElems: outRow }, { buffer: ctx.buf(argmax, 'maxPoolBackward'), rowElems: outRow },
        { buffer: gx.buffer, rowElems: inRow, written: disjoint ? 'inout' : 'out' },
      ], (pp, bind) => q.run(disjoint ? maxPoolBackwardScatterKernel(pp) : maxPoolBackwardKernel(pp), bind));
      return gx;
    },
    avgPool(x, p, dtype) {
      requireFloat32('avgPool', dtype);
      avgOnly('avgPool', p);
      const inRow = sizeOf(p.inSize), outRow = sizeOf(p.outSize);
      const out = ctx.alloc(p.planes * outRow, 'avgPool');
      byPlanes('avgPool', p, [{ buffer: ctx.buf(x, 'avgPool'), rowElems: inRow }, { buffer: out.buffer, rowElems: outRow, written: 'out' }],
        (pp, bind) => q.run(avgPoolKernel(pp), bind));
      return out;
    },
    avgPoolBackward(gy, p, dtype) {
      requireFloat32('avgPoolBackward', dtype);
      avgOnly('avgPoolBackward', p);
      const inRow = sizeOf(p.inSize), outRow = sizeOf(p.outSize);
      const gx = ctx.alloc(p.planes * inRow, 'avgPoolBackward');
      byPlanes('avgPoolBackward', p, [{ buffer: ctx.buf(gy, 'avgPoolBackward'), rowElems: outRow }, { buffer: gx.buffer, rowElems: inRow, written: 'out' }],
        (pp, bind) => q.run(avgPoolBackwardKernel(pp), bind));
      return gx;
    },
    batchNorm(x, weight, bias, p, dtype) {
      requireFloat32('batchNorm', dtype);
      const what = 'batchNorm';
      const mean = ctx.alloc(p.c, what), invstd = ctx.alloc(p.c, what), y = ctx.alloc(p.n * p.c * p.s, what);
      const xb = ctx.buf(x, what);
      const row = p.c * p.s;
      const params: Binding[] = [mean.buffer, invstd.buffer];
      if (weight) params.push(ctx.buf(weight, what));
      if (bias) params.push(ctx.buf(bias, what));
      if (bindsWhole(ctx, [xb])) {
        q.run(batchNormStatsKernel(p, p.eps), [xb, mean.buffer, invstd.buffer]);
      } else {
        // Statistics of each part of the batch, gathered into [part][channel] tables, then combined per channel.
        const parts: { n: number; stats: [GPUBuffer, GPUBuffer] }[] = [];
        forParts(ctx, what, p.n, [{ buffer: xb, rowElems: row }], (_, n, [xp]) => {
          const stats: [GPUBuffer, GPUBuffer] = [q.storageBuffer(p.c * 4, `${what} (part mean)`), q.storageBuffer(p.c * 4, `${what} (part invstd)`)];
          q.run(batchNormStatsKernel({ ...p, n }, p.eps), [xp, ...stats]);
          parts.push({ n, stats });
        });
        const tables = [0, 1].map(() => q.storageBuffer(parts.length * p.c * 4, `${what} (part statistics)`));
        parts.forEach(({ stats }, j) => stats.forEach((b, t) => {
          q.copyRange(b, 0, tables[t], j * p.c * 4, p.c * 4);
          q.releaseBuffer(b);
        }));
        q.run(batchNormCombineKernel(p.c, parts.length, parts[0].n * p.s, parts[parts.length - 1].n * p.s, p.eps), [...tables, mean.buffer, invstd.buffer]);
        tables.forEach((b) => q.releaseBuffer(b));
      }
      forParts(ctx, what, p.n, [{ buffer: xb, rowElems: row }, ...params.map((buffer) => ({ buffer, rowElems: null })), { buffer: y.buffer, rowElems: row, written: 'out' }],
        (_, n, bind) => q.run(batchNormApplyKernel({ ...p, n }, weight !== null, bias !== null), bind));
      return { y, mean, invstd };
    },
    batchNormBackward(gy, x, mean, invstd, weight, p, dtype) {
      requireFloat32('batchNormBackward', dtype);
      const what = 'batchNormBackward';
      const gbias = ctx.alloc(p.c, what), gweight = ctx.alloc(p.c, what), gx = ctx.alloc(p.n * p.c * p.s, what);
      const [gyb, xb] = [ctx.buf(gy, what), ctx.buf(x, what)];
      const stats = [ctx.buf(mean, what), ctx.buf(invstd, what)];
      const row = p.c * p.s;
      // Per-channel sums over the batch: parts add up.
      const sums = [new Accumulator(ctx, gbias.buffer, p.c), new Accumulator(ctx, gweight.buffer, p.c)];
      forParts(ctx, what, p.n, [{ buffer: gyb, rowElems: row }, { buffer: xb, rowElems: row }], (_, n, bind) => {
        q.run(batchNormBackwardReduceKernel({ ...p, n }), [...bind, ...stats, ...sums.map((s) => s.target())]);
        sums.forEach((s) => s.add());
      });
      sums.forEach((s) => s.done());
      const whole = [...stats, gbias.buffer, gweight.buffer];
      if (weight) whole.push(ctx.buf(weight, what));
      forParts(ctx, what, p.n, [
        { buffer: gyb, rowElems: row }, { buffer: xb, rowElems: row }, ...whole.map((buffer) => ({ buffer, rowElems: null })), { buffer: gx.buffer, rowElems: row, written: 'out' },
      ], (_, n, bind) => q.run(batchNormBackwardApplyKernel({ ...p, n }, weight !== null, p.n * p.s), bind));
      return { gx, gweight, gbias };
    },
    batchNormRunningStats(runningMean, runningVar, mean, invstd, p, dtype) {
      requireFloat32('batchNormRunningStats', dtype);
      const what = 'batchNormRunningStats';
      const nextMean = ctx.alloc(p.c, what), nextVar = ctx.alloc(p.c, what);
      // p.c values each: far below any binding limit.
      q.run(batchNormRunningStatsKernel(p), [...[runningMean, runningVar, mean, invstd].map((s) => ctx.buf(s, what)), nextMean.buffer, nextVar.buffer]);
      return { mean: nextMean, var: nextVar };
    },
    softmax(x, rows, cols, log, dtype) {
      requireFloat32('softmax', dtype);
      const out = ctx.alloc(rows * cols, 'softmax');
      forParts(ctx, 'softmax', rows, [{ buffer: ctx.buf(x, 'softmax'), rowElems: cols }, { buffer: out.buffer, rowElems: cols, written: 'out' }],
        (_, n, bind) => q.run(softmaxKernel(n, cols, log), bind));
      return out;
    },
    sgdStep(param, grad, momentumBuf, size, p) {
      const written = [ctx.buf(param, 'sgdStep'), ...(momentumBuf ? [ctx.buf(momentumBuf, 'sgdStep')] : [])];
      const g = ctx.readApart(grad, written, 'sgdStep');
      const buffers = [written[0], g.binding, ...written.slice(1)];
      byElements('sgdStep', size, buffers, ['inout', undefined, 'inout'], (n, bind) => q.run(sgdKernel(n, p, buffers.length === 3), bind));
      g.done();
    },
    adamStep(param, grad, m, v, size, p) {
      const written = [param, m, v].map((s) => ctx.buf(s, 'adamStep'));
      const g = ctx.readApart(grad, written, 'adamStep');
      const buffers = [written[0], g.binding, written[1], written[2]];
      byElements('adamStep', size, buffers, ['inout', undefined, 'inout', 'inout'], (n, bind) => q.run(adamKernel(n, p), bind));
      g.done();
    },
    sgdSteps(items, p) {
      const momentum = items.length > 0 && items[0].momentumBuf !== null;
      packer.step(items.map((it) => ({ size: it.size, storages: [it.param, it.grad, ...(momentum ? [it.momentumBuf!] : [])].map((s) => ctx.storage(s, 'sgdSteps')) })),
        (n) => sgdKernel(n, p, momentum),
        (i) => this.sgdStep(items[i].param, items[i].grad, items[i].momentumBuf, items[i].size, p), 'sgdSteps');
    },
    adamSteps(items, p) {
      packer.step(items.map((it) => ({ size: it.size, storages: [it.param, it.grad, it.m, it.v].map((s) => ctx.storage(s, 'adamSteps')) })),
        (n) => adamKernel(n, p),
        (i) => this.adamStep(items[i].param, items[i].grad, items[i].m, items[i].v, items[i].size, p), 'adamSteps');
    },
  };
}
