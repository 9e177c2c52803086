/**
 * Every differentiable op, as cases shared by the gradcheck suite (float64 on cpu) and the
 * device-parity suite (webgpu against cpu). Shapes include broadcasting, size-1 dims and
 * sizes that are not multiples of any tile.
 */
import * as wg from '@webgrad/tensor';
import type { Tensor } from '@webgrad/tensor';

export interface InputSpec {
  shape: number[];
  /**
   * 'positive' for log/sqrt/div denominators; 'int' for indices (with high); 'special' mixes
   * NaN, ±Infinity, ±0 and repeated values into normal ones (not for gradcheck).
   */
  kind?: 'normal' | 'positive' | 'int' | 'distinct' | 'special';
  high?: number;
  /** Not differentiated (e.g. targets, indices). */
  noGrad?: boolean;
}

export interface OpCase {
  name: string;
  inputs: InputSpec[];
  fn: (...xs: Tensor[]) => Tensor;
  /** gradcheck tolerance override (e.g. kinks). */
  atol?: number;
}

const c = (name: string, inputs: (number[] | InputSpec)[], fn: OpCase['fn'], atol?: number): OpCase => ({
  name,
  inputs: inputs.map((s) => (Array.isArray(s) ? { shape: s } : s)),
  fn,
  atol,
});
const pos = (shape: number[]): InputSpec => ({ shape, kind: 'positive' });
const distinct = (shape: number[]): InputSpec => ({ shape, kind: 'distinct' });
const stats = (shape: number[]): InputSpec => ({ shape, kind: 'positive', noGrad: true });
const ints = (shape: number[], high: number): InputSpec => ({ shape, kind: 'int', high, noGrad: true });

