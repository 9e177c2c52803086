/** strided / writeStrided / pad / gather / scatterAdd. */
import { gatherKernel, padKernel, scatterAddKernel, stridedKernel, writeStridedKernel } from '@webgrad/kernels-wgsl';
import type { Backend } from '../../backend';
import { checkPads } from '../../shape-rules';
import { scalarOf, type Context } from './context';
import type { Binding } from './queue';
import { bindsWhole, forParts, slice } from './split';
import { sizeOf } from '../../shape';

type CopyMethods = Pick<Backend, 'strided' | 'writeStrided' | 'pad' | 'gather' | 'scatterAdd'>;

function checkIndexShape(op: string, target: readonly number[], indexShape: readonly number[], axis: number): void {
  if (indexShape.length !== target.length) throw new Error(`${op}: index has rank ${indexShape.length} but the tensor has rank ${target.length} (index [${indexShape}], tensor [${target}])`);
  if (!Number.isInteger(axis) || axis < 0 || axis >= Math.max(1, target.length)) throw new Error(`${op}: axis ${axis} is out of range for rank ${target.length}`);
  target.forEach((n, d) => {
    if (d !== axis && indexShape[d] > n) throw new Error(`${op}: index size ${indexShape[d]} exceeds size ${n} in dim ${d} (index [${indexShape}], tensor [${target}])`);
  });
}

/**
 * A strided view split along its leading dim: rows [lo, lo + n) of `shape` read (or write)
 * a window of the strided buffer, bound from an aligned start, with the offset moved to it.
 */
function stridedWindow(ctx: Context, shape: readonly number[], strides: readonly number[], offset: number) {
  const align = ctx.bindingAlignment / 4;
  const span = (n: number) => {
    let lo = 0, hi = 0;
    shape.forEach((size, d) => {
      const reach = ((d === 0 ? n : size) - 1) * strides[d];
      lo += Math.min(0, reach);
      hi += Math.max(0, reach);
    });
    return { lo, hi };
  };
  return {
    /** The window of a part of n rows, with alignment slack. */
    bytes: (n: number) => (span(n).hi - span(n).lo + 1 + align) * 4,
    part(buffer: Binding, lo: number, n: number): { binding: Binding; offset: number } {
      const first = offset + lo * (strides[0] ?? 0);
      const { lo: a, hi: b } = span(n);
      const start = Math.floor((first + a) / align) * align;
      return { binding: slice(buffer, start, first + b - start + 1), offset: first - start };
    },
  };
}

/** Drops leading dims of size 1, which address nothing. */
function trimLeading(shape: readonly number[], strides: readonly number[]): [number[], number[]] {
  if (shape.length === 0) return [[1], [0]];
  let k = 0;
  while (k < shape.length - 1 && shape[k] === 1) k++;
  return [shape.slice(k), strides.slice(k)];
}

export function copyMethods(ctx: Context): CopyMethods {
  const q = ctx.queue;
  return {
    strided(x, outShape, strides, offset, dtype) {
      const t = scalarOf('strided', dtype);
      const out = ctx.alloc(sizeOf(outShape), 'strided');
      const xb = ctx.buf(x, 'strided');
      if (bindsWhole(ctx, [xb, out.buffer])) {
        q.run(stridedKernel(outShape, strides, offset, t), [xb, out.buffer]);
        return out;
      }
      const [shape, st] = trimLeading(outShape, strides);
      const win = stridedWindow(ctx, shape, st, offset);
      forParts(ctx, 'strided', shape[0] ?? 1, [{ buffer: out.buffer, rowElems: sizeOf(shape.slice(1)), written: 'out' }], (lo, n, [o]) => {
        const w = win.part(xb, lo, n);
        q.run(stridedKernel([n, ...shape.slice(1)], st, w.offset, t), [w.binding, o]);
      }, win.bytes);
      return out;
    },
    writeStrided(dst, src, srcShape, dstStrides, dstOffset, dtype) {
      const t = scalarOf('writeStrided', dtype);
      const db = ctx.buf(dst, 'writeStrided');
      const { binding: sb, done } = ctx.readApart(src, [db], 'writeStrided');
      if (bindsWhole(ctx, [sb, db])) {
        q.run(writeStridedKernel(srcShape, dstStrides, dstOffset, t), [sb, db]);
        done();
        return;
      }
      const [shape, st] = trimLeading(srcShape, dstStrides);
      const win = stridedWindow(ctx, shape, st, dstOffset);
      forParts(ctx, 'writeStrided', shape[0] ?? 1, [{ buffer: sb, rowElems: sizeOf(shape.slice(1)) }], (lo, n, [s]) => {
        const w = win.part(db, lo, n);
        q.run(writeStridedKernel([n, ...shape.slice(1)], st, w.offset, t), [s, w.binding]);
      }, win.bytes);
      done();
    },
    pad(x, shape, pads, mode, value, dtype) {
      const t = scalarOf('pad', dtype);
      checkPads(shape, pads, mode);
      const outShape = shape.map((n, d) => n + pads[d][0] + pads[d][1]);
      const out = ctx.alloc(sizeOf(outShape), 'pad');
      const v = t === 'i32' ? Int32Array.of(value)[0] : value;
      // Split along the leading dims that are not padded (batch and channels of NCHW padding).
      let k = 0;
      while (k < shape.length && pads[k][0] === 0 && pads[k][1] === 0) k++;
      const rows = sizeOf(shape.slice(0, k));
      forParts(ctx, 'pad', rows, [{ buffer: ctx.buf(x, 'pad'), rowElems: sizeOf(shape.slice(k)) }, { buffer: out.buffer, rowElems: sizeOf(outShape.slice(k)), written: 'out' }],
        (lo, n, bind) => q.run(lo === 0 && n === rows ? padKernel(shape, pads, mode, v, t) : padKernel([n, ...shape.slice(k)], [[0, 0], ...pads.slice(k)], mode, v, t), bind));
      return out;
    },
    gather(x, xShape, index, indexShape, axis, dtype) {
      checkIndexShape('gather', xShape, indexShape, axis);
      const out = ctx.alloc(sizeOf(indexShape), 'gather');
      q.run(gatherKernel(xShape, indexShape, axis, scalarOf('gather', dtype)), [ctx.buf(x, 'gather'), ctx.buf(index, 'gather'), out.buffer]);
      return out;
    },
    scatterAdd(src, index, indexShape, outShape, axis, dtype) {
      checkIndexShape('scatterAdd', outShape, indexShape, axis);
      const out = ctx.alloc(sizeOf(outShape), 'scatterAdd');
      q.run(scatterAddKernel(indexShape, outShape, axis, scalarOf('scatterAdd', dtype)), [ctx.buf(src, 'scatterAdd'), ctx.buf(index, 'scatterAdd'), out.buffer]);
      return out;
    },
  };
}
