/**
 * matmul, convolution (forward and both gradients), im2col / col2im. Which kernels run
 * depends on the adapter: register GEMMs on CPU-emulated adapters, workgroup-memory tiles
 * on GPUs, and the direct convolution where a GEMM tile would be mostly empty.
 */
import {
  col2imKernel, convBackwardInputDirectKernel, convBackwardInputRegistersPlan, convBackwardInputTiledKernel,
  convBackwardWeightDirectKernel, convBackwardWeightRegistersPlan, convBackwardWeightTiledKernel, convForwardDirectKernel,
  convForwardRegistersPlan, convForwardTiledKernel, im2colKernel, matmulNeedsPack, matmulPackB, matmulPackedSize, matmulRegistersKernel,
  matmulTiledKernel, type Kernel, type Plan,
} from '@webgrad/kernels-wgsl';
import { conv3, convAxes, matmulAxes, type MatmulParams, type ProductEpilogue } from '@webgrad/kernels-ir';
import type { Backend, ConvParams } from '../../backend';
import { checkProductFusion, convBiasGradient, convUnfused, matmulUnfused } from '../fusion';
import { requireFloat32, type Context } from './context';
import type { Binding } from './queue';
import { Accumulator, bindsWhole, forParts, type Operand } from './split';

type LinalgMethods = Pick<Backend, 'matmul' | 'conv' | 'convBackwardInput' | 'convBackwardWeight' | 'im2col' | 'col2im'>;

/**
 * Below this many output channels per group (of the product: input channels for the input
 * gradient) a GEMM tile is mostly padding and the direct kernel wins. Measured on llvmpipe:
 * 3 channels (the first layer's input gradient) run 3x faster through the register GEMM,
 * 1 (depthwise) 3.5x slower. The tiled GEMM's 64-row tiles want more.
 */
const MIN_GEMM_CHANNELS = { registers: 2, tiled: 16 };