const handWritten: OpCase[] = [
  c('add broadcast', [[3, 1, 5], [4, 1]], (a, b) => wg.add(a, b)),
  c('add scalar', [[2, 3]], (a) => wg.add(a, 2.5)),
  c('sub broadcast', [[1], [3, 17]], (a, b) => wg.sub(a, b)),
  c('mul broadcast', [[2, 3, 1], [1, 3, 4]], (a, b) => wg.mul(a, b)),
  c('div', [[5, 3], pos([3])], (a, b) => wg.div(a, b)),
  c('neg', [[4, 3]], (a) => wg.neg(a)),
  c('pow tensor', [pos([3, 4]), [4]], (a, b) => wg.pow(a, b)),
  c('pow scalar', [pos([7])], (a) => wg.pow(a, 2.5)),
  c('exp', [[3, 5]], (a) => wg.exp(a)),
  c('log', [pos([3, 5])], (a) => wg.log(a)),
  c('sqrt', [pos([17])], (a) => wg.sqrt(a)),
  c('abs', [distinct([2, 9])], (a) => wg.abs(a)),
  c('relu', [distinct([3, 11])], (a) => wg.relu(a)),
  c('leakyRelu', [distinct([3, 11])], (a) => wg.leakyRelu(a, 0.2)),
  c('sigmoid', [[4, 5]], (a) => wg.sigmoid(a)),
  c('tanh', [[4, 5]], (a) => wg.tanh(a)),
  c('maximum', [distinct([3, 4]), distinct([4])], (a, b) => wg.maximum(a, b)),
  c('minimum', [distinct([3, 4]), distinct([3, 1])], (a, b) => wg.minimum(a, b)),
  c('clamp', [distinct([5, 5])], (a) => wg.clamp(a, -0.5, 0.7)),
  c('where', [[3, 4], [3, 4], [4]], (cond, a, b) => wg.where(wg.gt(cond.detach(), 0), a, b)),
  c('sum all', [[3, 5]], (a) => wg.sum(a)),
  c('sum dims keepdim', [[2, 3, 5]], (a) => wg.sum(a, [0, 2], true)),
  c('mean dim', [[4, 3, 2]], (a) => wg.mean(a, 1)),
  c('max dim', [distinct([3, 7])], (a) => wg.max(a, 1)),
  c('min dims', [distinct([2, 3, 4])], (a) => wg.min(a, [0, 2], true)),
  c('var dims', [[4, 6]], (a) => wg.variance(a, 1)),
  c('matmul 2d', [[3, 17], [17, 5]], (a, b) => wg.matmul(a, b)),
  c('matmul batched broadcast', [[2, 1, 3, 4], [3, 4, 5]], (a, b) => wg.matmul(a, b)),
  c('matmul vector', [[4], [4, 3]], (a, b) => wg.matmul(a, b)),
  c('matmul transB', [[2, 3, 4], [5, 4]], (a, b) => wg.matmul(a, b, { transB: true })),
  c('matmul transA', [[4, 3], [2, 4, 5]], (a, b) => wg.matmul(a, b, { transA: true })),
  c('linear', [[3, 5], [4, 5], [4]], (x, w, b) => wg.linear(x, w, b)),
  c('reshape', [[3, 4]], (a) => wg.square(wg.reshape(a, [2, -1]))),
  c('permute', [[2, 3, 4]], (a) => wg.permute(a, [2, 0, 1])),
  c('transpose', [[3, 5]], (a) => wg.transpose(a, 0, 1)),
  c('flatten', [[2, 3, 4]], (a) => wg.flatten(a, 1)),
  c('squeeze/unsqueeze', [[3, 1, 4]], (a) => wg.unsqueeze(wg.squeeze(a, 1), 0)),
  c('expand', [[3, 1]], (a) => wg.expand(a, [2, 3, 5])),
  c('slice', [[5, 6]], (a) => wg.slice(a, [1, 2], [3, -1])),
  c('narrow', [[4, 7]], (a) => wg.narrow(a, 1, 2, 3)),
  c('select', [[4, 5, 3]], (a) => wg.select(a, 1, -2)),
  c('index slices, steps, a position', [[5, 7, 3]], (a) => wg.index(a, [[1, null, 2], [-6, 6, 3], 2])),
  c('index with a tensor', [[5, 3], ints([4], 3)], (a, i) => wg.index(a, [[0, 4], i])),
  c('T, mT, t()', [[2, 3, 4], [3, 4]], (a, b) => wg.add(a.T.mT, wg.mul(a.permute(2, 0, 1), b.t().view(4, 1, -1)))),
  c('indexSelect', [[5, 3], ints([4], 5)], (a, i) => wg.indexSelect(a, 0, i)),
  c('gather', [[3, 5], ints([3, 4], 5)], (a, i) => wg.gather(a, 1, i)),
  c('cat', [[2, 3], [4, 3]], (a, b) => wg.cat([a, b], 0)),
  c('stack', [[2, 3], [2, 3]], (a, b) => wg.stack([a, b], 1)),
  c('pad constant', [[2, 3, 4]], (a) => wg.pad(a, [1, 2, 0, 1], 'constant', 0.5)),
  c('pad reflect', [[1, 2, 4, 5]], (a) => wg.pad(a, [2, 1, 3, 1], 'reflect')),
  c('pad replicate', [[1, 2, 3, 4]], (a) => wg.pad(a, [2, 3, 1, 2], 'replicate')),
  c('pad circular', [[1, 2, 3, 4]], (a) => wg.pad(a, [2, 1, 1, 3], 'circular')),
  c('pad reflect widest', [[2, 3]], (a) => wg.pad(a, [2, 2], 'reflect')),
  c('pad circular whole dim', [[2, 3]], (a) => wg.pad(a, [3, 3], 'circular')),
  c('pad replicate three dims', [[2, 3, 1, 2]], (a) => wg.pad(a, [1, 2, 3, 0, 0, 2], 'replicate')),
  c('softmax', [[3, 5]], (a) => wg.softmax(a, 1)),
  c('softmax dim 0', [[4, 3]], (a) => wg.softmax(a, 0)),
  c('logSoftmax', [[3, 7]], (a) => wg.logSoftmax(a, -1)),
  c('crossEntropy', [[5, 4], ints([5], 4)], (x, t) => wg.crossEntropy(x, t)),
  c('crossEntropy smoothing sum', [[5, 4], ints([5], 4)], (x, t) => wg.crossEntropy(x, t, { labelSmoothing: 0.1, reduction: 'sum' })),
  c('crossEntropy probabilities', [[5, 4], pos([5, 4])], (x, p) => wg.crossEntropy(x, wg.div(p, wg.sum(p, 1, true)))),
  c('crossEntropy probabilities spatial smoothing', [[2, 3, 2, 2], stats([2, 3, 2, 2])], (x, p) => wg.crossEntropy(x, p, { labelSmoothing: 0.2, reduction: 'none' })),
  c('crossEntropy spatial none', [[2, 3, 2, 2], ints([2, 2, 2], 3)], (x, t) => wg.crossEntropy(x, t, { reduction: 'none' })),
  c('crossEntropy smoothing none', [[6, 5], ints([6], 5)], (x, t) => wg.crossEntropy(x, t, { labelSmoothing: 0.2, reduction: 'none' })),
  c('crossEntropy spatial smoothing mean', [[2, 4, 3], ints([2, 3], 4)], (x, t) => wg.crossEntropy(x, t, { labelSmoothing: 0.1 })),
  c('crossEntropy one sample', [[7], ints([], 7)], (x, t) => wg.crossEntropy(x, t, { labelSmoothing: 0.3, reduction: 'sum' })),
  c('mseLoss', [[3, 4], [3, 4]], (a, b) => wg.mseLoss(a, b)),
  c('l1Loss', [distinct([3, 4]), { shape: [3, 4], noGrad: true }], (a, b) => wg.l1Loss(a, b)),
  c('conv1d stride dilation', [[2, 4, 11], [6, 2, 3], [6]], (x, w, b) => wg.conv1d(x, w, b, { stride: 2, dilation: 2, padding: 1, groups: 2 })),
  c('conv2d basic', [[2, 3, 5, 6], [4, 3, 3, 3], [4]], (x, w, b) => wg.conv2d(x, w, b, { padding: 1 })),
  c('conv2d stride 2 non-square', [[1, 2, 7, 6], [3, 2, 3, 2]], (x, w) => wg.conv2d(x, w, null, { stride: [2, 1], padding: [1, 0] })),
  c('conv2d dilation 3 groups', [[1, 4, 9, 9], [4, 2, 3, 3]], (x, w) => wg.conv2d(x, w, null, { dilation: 3, groups: 2, padding: 2 })),
  c('conv2d same even kernel', [[1, 2, 5, 5], [2, 2, 2, 4]], (x, w) => wg.conv2d(x, w, null, { padding: 'same' })),
  c('conv2d reflect', [[1, 2, 5, 4], [3, 2, 3, 3], [3]], (x, w, b) => wg.conv2d(x, w, b, { padding: 1, paddingMode: 'reflect' })),
  c('conv2d circular', [[1, 1, 4, 5], [2, 1, 3, 3]], (x, w) => wg.conv2d(x, w, null, { padding: [1, 2], paddingMode: 'circular' })),
  c('conv2d replicate', [[1, 1, 4, 4], [1, 1, 3, 3]], (x, w) => wg.conv2d(x, w, null, { padding: 1, paddingMode: 'replicate' })),
  c('conv3d', [[1, 2, 4, 5, 4], [2, 2, 2, 3, 2], [2]], (x, w, b) => wg.conv3d(x, w, b, { stride: [1, 2, 1], padding: [1, 0, 1] })),
  c('unfold', [[1, 2, 4, 5]], (x) => wg.unfold(x, [2, 3], { stride: 1, padding: 1 })),
  c('maxPool1d', [distinct([2, 3, 9])], (x) => wg.maxPool1d(x, 3, { stride: 2, padding: 1 })),
  c('maxPool2d ceil', [distinct([1, 2, 7, 6])], (x) => wg.maxPool2d(x, 2, { ceilMode: true })),
  c('maxPool2d dilation', [distinct([1, 1, 7, 7])], (x) => wg.maxPool2d(x, 3, { stride: 1, dilation: 2 })),
  c('maxPool3d', [distinct([1, 2, 4, 4, 5])], (x) => wg.maxPool3d(x, 2, { stride: [2, 2, 1] })),
  c('avgPool1d', [[2, 3, 8]], (x) => wg.avgPool1d(x, 3, { stride: 2, padding: 1 })),
  c('avgPool2d ceil no pad count', [[1, 2, 7, 6]], (x) => wg.avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false })),
  c('avgPool3d', [[1, 1, 4, 5, 6]], (x) => wg.avgPool3d(x, [2, 2, 3])),
  c('adaptiveAvgPool2d', [[2, 3, 7, 5]], (x) => wg.adaptiveAvgPool2d(x, [3, 2])),
  c('pool2d user-defined', [distinct([1, 2, 4, 6])], (x) => wg.pool2d(x, 2, (w) => wg.max(w, 2).add(wg.mean(w, 2)))),
  c('batchNorm train', [[4, 3, 2, 2], [3], [3]], (x, w, b) => wg.batchNorm(x, null, null, w, b, { training: true })),
  c('batchNorm train without weight/bias', [[3, 4, 5]], (x) => wg.batchNorm(x, null, null, null, null, { training: true })),
  c('batchNorm train [3, 5] (no spatial dims)', [[3, 5], [5], [5]], (x, w, b) => wg.batchNorm(x, null, null, w, b, { training: true })),
  c('batchNorm train [2, 3, 5, 7], weight only', [[2, 3, 5, 7], [3]], (x, w) => wg.batchNorm(x, null, null, w, null, { training: true, eps: 1e-3 })),
  c('batchNorm eval', [[3, 2, 5], stats([2]), stats([2]), [2], [2]], (x, m, v, w, b) => wg.batchNorm(x, m, v, w, b, { training: false })),
  c('dropout p=0.5', [[4, 6]], (x) => {
    wg.manualSeed(7);
    return wg.dropout(x, 0.5, true);
  }),
];

