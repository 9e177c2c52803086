/** Pooling, batch norm, softmax and update ops (the optimizer steps). */
import {
  avgPoolBackwardKernel, batchNormApplyBindings, batchNormRunningStatsKernel, avgPoolKernel, batchNormApplyKernel, batchNormBackwardApplyKernel, batchNormCombineKernel, batchNormBackwardReduceKernel, batchNormStatsKernel,
  batchNormBackwardSinglePassKernel, batchNormSinglePassBindings, batchNormSinglePassKernel, type EpilogueOp,
  maxPoolBackwardKernel, maxPoolBackwardScatterKernel, maxPoolKernel, poolWindowsDisjoint, softmaxKernel, updateKernel,
} from '@webgrad/kernels-wgsl';
import { checkUpdate, epilogueSteps, type Backend, type BatchNormCall, type BatchNormEpilogue, type BatchNormParams, type BatchNormPrologue, type BatchNormResult, type DType, type PoolParams, type Storage, type UpdateItem, type UpdateOp } from '../../backend';
import { batchNormBackwardUnfused, batchNormUnfused, checkEpilogue, withRunning, type RunningStats } from '../fusion';
import { requireFloat32, type Context } from './context';
import { Packer } from './pack';
import type { Binding } from './queue';
import { Accumulator, bindsWhole, forParts, type Operand } from './split';
import { sizeOf } from '../../shape';

/**
 * The largest n·s (values per channel) batch norm takes in one dispatch (batchNormSinglePassKernel
 * and its backward) instead of two. The single pass adds a third sweep over the channel's
 * values to the statistics pass's two, on the same one workgroup per channel, where the apply
 * pass spreads that sweep over the whole device. At 16384 values a workgroup of 256 makes 64
 * loads per invocation per sweep, a few µs on a discrete GPU: about what a dispatch costs the
 * host (12-16 µs in Dawn), so the single pass wins below and loses above, where the sweep
 * grows with n·s and the dispatch does not (a ResNet's first stages at batch 64 and up stay
 * on two passes; at batch 16 on 32×32 images every bn takes one).
 */
export const SINGLE_PASS_MAX_COUNT = 16384;
let singlePassMaxCount = SINGLE_PASS_MAX_COUNT;

/** Sets the n·s limit of the single-pass batch norm (tests: 0 forces the two-pass kernels); returns the previous one. */
export function setBatchNormSinglePassMaxCount(count: number): number {
  const before = singlePassMaxCount;
  singlePassMaxCount = count;
  return before;
}

