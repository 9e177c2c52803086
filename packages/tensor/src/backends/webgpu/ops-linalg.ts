/**
 * matmul, convolution (forward and both gradients), im2col / col2im. Which kernels run
 * depends on the adapter: register GEMMs on CPU-emulated adapters, workgroup-memory tiles
 * on GPUs, and the direct convolution where a GEMM tile would be mostly empty.
 */
import {
  col2imKernel, conv3, convBackwardInputDirectKernel, convBackwardInputRegistersPlan, convBackwardInputTiledKernel,
  convBackwardWeightDirectKernel, convBackwardWeightRegistersPlan, convBackwardWeightTiledKernel, convForwardDirectKernel,
  convForwardRegistersPlan, convForwardTiledKernel, im2colKernel, matmulNeedsPack, matmulPackB, matmulPackedSize, matmulRegistersKernel,
  matmulTiledKernel, type Kernel, type Plan,
} from '@webgrad/kernels-wgsl';
import type { Backend, ConvParams } from '../../backend';
import { requireFloat32, type Context } from './context';

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

  /** Runs one kernel, or the register plan, writing a new storage named `outName`. */
  function convOp(what: string, outElements: number, inputs: Record<string, GPUBuffer>, outName: string, useGemm: boolean,
    plan: () => Plan, tiled: () => Kernel, direct: () => Kernel, order: string[]) {
    const out = ctx.alloc(outElements, what);
    const buffers = { ...inputs, [outName]: out.buffer };
    if (useGemm && registers) ctx.runPlan(plan(), buffers, what);
    else q.run(useGemm ? tiled() : direct(), order.map((n) => buffers[n]));
    return out;
  }

  return {
    matmul(a, b, p, dtype) {
      requireFloat32('matmul', dtype);
      const out = ctx.alloc(p.batch * p.m * p.n, 'matmul');
      const A = ctx.buf(a, 'matmul'), B = ctx.buf(b, 'matmul');
      if (registers && !matmulNeedsPack(p)) {
        q.run(matmulRegistersKernel(p), [A, B, out.buffer]);
      } else if (registers) {
        const packed = q.storageBuffer(matmulPackedSize(p) * 4, 'matmul (packed B)');
        q.run(matmulPackB(p), [B, packed]);
        q.run(matmulRegistersKernel(p), [A, packed, out.buffer]);
        q.releaseBuffer(packed);
      } else {
        q.run(matmulTiledKernel(p), [A, B, out.buffer]);
      }
      return out;
    },
    conv(x, w, bias, p, dtype) {
      requireFloat32('conv', dtype);
      const g = conv3(p);
      const hasBias = bias !== null;
      const inputs: Record<string, GPUBuffer> = { x: ctx.buf(x, 'conv'), w: ctx.buf(w, 'conv') };
      if (bias) inputs.bias = ctx.buf(bias, 'conv');
      return convOp('conv', g.N * g.CO * g.L, inputs, 'y', g.COg >= minChannels,
        () => convForwardRegistersPlan(p, hasBias), () => convForwardTiledKernel(p, hasBias), () => convForwardDirectKernel(p, hasBias),
        hasBias ? ['x', 'w', 'bias', 'y'] : ['x', 'w', 'y']);
    },
    convBackwardInput(gy, w, p, dtype) {
      requireFloat32('convBackwardInput', dtype);
      const g = conv3(p);
      return convOp('convBackwardInput', g.N * g.C * g.plane, { gy: ctx.buf(gy, 'convBackwardInput'), w: ctx.buf(w, 'convBackwardInput') }, 'gx',
        g.Cg >= minChannels, () => convBackwardInputRegistersPlan(p), () => convBackwardInputTiledKernel(p), () => convBackwardInputDirectKernel(p),
        ['gy', 'w', 'gx']);
    },
    convBackwardWeight(x, gy, p, dtype) {
      requireFloat32('convBackwardWeight', dtype);
      const g = conv3(p);
      return convOp('convBackwardWeight', g.CO * g.Cg * g.KK, { x: ctx.buf(x, 'convBackwardWeight'), gy: ctx.buf(gy, 'convBackwardWeight') }, 'gw',
        g.COg >= minChannels, () => convBackwardWeightRegistersPlan(p), () => convBackwardWeightTiledKernel(p), () => convBackwardWeightDirectKernel(p),
        ['x', 'gy', 'gw']);
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