/**
 * One case per differentiable op of the elementwise table that no case above names first
 * (so a new table op is gradchecked and compared across devices without an edit here).
 */
const covered = new Set(handWritten.map((k) => k.name.split(' ')[0]));
const fromTable: OpCase[] = [...wg.elementwiseOps.values()]
  .filter(({ op }) => !op.internal && op.grad && !covered.has(op.name))
  .map(({ op }) => {
    const kind = op.check?.input ?? 'normal';
    const fn = wg.elementwiseOps.get(op.name) as unknown as (...args: (Tensor | number)[]) => Tensor;
    const args = op.check?.args ?? [];
    const shapes = op.arity === 1 ? [[3, 7]] : [[3, 1, 5], [4, 1]];
    return c(op.name, shapes.map((shape) => ({ shape, kind })), (...xs) => fn(...xs, ...args), op.check?.atol);
  });

export const opCases: OpCase[] = [...handWritten, ...fromTable];

const special = (shape: number[]): InputSpec => ({ shape, kind: 'special' });

/**
 * The same ops on inputs with NaN, ±Infinity, ±0 and ties (forward and backward): every op
 * of the elementwise table, internal ones included (binary ones broadcast so each special
 * value meets each other), and the ops whose kernels pick or compare values (reductions,
 * arg reductions, pooling, softmax, losses, clamp-like activations, convolution). Not
 * gradchecked; the device suites compare them, NaN for NaN and infinity for infinity.
 */