type NnMethods = Pick<Backend, 'maxPool' | 'maxPoolBackward' | 'avgPool' | 'avgPoolBackward' | 'batchNorm' | 'batchNormBackward' | 'softmax' | 'update'>;

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
  const maxStorageBindings = () => ctx.limits.maxStorageBuffers ?? 8;
  /** Whether a batch norm of `p` over bindings `whole` (x's size each) takes the single pass, given its binding count. */
  const singlePass = (p: BatchNormParams, whole: Binding[], bindings: number) =>
    p.c > 0 && p.n * p.s > 0 && p.n * p.s <= singlePassMaxCount && bindings <= maxStorageBindings() && bindsWhole(ctx, whole);

  /**
   * batchNorm in one dispatch (see SINGLE_PASS_MAX_COUNT), or null where it does not apply.
   * The mean, invstd and new running statistics are slots of one arena: one binding.
   */
  function singlePassBatchNorm(x: Storage, weight: Storage | null, bias: Storage | null, p: BatchNormCall, ops: EpilogueOp[], residuals: Binding[]): BatchNormResult | null {
    const what = 'batchNorm';
    const xb = ctx.buf(x, what);
    const run = p.running;
    const runIn = run ? [ctx.buf(run.mean, what), ctx.buf(run.var, what)] : [];
    if (!singlePass(p, [xb, ...residuals], batchNormSinglePassBindings(weight !== null, bias !== null, run !== undefined, ops))) return null;
    const y = ctx.alloc(p.n * p.c * p.s, what);
    const out = ctx.allocSlots(p.c, run ? 4 : 2, what);
    const bind: Binding[] = [xb];
    if (weight) bind.push(ctx.buf(weight, what));
    if (bias) bind.push(ctx.buf(bias, what));
    q.run(batchNormSinglePassKernel(p, p.eps, weight !== null, bias !== null, ops, { stride: out.stride }, run ? { momentum: run.momentum, count: run.count } : undefined),
      [...bind, ...runIn, ...residuals, out.buffer, y.buffer]);
    const [mean, invstd, runningMean, runningVar] = out.storages;
    return run ? withRunning({ y, mean, invstd }, { mean: runningMean, var: runningVar }) : { y, mean, invstd };
  }

  const plainBatchNorm: Backend['batchNorm'] = (x, weight, bias, p) => {
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
  };
  /** batchNormBackward in one dispatch (see SINGLE_PASS_MAX_COUNT), or null where it does not apply. gbias and gweight share an arena. */
  function singlePassBatchNormBackward(gy: Storage, x: Storage, mean: Storage, invstd: Storage, weight: Storage | null, p: BatchNormParams,
    prologue: BatchNormPrologue | undefined): { gx: Storage; gweight: Storage; gbias: Storage } | null {
    const what = 'batchNormBackward';
    // A unary prologue stays on the separate calls, as in fusedBatchNormBackward.
    if (prologue && prologue.op.arity !== 2) return null;
    const whole = [ctx.buf(gy, what), ...(prologue ? [ctx.buf(prologue.y, what)] : []), ctx.buf(x, what)];
    if (!singlePass(p, whole, whole.length + 4 + Number(weight !== null))) return null;
    const gx = ctx.alloc(p.n * p.c * p.s, what);
    const out = ctx.allocSlots(p.c, 2, what);
    const bind = [...whole, ctx.buf(mean, what), ctx.buf(invstd, what), ...(weight ? [ctx.buf(weight, what)] : [])];
    const pro = prologue ? { op: prologue.op, a: prologue.a ?? 0, b: prologue.b ?? 0 } : undefined;
    q.run(batchNormBackwardSinglePassKernel(p, weight !== null, { stride: out.stride }, pro), [...bind, out.buffer, gx.buffer]);
    return { gx, gbias: out.storages[0], gweight: out.storages[1] };
  }

  const plainBatchNormBackward: Backend['batchNormBackward'] = (gy, x, mean, invstd, weight, p) => {
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
  };
  /** The running statistics as their own dispatch after the statistics pass: the unfused fallback's (a split batch, too many bindings). */
  const runningStats: RunningStats = (r, p) => {
    const what = 'batchNorm (running statistics)';
    const run = p.running!;
    const nextMean = ctx.alloc(p.c, what), nextVar = ctx.alloc(p.c, what);
    // p.c values each: far below any binding limit.
    q.run(batchNormRunningStatsKernel({ c: p.c, momentum: run.momentum, eps: p.eps, count: run.count }),
      [...[run.mean, run.var, r.mean, r.invstd].map((s) => ctx.buf(s, what)), nextMean.buffer, nextVar.buffer]);
    return { mean: nextMean, var: nextVar };
  };
  /** One item's update, split by element ranges where it is too large to bind whole. */
  const updateOne = (op: UpdateOp, it: UpdateItem, scalars: readonly number[]) => {
    const writes = op.writes.map((w) => w !== null);
    const written = it.arrays.flatMap((s, k) => (writes[k] ? [ctx.buf(s, 'update')] : []));
    const reads = it.arrays.map((s, k) => (writes[k] ? null : ctx.readApart(s, written, 'update')));
    let w = 0;
    const buffers = it.arrays.map((_, k) => reads[k]?.binding ?? written[w++]);
    byElements('update', it.size, buffers, writes.map((x) => (x ? 'inout' : undefined)), (n, bind) => q.run(updateKernel(op, n, scalars), bind));
    for (const r of reads) r?.done();
  };

  /**
   * batchNorm with its epilogue in the apply pass and the running statistics in the
   * statistics pass (2 dispatches for what takes 3 to 5 as separate calls), where the single
   * pass does not apply (n·s above its limit, too many bindings). Falls back to
   * the separate calls for a batch too large to bind whole (the split path) and for an
   * epilogue with more residuals than the device has storage bindings for.
   */
  function fusedBatchNorm(self: Backend, x: Storage, weight: Storage | null, bias: Storage | null, p: BatchNormCall, dtype: DType, epilogue: BatchNormEpilogue | undefined): BatchNormResult {
    const what = 'batchNorm';
    const steps = epilogueSteps(epilogue);
    const ops = steps.map((st) => ({ op: st.op, a: st.a ?? 0, b: st.b ?? 0 }));
    const xb = ctx.buf(x, what);
    const residuals = steps.filter((st) => st.op.arity === 2).map((st) => ctx.buf(st.residual!, what));
    const run = p.running;
    const runIn = run ? [ctx.buf(run.mean, what), ctx.buf(run.var, what)] : [];
    if (!bindsWhole(ctx, [xb, ...residuals, ...runIn]) || batchNormApplyBindings(weight !== null, bias !== null, ops) > maxStorageBindings()) {
      return batchNormUnfused(self, plainBatchNorm, runningStats, x, weight, bias, p, dtype, epilogue);
    }
    const mean = ctx.alloc(p.c, what), invstd = ctx.alloc(p.c, what), y = ctx.alloc(p.n * p.c * p.s, what);
    const stats: Binding[] = [xb, mean.buffer, invstd.buffer];
    let running: { mean: Storage; var: Storage } | null = null;
    if (run) {
      const nextMean = ctx.alloc(p.c, what), nextVar = ctx.alloc(p.c, what);
      q.run(batchNormStatsKernel(p, p.eps, { momentum: run.momentum, count: run.count }), [...stats, ...runIn, nextMean.buffer, nextVar.buffer]);
      running = { mean: nextMean, var: nextVar };
    } else {
      q.run(batchNormStatsKernel(p, p.eps), stats);
    }
    const bind: Binding[] = [xb, mean.buffer, invstd.buffer];
    if (weight) bind.push(ctx.buf(weight, what));
    if (bias) bind.push(ctx.buf(bias, what));
    q.run(batchNormApplyKernel(p, weight !== null, bias !== null, ops), [...bind, ...residuals, y.buffer]);
    return running ? withRunning({ y, mean, invstd }, running) : { y, mean, invstd };
  }

  /**
   * batchNormBackward with the prologue's op in both passes (2 dispatches for 3), where the
   * single pass does not apply. The apply
   * pass then takes 9 bindings with a weight; on a device with 8 the reduce pass writes
   * op(gy, y) for a plain apply pass instead (8 bindings on either side, one array of g).
   * Falls back to the separate calls for a batch too large to bind whole and for a unary op.
   */
  function fusedBatchNormBackward(self: Backend, gy: Storage, x: Storage, mean: Storage, invstd: Storage, weight: Storage | null,
    p: BatchNormParams, dtype: DType, prologue: BatchNormPrologue): { gx: Storage; gweight: Storage; gbias: Storage } {
    const what = 'batchNormBackward';
    const size = p.n * p.c * p.s;
    const [gyb, xb, yb] = [ctx.buf(gy, what), ctx.buf(x, what), ctx.buf(prologue.y, what)];
    // A unary prologue would leave the reduce kernel's PY binding unused: rare enough to stay unfused.
    if (prologue.op.arity !== 2 || !bindsWhole(ctx, [gyb, xb, yb]) || 8 > maxStorageBindings()) {
      return batchNormBackwardUnfused(self, plainBatchNormBackward, gy, x, mean, invstd, weight, p, dtype, prologue);
    }
    const gbias = ctx.alloc(p.c, what), gweight = ctx.alloc(p.c, what), gx = ctx.alloc(size, what);
    const stats = [ctx.buf(mean, what), ctx.buf(invstd, what)];
    const pro = { op: prologue.op, a: prologue.a ?? 0, b: prologue.b ?? 0 };
    const whole: Binding[] = [...stats, gbias.buffer, gweight.buffer];
    if (weight) whole.push(ctx.buf(weight, what));
    if (8 + Number(weight !== null) <= maxStorageBindings()) {
      // Room for gy and its partner in the apply kernel too: g is made where read, never stored.
      q.run(batchNormBackwardReduceKernel(p, pro, false), [gyb, yb, xb, ...stats, gbias.buffer, gweight.buffer]);
      q.run(batchNormBackwardApplyKernel(p, weight !== null, p.n * p.s, pro), [gyb, yb, xb, ...whole, gx.buffer]);
    } else {
      const g = q.storageBuffer(Math.max(size, 4) * 4, `${what} (prologue values)`);
      q.run(batchNormBackwardReduceKernel(p, pro), [gyb, yb, xb, ...stats, gbias.buffer, gweight.buffer, g]);
      q.run(batchNormBackwardApplyKernel(p, weight !== null, p.n * p.s), [g, xb, ...whole, gx.buffer]);
      q.releaseBuffer(g);
    }
    return { gx, gweight, gbias };
  }

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
    batchNorm(x, weight, bias, p, dtype, epilogue) {
      requireFloat32('batchNorm', dtype);
      checkEpilogue(epilogue);
      const steps = epilogueSteps(epilogue);
      const single = singlePassBatchNorm(x, weight, bias, p, steps.map((st) => ({ op: st.op, a: st.a ?? 0, b: st.b ?? 0 })),
        steps.filter((st) => st.op.arity === 2).map((st) => ctx.buf(st.residual!, 'batchNorm')));
      if (single) return single;
      if (!epilogue && !p.running) return plainBatchNorm(x, weight, bias, p, dtype);
      return fusedBatchNorm(this as Backend, x, weight, bias, p, dtype, epilogue);
    },
    batchNormBackward(gy, x, mean, invstd, weight, p, dtype, prologue) {
      requireFloat32('batchNormBackward', dtype);
      const single = singlePassBatchNormBackward(gy, x, mean, invstd, weight, p, prologue);
      if (single) return single;
      if (!prologue) return plainBatchNormBackward(gy, x, mean, invstd, weight, p, dtype);
      return fusedBatchNormBackward(this as Backend, gy, x, mean, invstd, weight, p, dtype, prologue);
    },
    softmax(x, rows, cols, log, dtype) {
      requireFloat32('softmax', dtype);
      const out = ctx.alloc(rows * cols, 'softmax');
      forParts(ctx, 'softmax', rows, [{ buffer: ctx.buf(x, 'softmax'), rowElems: cols }, { buffer: out.buffer, rowElems: cols, written: 'out' }],
        (_, n, bind) => q.run(softmaxKernel(n, cols, log), bind));
      return out;
    },
    // One item gains nothing from an arena (one dispatch either way), and packing it alone
    // would move it out of the group it is packed with: it updates in place.
    update(op, items, scalars, dtype) {
      requireFloat32('update', dtype);
      checkUpdate(op, items, scalars);
      if (items.length === 1) return updateOne(op, items[0], scalars);
      packer.step(items.map((it) => ({ size: it.size, storages: it.arrays.map((s) => ctx.storage(s, 'update')) })), op.writes.map((w) => w === null),
        (n) => updateKernel(op, n, scalars), (i) => updateOne(op, items[i], scalars), 'update');
    },
  };
}
