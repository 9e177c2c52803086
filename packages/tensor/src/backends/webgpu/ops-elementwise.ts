/** unary / binary / where / reduce. */
import { binaryKernel, fusedKernel, reduceKernel, unaryKernel, whereKernel } from '@webgrad/kernels-wgsl';
import type { Backend } from '../../backend';
import { scalarOf, type Context } from './context';
import { Accumulator, bindsWhole, forParts } from './split';
import { checkReduceFusion, reduceUnfused } from '../fusion';
import { sizeOf } from '../../shape';

type ElementwiseMethods = Pick<Backend, 'unary' | 'binary' | 'fused' | 'where' | 'reduce'>;

/**
 * How a broadcasting op splits into parts along its output's leading dims: the longest
 * prefix over which each input either matches the output (split with it) or is broadcast
 * (bound whole), merged into one dim of `rows`. Shapes have the output's rank.
 */
function broadcastSplit(outShape: readonly number[], inShapes: readonly (readonly number[])[]) {
  let k = 0;
  const seen = inShapes.map(() => ({ full: false, broadcast: false }));
  for (; k < outShape.length; k++) {
    const next = inShapes.map((s, i) => ({
      full: seen[i].full || (outShape[k] > 1 && s[k] === outShape[k]),
      broadcast: seen[i].broadcast || (outShape[k] > 1 && s[k] === 1),
    }));
    if (next.some((f) => f.full && f.broadcast)) break;
    next.forEach((f, i) => (seen[i] = f));
  }
  const rows = sizeOf(outShape.slice(0, k));
  const tail = (s: readonly number[]) => s.slice(k);
  return {
    rows,
    outRow: sizeOf(tail(outShape)),
    /** Per input: values per row, or null when it is broadcast over the split dims. */
    inRows: inShapes.map((s, i) => (seen[i].full ? sizeOf(tail(s)) : null)),
    /** Shapes of one part of `count` rows. */
    partShapes: (count: number) => ({
      out: [count, ...tail(outShape)],
      ins: inShapes.map((s, i) => [seen[i].full ? count : 1, ...tail(s)]),
    }),
  };
}