const specialHandWritten: OpCase[] = [
  c('clamp', [special([5, 7])], (a) => wg.clamp(a, -0.5, 0.7)),
  c('clamp min only', [special([5, 7])], (a) => wg.clamp(a, 0.2)),
  c('hardtanh', [special([5, 7])], (a) => wg.hardtanh(a, -0.5, 0.6)),
  c('max dim', [special([6, 7])], (a) => wg.max(a, 1)),
  c('max dim 0 keepdim', [special([6, 7])], (a) => wg.max(a, 0, true)),
  c('min dims', [special([2, 3, 7])], (a) => wg.min(a, [0, 2])),
  c('max all', [special([6, 7])], (a) => wg.max(a)),
  c('argmax dim', [special([6, 7])], (a) => wg.argmax(a, 1)),
  c('argmin dim 0', [special([6, 7])], (a) => wg.argmin(a, 0)),
  c('argmax all', [special([6, 7])], (a) => wg.argmax(a)),
  c('argmax long rows (workgroup tree)', [special([3, 2000])], (a) => wg.argmax(a, 1)),
  c('max long rows (workgroup tree)', [special([3, 2000])], (a) => wg.max(a, 1)),
  c('sum dim', [special([6, 7])], (a) => wg.sum(a, 1)),
  c('maxPool2d', [special([1, 2, 7, 6])], (x) => wg.maxPool2d(x, 2, { ceilMode: true })),
  c('maxPool2d overlapping', [special([1, 2, 6, 7])], (x) => wg.maxPool2d(x, 3, { stride: 1, padding: 1 })),
  c('maxPool1d', [special([2, 3, 9])], (x) => wg.maxPool1d(x, 3, { stride: 2, padding: 1 })),
  c('avgPool2d', [special([1, 2, 6, 7])], (x) => wg.avgPool2d(x, 2)),
  c('softmax', [special([5, 7])], (a) => wg.softmax(a, 1)),
  c('softmax long rows', [special([2, 700])], (a) => wg.softmax(a, 1)),
  c('logSoftmax', [special([5, 7])], (a) => wg.logSoftmax(a, 1)),
  c('crossEntropy', [special([5, 4]), ints([5], 4)], (x, t) => wg.crossEntropy(x, t, { reduction: 'none' })),
  c('mseLoss', [special([3, 4]), special([3, 4])], (a, b) => wg.mseLoss(a, b, { reduction: 'none' })),
  c('conv2d then relu', [special([1, 2, 5, 6]), [3, 2, 3, 3]], (x, w) => wg.relu(wg.conv2d(x, w, null, { padding: 1 }))),
  c('where', [special([3, 4]), special([3, 4]), special([4])], (cond, a, b) => wg.where(cond.detach(), a, b)),
];

export const nonFiniteCases: OpCase[] = [
  ...specialHandWritten,
  ...[...wg.elementwiseOps.values()]
    .filter(({ op }) => op.name !== 'cast')
    .map(({ op }) => {
      const fn = wg.elementwiseOps.get(op.name) as unknown as (...args: (Tensor | number)[]) => Tensor;
      const args = op.check?.args ?? [];
      const shapes = op.arity === 1 ? [[5, 7]] : [[7, 1, 5], [6, 1]];
      return c(`${op.name}${op.internal ? ' (internal)' : ''}`, shapes.map(special), (...xs) => fn(...xs, ...args));
    }),
];
