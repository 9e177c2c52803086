/** strided / writeStrided / pad / gather / scatterAdd. */
import { gatherKernel, padKernel, scatterAddKernel, stridedKernel, writeStridedKernel } from '@webgrad/kernels-wgsl';
import type { Backend } from '../../backend';
import { checkPads } from '../../shape-rules';
import { scalarOf, type Context } from './context';

type CopyMethods = Pick<Backend, 'strided' | 'writeStrided' | 'pad' | 'gather' | 'scatterAdd'>;

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

function checkIndexShape(op: string, target: readonly number[], indexShape: readonly number[], axis: number): void {
  if (indexShape.length !== target.length) throw new Error(`${op}: index has rank ${indexShape.length} but the tensor has rank ${target.length} (index [${indexShape}], tensor [${target}])`);
  if (!Number.isInteger(axis) || axis < 0 || axis >= Math.max(1, target.length)) throw new Error(`${op}: axis ${axis} is out of range for rank ${target.length}`);
  target.forEach((n, d) => {
    if (d !== axis && indexShape[d] > n) throw new Error(`${op}: index size ${indexShape[d]} exceeds size ${n} in dim ${d} (index [${indexShape}], tensor [${target}])`);
  });
}

export function copyMethods(ctx: Context): CopyMethods {
  const q = ctx.queue;
  return {
    strided(x, outShape, strides, offset, dtype) {
      const out = ctx.alloc(prod(outShape), 'strided');
      q.run(stridedKernel(outShape, strides, offset, scalarOf('strided', dtype)), [ctx.buf(x, 'strided'), out.buffer]);
      return out;
    },
    writeStrided(dst, src, srcShape, dstStrides, dstOffset, dtype) {
      q.run(writeStridedKernel(srcShape, dstStrides, dstOffset, scalarOf('writeStrided', dtype)), [ctx.buf(src, 'writeStrided'), ctx.buf(dst, 'writeStrided')]);
    },
    pad(x, shape, pads, mode, value, dtype) {
      const t = scalarOf('pad', dtype);
      checkPads(shape, pads, mode);
      const out = ctx.alloc(prod(shape.map((n, d) => n + pads[d][0] + pads[d][1])), 'pad');
      const v = t === 'i32' ? Int32Array.of(value)[0] : value;
      q.run(padKernel(shape, pads, mode, v, t), [ctx.buf(x, 'pad'), out.buffer]);
      return out;
    },
    gather(x, xShape, index, indexShape, axis, dtype) {
      checkIndexShape('gather', xShape, indexShape, axis);
      const out = ctx.alloc(prod(indexShape), 'gather');
      q.run(gatherKernel(xShape, indexShape, axis, scalarOf('gather', dtype)), [ctx.buf(x, 'gather'), ctx.buf(index, 'gather'), out.buffer]);
      return out;
    },
    scatterAdd(src, index, indexShape, outShape, axis, dtype) {
      checkIndexShape('scatterAdd', outShape, indexShape, axis);
      const out = ctx.alloc(prod(outShape), 'scatterAdd');
      q.run(scatterAddKernel(indexShape, outShape, axis, scalarOf('scatterAdd', dtype)), [ctx.buf(src, 'scatterAdd'), ctx.buf(index, 'scatterAdd'), out.buffer]);
      return out;
    },
  };
}
