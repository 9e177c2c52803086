/** One instance of every generator and variant, for the compile test. */
import * as IR from '@webgrad/kernels-ir';
import * as K from '../src/index';

const conv: IR.ConvParams = { batch: 2, inChannels: 4, outChannels: 6, groups: 2, inSize: [5, 7], kernel: [3, 2], outSize: [3, 6], stride: [1, 1], padding: [1, 0], dilation: [2, 1] };
const conv3d: IR.ConvParams = { batch: 1, inChannels: 3, outChannels: 5, groups: 1, inSize: [4, 5, 6], kernel: [2, 2, 3], outSize: [2, 4, 2], stride: [2, 1, 2], padding: [0, 0, 0], dilation: [1, 1, 1] };
const pool: IR.PoolParams = { planes: 3, inSize: [5, 7], kernel: [2, 2], outSize: [3, 4], stride: [2, 2], padding: [1, 1], dilation: [1, 1], countIncludePad: true };
const bn: IR.BatchNormShape = { n: 2, c: 3, s: 5 };
const mm = (transA: boolean, transB: boolean, m = 5): IR.MatmulParams => ({ batch: 2, m, n: 70, k: 3, transA, transB, aBatchStride: 15, bBatchStride: 0 });

const E = IR.expr;
/** An epilogue (v · e1 + e2 ..., clamped) over further inputs of these three-axis shapes. */
const epi = (shapes: IR.Axes3[]): IR.ProductEpilogue => ({
  op: IR.fusedOp(E.clampTo(shapes.reduce((v: IR.Expr, _, k) => (k % 2 ? E.add(v, E.arg(k + 1)) : E.mul(v, E.arg(k + 1))), E.arg(0)), -1, 2), 1 + shapes.length),
  shapes,
});
const op1 = (name: string, expr: IR.Expr, ints: IR.IntRule = 'float'): IR.ElementwiseKernelOp => ({ name, arity: 1, expr, ints });
const op2 = (name: string, expr: IR.Expr, ints: IR.IntRule = 'exact'): IR.ElementwiseKernelOp => ({ name, arity: 2, expr, ints });

/**
 * The op table itself lives in @webgrad/tensor (its webgpu test compiles and runs every
 * declared op); here, ops that together use every node kind, every math function and
 * every composite builder of the expression language, on both int rules.
 */
const CALLS: Record<IR.MathFunction, IR.Expr> = {
  exp: E.exp(E.x), log: E.log(E.x), sqrt: E.sqrt(E.x), abs: E.abs(E.x), sign: E.sign(E.x),
  tanh: E.tanh(E.x), sin: E.sin(E.x), cos: E.cos(E.x), pow: E.pow(E.x, E.a),
};
export const ops = {
  neg: op1('neg', E.neg(E.x), 'exact'),
  exp: op1('exp', E.exp(E.x)),
  clamp: op1('clamp', E.clampTo(E.x, E.a, E.b)),
  add: op2('add', E.add(E.x, E.y)),
  mul: op2('mul', E.mul(E.x, E.y)),
};
const UNARY: IR.ElementwiseKernelOp[] = [
  ...Object.values(ops).filter((o) => o.arity === 1),
  ...Object.entries(CALLS).flatMap(([fn, e]) => [op1(`call-${fn}`, e), op1(`call-${fn}-exact`, e, 'exact')]),
  op1('step', E.gt(E.x, 0), 'exact'), op1('leaky', E.select(E.gt(E.x, 0), E.x, E.mul(E.a, E.x))),
  op1('constants', E.add(E.add(E.num(Infinity), E.num(-Infinity)), E.add(E.num(NaN), E.num(-0.25)))),
  op1('sigmoid', E.sigmoid(E.x)), op1('erf', E.erf(E.x)), op1('log1p', E.log1p(E.x)), op1('expm1', E.expm1(E.x)),
];
const BINARY: IR.ElementwiseKernelOp[] = [
  ops.add, ops.mul, op2('sub', E.sub(E.x, E.y)), op2('div', E.div(E.x, E.y)), op2('pow', E.pow(E.x, E.y), 'float'),
  op2('maximum', E.select(E.or(E.gt(E.x, E.y), E.isNaN(E.x)), E.x, E.y)), op2('both', E.and(E.lt(E.x, E.y), E.le(E.y, 3))),
  op2('eq', E.eq(E.x, E.y)), op2('ne', E.ne(E.x, E.y)), op2('ge', E.ge(E.x, E.y)),
];
const REDUCE: K.ReduceOp[] = ['sum', 'max', 'min', 'argmax', 'argmin'];
const PADS: K.PadMode[] = ['constant', 'reflect', 'replicate', 'circular'];
const TYPES: [K.ScalarType, K.ScalarType][] = [['f32', 'f32'], ['i32', 'i32'], ['i32', 'f32'], ['f32', 'i32']];