export function elementwiseMethods(ctx: Context): ElementwiseMethods {
  const q = ctx.queue;
  return {
    unary(op, x, size, inDtype, outDtype, a, b) {
      const tin = scalarOf(op.name, inDtype), tout = scalarOf(op.name, outDtype);
      const out = ctx.alloc(size, op.name);
      forParts(ctx, op.name, size, [{ buffer: ctx.buf(x, op.name), rowElems: 1 }, { buffer: out.buffer, rowElems: 1, written: 'out' }], (_, n, bind) =>
        q.run(unaryKernel(op, n, tin, tout, a ?? 0, b ?? 0), bind));
      return out;
    },
    binary(op, a, aShape, b, bShape, outShape, inDtype, outDtype) {
      const tin = scalarOf(op.name, inDtype), tout = scalarOf(op.name, outDtype);
      const out = ctx.alloc(sizeOf(outShape), op.name);
      const sp = broadcastSplit(outShape, [aShape, bShape]);
      forParts(ctx, op.name, sp.rows,
        [{ buffer: ctx.buf(a, op.name), rowElems: sp.inRows[0] }, { buffer: ctx.buf(b, op.name), rowElems: sp.inRows[1] }, { buffer: out.buffer, rowElems: sp.outRow, written: 'out' }],
        (lo, n, bind) => {
          const s = lo === 0 && n === sp.rows ? { out: outShape, ins: [aShape, bShape] } : sp.partShapes(n);
          q.run(binaryKernel(op, s.ins[0], s.ins[1], s.out, tin, tout), bind);
        });
      return out;
    },
    fused(op, inputs, inputShapes, outShape) {
      // the device asks for the adapter's storage-buffer limit (gpu.ts); the WebGPU default is 8
      const maxBuffers = q.device.limits.maxStorageBuffersPerShaderStage;
      if (op.arity + 1 > maxBuffers) throw new Error(`webgpu: the fused op of ${op.arity} inputs needs ${op.arity + 1} storage buffers per shader stage; this device allows ${maxBuffers}`);
      if (inputs.length !== op.arity || inputShapes.length !== op.arity) throw new Error(`fused: ${op.arity} inputs expected, got ${inputs.length}`);
      const out = ctx.alloc(sizeOf(outShape), 'fused');
      const sp = broadcastSplit(outShape, inputShapes);
      const ins = inputs.map((s) => ctx.buf(s, 'fused'));
      forParts(ctx, 'fused', sp.rows, [...ins.map((buffer, i) => ({ buffer, rowElems: sp.inRows[i] })), { buffer: out.buffer, rowElems: sp.outRow, written: 'out' }],
        (lo, n, bind) => {
          const s = lo === 0 && n === sp.rows ? { out: outShape, ins: inputShapes } : sp.partShapes(n);
          q.run(fusedKernel(op, s.ins, s.out), bind);
        });
      return out;
    },
    where(cond, condShape, condDtype, a, aShape, b, bShape, outShape, dtype) {
      const tc = scalarOf('where', condDtype), t = scalarOf('where', dtype);
      const out = ctx.alloc(sizeOf(outShape), 'where');
      const sp = broadcastSplit(outShape, [condShape, aShape, bShape]);
      const ins = [ctx.buf(cond, 'where'), ctx.buf(a, 'where'), ctx.buf(b, 'where')];
      forParts(ctx, 'where', sp.rows, [...ins.map((buffer, i) => ({ buffer, rowElems: sp.inRows[i] })), { buffer: out.buffer, rowElems: sp.outRow, written: 'out' }],
        (lo, n, bind) => {
          const s = lo === 0 && n === sp.rows ? { out: outShape, ins: [condShape, aShape, bShape] } : sp.partShapes(n);
          q.run(whereKernel(s.ins[0], s.ins[1], s.ins[2], s.out, tc, t), bind);
        });
      return out;
    },
    reduce(op, x, shape, axes, dtype, fusion) {
      const t = scalarOf(op, dtype);
      const sorted = [...axes].sort((i, j) => i - j);
      if (fusion) {
        checkReduceFusion(op, dtype, fusion);
        const inputs = [x, ...(fusion.prologue?.others ?? [])].map((s) => ctx.buf(s, op));
        // One kernel where every input binds whole; a tensor past the binding limit takes the separate calls.
        if (!bindsWhole(ctx, inputs)) return reduceUnfused(this as Backend, this.reduce, op, x, shape, axes, dtype, fusion);
        const out = ctx.alloc(sizeOf(shape.filter((_, d) => !sorted.includes(d))), op);
        q.run(reduceKernel(op, shape, sorted, t, undefined, { prologue: fusion.prologue?.op, epilogue: fusion.epilogue }), [...inputs, out.buffer]);
        return out;
      }
      const out = ctx.alloc(sizeOf(shape.filter((_, d) => !sorted.includes(d))), op);
      const xb = ctx.buf(x, op);
      // Parts along the leading kept dims (each part reduces whole rows); when dim 0 is
      // reduced, f32 sums add up parts along it instead.
      let k = 0;
      while (k < shape.length && !sorted.includes(k)) k++;
      if (k === 0 && op === 'sum' && t === 'f32' && shape.length > 0) {
        const rest = shape.slice(1), outElems = sizeOf(shape.filter((_, d) => !sorted.includes(d)));
        const acc = new Accumulator(ctx, out.buffer, outElems);
        forParts(ctx, op, shape[0], [{ buffer: xb, rowElems: sizeOf(rest) }, { buffer: out.buffer, rowElems: null }], (_, n, bind) => {
          q.run(reduceKernel(op, [n, ...rest], sorted, t), [bind[0], acc.target()]);
          acc.add();
        });
        acc.done();
        return out;
      }
      const rows = sizeOf(shape.slice(0, k)), rest = shape.slice(k);
      forParts(ctx, op, rows, [{ buffer: xb, rowElems: sizeOf(rest) }, { buffer: out.buffer, rowElems: sizeOf(rest.filter((_, d) => !sorted.includes(d + k))), written: 'out' }],
        (lo, n, bind) => {
          const whole = lo === 0 && n === rows;
          q.run(whole ? reduceKernel(op, shape, sorted, t) : reduceKernel(op, [n, ...rest], sorted.map((d) => d - k + 1), t), bind);
        });
      return out;
    },
  };
}