export function linalgMethods(ctx: Context): LinalgMethods {
  const q = ctx.queue;
  const registers = ctx.variant === 'registers';
  const minChannels = MIN_GEMM_CHANNELS[ctx.variant];
  const limit = ctx.limits.maxBindingBytes;
  /**
   * Whether a product with an epilogue runs as one kernel: `buffers` storage bindings in its
   * widest pass within the device's count, every binding (scratch included) whole. Parts
   * split by batch would each need their own view of the epilogue's inputs, so a product
   * that splits runs the separate calls instead.
   */
  const fusesWhole = (buffers: number, bindings: Binding[], bytes: number[]) =>
    buffers <= (ctx.limits.maxStorageBuffers ?? 8) && bindsWhole(ctx, bindings) && bytes.every((b) => b <= limit);

  /**
   * A convolution op, split by batch items when its tensors exceed the binding limit:
   * `inputs` name their values per item (null: bound whole, the weights); the output has
   * `outRow` values per item, or null when it sums over the batch (the weight gradient),
   * which then adds up the parts. Runs one kernel, or the register plan.
   */
  function convOp(what: string, p: ConvParams, outElements: number, inputs: Record<string, [Binding, number | null]>, outName: string,
    outRow: number | null, useGemm: boolean, plan: (p: ConvParams) => Plan, tiled: (p: ConvParams) => Kernel, direct: (p: ConvParams) => Kernel, order: string[]) {
    const out = ctx.alloc(outElements, what);
    const names = Object.keys(inputs);
    const usePlan = useGemm && registers;
    let whole: Plan | undefined;
    const planFor = (n: number) => (n === p.batch ? (whole ??= plan(p)) : plan({ ...p, batch: n }));
    const runPart = (n: number, bound: Record<string, Binding>) => {
      const pp = n === p.batch ? p : { ...p, batch: n };
      if (usePlan) ctx.runPlan(planFor(n), bound, what);
      else q.run(useGemm ? tiled(pp) : direct(pp), order.map((name) => bound[name]));
    };
    const scratchBytes = usePlan ? (n: number) => Math.max(0, ...Object.values(planFor(n).temps)) * 4 : undefined;
    const operands: Operand[] = names.map((name) => ({ buffer: inputs[name][0], rowElems: inputs[name][1] }));
    const acc = outRow === null ? new Accumulator(ctx, out.buffer, outElements) : null;
    operands.push({ buffer: out.buffer, rowElems: outRow, written: 'out' });
    forParts(ctx, what, p.batch, operands, (_, n, bind) => {
      const bound: Record<string, Binding> = Object.fromEntries(names.map((name, i) => [name, bind[i]]));
      bound[outName] = acc ? acc.target() : bind[names.length];
      runPart(n, bound);
      acc?.add();
    }, scratchBytes);
    acc?.done();
    return out;
  }

  /** One product over these bindings (B packed first when the register kernel wants it), the epilogue's inputs E before C. */
  function product(p: MatmulParams, A: Binding, B: Binding, C: Binding, epilogue?: ProductEpilogue, E: Binding[] = []): void {
    if (registers && !matmulNeedsPack(p)) {
      q.run(matmulRegistersKernel(p, epilogue), [A, B, ...E, C]);
    } else if (registers) {
      const packed = q.storageBuffer(matmulPackedSize(p) * 4, 'matmul (packed B)');
      q.run(matmulPackB(p), [B, packed]);
      q.run(matmulRegistersKernel(p, epilogue), [A, packed, ...E, C]);
      q.releaseBuffer(packed);
    } else {
      q.run(matmulTiledKernel(p, epilogue), [A, B, ...E, C]);
    }
  }

  return {
    matmul(a, b, p, dtype, epilogue) {
      requireFloat32('matmul', dtype);
      const packBytes = (pp: MatmulParams) => (registers && matmulNeedsPack(pp) ? matmulPackedSize(pp) * 4 : 0);
      if (epilogue) {
        checkProductFusion('matmul', matmulAxes(p), dtype, epilogue);
        const bindings = [a, b, ...epilogue.others].map((s) => ctx.buf(s, 'matmul'));
        if (!fusesWhole(3 + epilogue.others.length, bindings, [p.batch * p.m * p.n * 4, packBytes(p)])) {
          return matmulUnfused(this as Backend, this.matmul, a, b, p, dtype, epilogue);
        }
        const out = ctx.alloc(p.batch * p.m * p.n, 'matmul');
        product(p, bindings[0], bindings[1], out.buffer, epilogue, bindings.slice(2));
        return out;
      }
      const out = ctx.alloc(p.batch * p.m * p.n, 'matmul');
      const A = ctx.buf(a, 'matmul'), B = ctx.buf(b, 'matmul'), C = out.buffer;
      if (bindsWhole(ctx, [A, B, C]) && packBytes(p) <= limit) {
        product(p, A, B, C);
        return out;
      }
      const { batch, m, n, k } = p;
      const item = Math.max(m * k, k * n, m * n) * 4;
      const contiguous = (p.aBatchStride === 0 || p.aBatchStride === m * k) && (p.bBatchStride === 0 || p.bBatchStride === k * n);
      if (batch > 1 && contiguous && item <= limit && (!registers || !matmulNeedsPack(p) || k * (n + 3) * 4 <= limit)) {
        // By batch items.
        forParts(ctx, 'matmul', batch, [
          { buffer: A, rowElems: p.aBatchStride || null }, { buffer: B, rowElems: p.bBatchStride || null }, { buffer: C, rowElems: m * n, written: 'out' },
        ], (_, cnt, [pa, pb, pc]) => product({ ...p, batch: cnt }, pa, pb, pc), (cnt) => packBytes({ ...p, batch: cnt }));
      } else if (!p.transA && (batch === 1 || (p.aBatchStride === m * k && p.bBatchStride === 0))) {
        // By rows of A and C (a batch over one B is one taller matrix), B bound whole.
        const one = { ...p, batch: 1, aBatchStride: 0, bBatchStride: 0 };
        forParts(ctx, 'matmul', batch * m, [{ buffer: A, rowElems: k }, { buffer: B, rowElems: null }, { buffer: C, rowElems: n, written: 'out' }],
          (_, rows, [pa, pb, pc]) => product({ ...one, m: rows }, pa, pb, pc));
      } else if (batch === 1 && p.transA && !p.transB) {
        // Aᵀ·B with a long k (a weight gradient over a large batch): by rows of both, summing the parts.
        const acc = new Accumulator(ctx, C, m * n);
        forParts(ctx, 'matmul', k, [{ buffer: A, rowElems: m }, { buffer: B, rowElems: n }, { buffer: C, rowElems: null }],
          (_, rows, [pa, pb]) => {
            product({ ...p, k: rows }, pa, pb, acc.target());
            acc.add();
          }, (rows) => packBytes({ ...p, k: rows }));
        acc.done();
      } else {
        product(p, A, B, C); // throws a DeviceLimitError naming the binding
      }
      return out;
    },
    conv(x, w, bias, p, dtype, epilogue) {
      requireFloat32('conv', dtype);
      const g = conv3(p);
      const hasBias = bias !== null;
      const gemm = g.COg >= minChannels;
      const inputs: Record<string, [Binding, number | null]> = { x: [ctx.buf(x, 'conv'), g.C * g.plane], w: [ctx.buf(w, 'conv'), null] };
      if (bias) inputs.bias = [ctx.buf(bias, 'conv'), null];
      const others = (epilogue?.others ?? []).map((s, k) => `e${k + 1}`);
      const registerPlan = (pp: ConvParams) => convForwardRegistersPlan(pp, hasBias, epilogue);
      // made once for the whole batch: the epilogue's check below reads its scratch, convOp runs it
      const wholePlan = gemm && registers ? registerPlan(p) : null;
      if (epilogue) {
        checkProductFusion('conv', convAxes(p), dtype, epilogue);
        const E = epilogue.others.map((s) => ctx.buf(s, 'conv'));
        // the register plan's GEMM binds its offset table besides x, w (bias) and y; its scratch must bind whole too
        const scratch = wholePlan ? Object.values(wholePlan.temps).map((n) => n * 4) : [];
        if (!fusesWhole((gemm && registers ? 4 : 3) + (hasBias ? 1 : 0) + E.length, [...Object.values(inputs).map((i) => i[0]), ...E], [g.N * g.CO * g.L * 4, ...scratch])) {
          return convUnfused(this as Backend, this.conv, x, w, bias, p, dtype, epilogue);
        }
        E.forEach((b, k) => (inputs[others[k]] = [b, null]));
      }
      return convOp('conv', p, g.N * g.CO * g.L, inputs, 'y', g.CO * g.L, gemm,
        (pp) => (pp === p && wholePlan) || registerPlan(pp), (pp) => convForwardTiledKernel(pp, hasBias, epilogue), (pp) => convForwardDirectKernel(pp, hasBias, epilogue),
        [...(hasBias ? ['x', 'w', 'bias'] : ['x', 'w']), ...others, 'y']);
    },
    convBackwardInput(gy, w, p, dtype) {
      requireFloat32('convBackwardInput', dtype);
      const g = conv3(p);
      const inputs: Record<string, [Binding, number | null]> = { gy: [ctx.buf(gy, 'convBackwardInput'), g.CO * g.L], w: [ctx.buf(w, 'convBackwardInput'), null] };
      return convOp('convBackwardInput', p, g.N * g.C * g.plane, inputs, 'gx', g.C * g.plane,
        g.Cg >= minChannels, convBackwardInputRegistersPlan, convBackwardInputTiledKernel, convBackwardInputDirectKernel,
        ['gy', 'w', 'gx']);
    },
    convBackwardWeight(x, gy, p, dtype, bias) {
      requireFloat32('convBackwardWeight', dtype);
      const g = conv3(p);
      const X = ctx.buf(x, 'convBackwardWeight'), GY = ctx.buf(gy, 'convBackwardWeight');
      const gemm = g.COg >= minChannels;
      const weights = g.CO * g.Cg * g.KK;
      // The bias gradient as one more output of the tiled or direct kernel; the register plan
      // (CPU-emulated adapters, where a dispatch costs little) and split products reduce it apart.
      if (bias && !(gemm && registers) && fusesWhole(4, [X, GY], [weights * 4, g.CO * 4])) {
        const weight = ctx.alloc(weights, 'convBackwardWeight'), gb = ctx.alloc(g.CO, 'convBackwardWeight (bias)');
        q.run(gemm ? convBackwardWeightTiledKernel(p, true) : convBackwardWeightDirectKernel(p, true), [X, GY, weight.buffer, gb.buffer]);
        return { weight, bias: gb };
      }
      const inputs: Record<string, [Binding, number | null]> = { x: [X, g.C * g.plane], gy: [GY, g.CO * g.L] };
      const weight = convOp('convBackwardWeight', p, weights, inputs, 'gw', null,
        gemm, convBackwardWeightRegistersPlan, convBackwardWeightTiledKernel, convBackwardWeightDirectKernel,
        ['x', 'gy', 'gw']);
      return { weight, bias: bias ? convBiasGradient(this as Backend, gy, p, dtype) : null };
    },
    im2col(x, p: ConvParams, dtype) {
      requireFloat32('im2col', dtype);
      const g = conv3(p);
      const out = ctx.alloc(g.N * g.C * g.KK * g.L, 'im2col');
      q.run(im2colKernel(p), [ctx.buf(x, 'im2col'), out.buffer]);
      return out;
    },
    col2im(cols, p: ConvParams, dtype) {
      requireFloat32('col2im', dtype);
      const g = conv3(p);
      const out = ctx.alloc(g.N * g.C * g.plane, 'col2im');
      q.run(col2imKernel(p), [ctx.buf(cols, 'col2im'), out.buffer]);
      return out;
    },
  };
}