const planKernels = (p: K.Plan) => p.steps.map((s) => s.kernel);

export function allKernels(): K.Kernel[] {
  return [
    ...UNARY.flatMap((op) => TYPES.map(([i, o]) => K.unaryKernel(op, 10, i, o, 0.5, 2))),
    ...BINARY.flatMap((op) => TYPES.map(([i, o]) => K.binaryKernel(op, [2, 1, 3], [1, 4, 3], [2, 4, 3], i, o))),
    K.binaryKernel(ops.add, [], [], [], 'f32', 'f32'),
    K.whereKernel([2, 1], [1, 3], [2, 3], [2, 3], 'i32', 'f32'), K.whereKernel([3], [3], [3], [3], 'f32', 'i32'),
    K.fillKernel(5, 1.5, 'f32'), K.fillKernel(5, -3, 'i32'),
    ...REDUCE.flatMap((op) => (['f32', 'i32'] as K.ScalarType[]).flatMap((t) => [
      K.reduceKernel(op, [3, 4, 5], [1], t, 'thread'), K.reduceKernel(op, [3, 4, 5], [1], t, 'group'),
      K.reduceKernel(op, [3, 4, 5, 6], [0, 2], t, 'thread'), K.reduceKernel(op, [3, 4, 5, 6], [0, 2], t, 'group'), K.reduceKernel(op, [7], [0], t),
    ])),
    // a reduction with a prologue of two inputs and an epilogue, in both modes
    ...(['thread', 'group'] as const).map((mode) => K.reduceKernel('sum', [3, 4, 5], [1], 'f32', mode, {
      prologue: IR.fusedOp(E.mul(E.sub(E.arg(0), E.arg(1)), E.sub(E.arg(0), E.arg(1))), 2), epilogue: IR.fusedOp(E.exp(E.arg(0)), 1),
    })),
    K.stridedKernel([2, 3], [1, 2], 0, 'f32'), K.stridedKernel([], [], 3, 'i32'), K.writeStridedKernel([2, 3], [1, 2], 0, 'i32'),
    ...PADS.map((m) => K.padKernel([2, 3], [[1, 1], [0, 2]], m, 0, 'f32')), K.padKernel([4], [[1, -1]], 'constant', 2, 'i32'),
    K.gatherKernel([3, 4], [3, 2], 1, 'f32'), K.gatherKernel([3, 4], [3, 2], 0, 'i32'),
    K.scatterAddKernel([3, 2], [3, 4], 1, 'f32'), K.scatterAddKernel([2, 4], [3, 4], 0, 'i32'),
    K.packKernel([2, 3, 4, 5], [60, 20, 5, 1], 0),
    ...[mm(false, false), mm(true, true), mm(false, false, 1), mm(false, false, 2)].flatMap((p) => [K.matmulPackB(p), K.matmulRegistersKernel(p), K.matmulTiledKernel(p)]),
    K.matmulTiledKernel(mm(true, true)),
    ...[conv, conv3d].flatMap((c) => [
      ...planKernels(K.convForwardRegistersPlan(c, true)), ...planKernels(K.convForwardRegistersPlan(c, false)),
      ...planKernels(K.convBackwardInputRegistersPlan(c)), ...planKernels(K.convBackwardWeightRegistersPlan(c)),
    ]),
    K.convForwardTiledKernel(conv, true), K.convForwardTiledKernel(conv, false), K.convBackwardInputTiledKernel(conv), K.convBackwardWeightTiledKernel(conv), K.convBackwardWeightTiledKernel(conv, true),
    K.convForwardDirectKernel(conv, true), K.convForwardDirectKernel(conv, false), K.convBackwardInputDirectKernel(conv), K.convBackwardWeightDirectKernel(conv), K.convBackwardWeightDirectKernel(conv, true),
    // products with an epilogue: a per-column bias, a per-channel scale and a full residual, then a clamp
    ...[mm(false, false), mm(true, true)].flatMap((p) => [K.matmulRegistersKernel(p, epi([[1, 1, p.n], [p.batch, p.m, p.n]])), K.matmulTiledKernel(p, epi([[1, 1, p.n]]))]),
    ...[true, false].flatMap((bias) => {
      const e = epi([[1, conv.outChannels, 1], [conv.batch, conv.outChannels, IR.sizeOf(conv.outSize)]]);
      return [...planKernels(K.convForwardRegistersPlan(conv, bias, e)), K.convForwardTiledKernel(conv, bias, e), K.convForwardDirectKernel(conv, bias, e)];
    }),
    K.im2colKernel(conv3d), K.col2imKernel(conv3d),
    K.maxPoolKernel(pool), K.maxPoolBackwardKernel(pool), K.maxPoolBackwardScatterKernel(pool), K.avgPoolKernel(pool), K.avgPoolBackwardKernel(pool),
    ...[false, true].flatMap((log) => [K.softmaxKernel(3, 5, log, 'thread'), K.softmaxKernel(3, 5, log, 'group')]),
    ...(['mean', 'none'] as const).flatMap((reduction) => {
      const p = { reduction, labelSmoothing: 0.1 };
      return [...(['group', 'rows', 'wide'] as const).map((mode) => K.crossEntropyKernel(3, 5, p, mode)), K.crossEntropyBackwardKernel(3, 5, p)];
    }),
    K.crossEntropyTotalKernel(3, { reduction: 'sum', labelSmoothing: 0 }),
    K.batchNormStatsKernel(bn, 1e-5), K.batchNormBackwardReduceKernel(bn),
    ...[false, true].flatMap((w) => [K.batchNormApplyKernel(bn, w, false), K.batchNormApplyKernel(bn, w, true), K.batchNormBackwardApplyKernel(bn, w)]),
    // batch norm fusion: an epilogue chain (unary with a parameter, binary with a residual), running statistics, the prologue both ways
    K.batchNormStatsKernel(bn, 1e-5, { momentum: 0.1, count: 10 }),
    K.batchNormApplyKernel(bn, true, true, [
      { op: op2('bnAdd', E.add(E.x, E.y), 'float'), a: 0, b: 0 }, { op: op1('bnLeaky', E.select(E.gt(E.x, 0), E.x, E.mul(E.x, E.a))), a: 0.1, b: 0 },
      { op: op1('bnSigmoid', E.sigmoid(E.x)), a: 0, b: 0 },
    ]),
    ...[true, false].map((keepG) => K.batchNormBackwardReduceKernel(bn, { op: op2('bnReluGrad', E.select(E.le(E.y, 0), 0, E.x), 'float'), a: 0, b: 0 }, keepG)),
    K.batchNormBackwardApplyKernel(bn, true, 10, { op: op2('bnReluGrad', E.select(E.le(E.y, 0), 0, E.x), 'float'), a: 0, b: 0 }),
    // single pass: statistics and apply (reduce and apply) in one kernel, plain and with every extra
    K.batchNormSinglePassKernel(bn, 1e-5, false, false, [], { stride: 64 }),
    K.batchNormSinglePassKernel(bn, 1e-5, true, true, [
      { op: op2('bnAdd', E.add(E.x, E.y), 'float'), a: 0, b: 0 }, { op: op1('bnLeaky', E.select(E.gt(E.x, 0), E.x, E.mul(E.x, E.a))), a: 0.1, b: 0 },
    ], { stride: 64 }, { momentum: 0.1, count: 10 }),
    K.batchNormBackwardSinglePassKernel(bn, false, { stride: 64 }),
    K.batchNormBackwardSinglePassKernel(bn, true, { stride: 64 }, { op: op2('bnReluGrad', E.select(E.le(E.y, 0), 0, E.x), 'float'), a: 0, b: 0 }),
    // an update op as the optimizers' (tensor's ops/optim.ts): shared subtrees, a read-only array, sqrt and division
    K.updateKernel(IR.updateOp(3, 2, [E.sub(E.arg(0), E.div(E.add(E.mul(E.arg(3), E.arg(2)), E.arg(1)), E.add(E.sqrt(E.arg(2)), E.arg(4)))), null, E.add(E.mul(E.arg(3), E.arg(2)), E.arg(1))]), 5, [0.9, 1e-8]),
  ];
}
