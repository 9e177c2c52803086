/** unary / binary / where / reduce. */
import { binaryKernel, reduceKernel, unaryKernel, whereKernel } from '@webgrad/kernels-wgsl';
import type { Backend } from '../../backend';
import { scalarOf, type Context } from './context';

type ElementwiseMethods = Pick<Backend, 'unary' | 'binary' | 'where' | 'reduce'>;

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

export function elementwiseMethods(ctx: Context): ElementwiseMethods {
  const q = ctx.queue;
  return {
    unary(op, x, size, inDtype, outDtype, a, b) {
      const k = unaryKernel(op, size, scalarOf(op.name, inDtype), scalarOf(op.name, outDtype), a ?? 0, b ?? 0);
      const out = ctx.alloc(size, op.name);
      q.run(k, [ctx.buf(x, op.name), out.buffer]);
      return out;
    },
    binary(op, a, aShape, b, bShape, outShape, inDtype, outDtype) {
      const k = binaryKernel(op, aShape, bShape, outShape, scalarOf(op.name, inDtype), scalarOf(op.name, outDtype));
      const out = ctx.alloc(prod(outShape), op.name);
      q.run(k, [ctx.buf(a, op.name), ctx.buf(b, op.name), out.buffer]);
      return out;
    },
    where(cond, condShape, condDtype, a, aShape, b, bShape, outShape, dtype) {
      const k = whereKernel(condShape, aShape, bShape, outShape, scalarOf('where', condDtype), scalarOf('where', dtype));
      const out = ctx.alloc(prod(outShape), 'where');
      q.run(k, [ctx.buf(cond, 'where'), ctx.buf(a, 'where'), ctx.buf(b, 'where'), out.buffer]);
      return out;
    },
    reduce(op, x, shape, axes, dtype) {
      const sorted = [...axes].sort((i, j) => i - j);
      const k = reduceKernel(op, shape, sorted, scalarOf(op, dtype));
      const out = ctx.alloc(prod(shape.filter((_, d) => !sorted.includes(d))), op);
      q.run(k, [ctx.buf(x, op), out.buffer]);
      return out;
    },
  };
}
