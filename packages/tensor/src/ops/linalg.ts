import { record } from '../autograd';
import { broadcastShapes, fmt, sizeOf } from '../shape';
import { Tensor } from '../tensor';
import { allocate, commonBackend, requireFloat, wrap } from './util';
import { reshape } from './shape';
import { expand, sumTo } from './broadcast';
import { add } from './elementwise';

/**
 * op(a) @ op(b) for 3-D operands [batchA|1, rows, cols] where a batch of 1 broadcasts.
 * Written as its own differentiable op so that gradients need no transposed copies.
 */
function matmul3(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  const backend = commonBackend('matmul', a, b);
  const [ba, ar, ac] = a.shape;
  const [bb, br, bc] = b.shape;
  const m = transA ? ac : ar;
  const k = transA ? ar : ac;
  const kb = transB ? bc : br;
  const n = transB ? br : bc;
  if (k !== kb) throw new Error(`matmul: inner sizes differ (${k} vs ${kb})`);
  const batch = Math.max(ba, bb);
  const s = allocate('matmul', [batch, m, n], () =>
    backend.matmul(a.storage, b.storage, { batch, m, n, k, transA, transB, aBatchStride: ba === 1 ? 0 : m * k, bBatchStride: bb === 1 ? 0 : k * n }, a.dtype),
  );
  const out = wrap(backend, s, [batch, m, n], a.dtype);
  return record('matmul', out, [a, b], (g) => {
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (a.requiresGrad) {
      ga = transA ? matmul3(b, g, transB, true) : matmul3(g, b, false, !transB);
      if (ba === 1 && batch > 1) ga = sumTo(ga, [1, ar, ac]);
    }
    if (b.requiresGrad) {
      gb = transB ? matmul3(g, a, true, transA) : matmul3(a, g, !transA, false);
      if (bb === 1 && batch > 1) gb = sumTo(gb, [1, br, bc]);
    }
    return [ga, gb];
  }, { transA, transB });
}

/**
 * Matrix product with NumPy/PyTorch semantics: 1-D operands are vectors, leading dims are
 * batch dims and broadcast. transA/transB multiply by the transposed last two dims without a copy.
 */
export function matmul(a: Tensor, b: Tensor, opts: { transA?: boolean; transB?: boolean } = {}): Tensor {
  requireFloat('matmul', a, b);
  // Checked here, on the caller's shapes, before the operands become internal 3-D views.
  commonBackend('matmul', a, b);
  if (a.rank === 0 || b.rank === 0) throw new Error(`matmul: both operands need at least 1 dim, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  const transA = !!opts.transA && a.rank > 1;
  const transB = !!opts.transB && b.rank > 1;
  const a2 = a.rank === 1 ? reshape(a, [1, a.shape[0]]) : a;
  const b2 = b.rank === 1 ? reshape(b, [b.shape[0], 1]) : b;
  const [ar, ac] = a2.shape.slice(-2);
  const [br, bc] = b2.shape.slice(-2);
  const k = transA ? ar : ac;
  const kb = transB ? bc : br;
  if (k !== kb) {
    throw new Error(
      `matmul: inner sizes differ: ${fmt(a.shape)}${transA ? 'ᵀ' : ''} @ ${fmt(b.shape)}${transB ? 'ᵀ' : ''} needs a's columns (${k}) to equal b's rows (${kb})`,
    );
  }
  const batchA = a2.shape.slice(0, -2);
  const batchB = b2.shape.slice(0, -2);
  const batch = broadcastShapes('matmul', batchA, batchB);
  const n = sizeOf(batch);
  // Each side is [1 or batch, r, c]: materialise a partial broadcast, keep a lone matrix as stride 0.
  const as3 = (x: Tensor, own: number[], r: number, c: number) =>
    sizeOf(own) === 1 ? reshape(x, [1, r, c]) : reshape(sizeOf(own) === n ? x : expand(x, [...batch, r, c]), [n, r, c]);
  const out = matmul3(as3(a2, batchA, ar, ac), as3(b2, batchB, br, bc), transA, transB);
  const m = transA ? ac : ar;
  const cols = transB ? br : bc;
  const shape = [...batch, ...(a.rank === 1 ? [] : [m]), ...(b.rank === 1 ? [] : [cols])];
  return reshape(out, shape);
}

/** x @ wᵀ + b, PyTorch's F.linear (w is [out, in]). */
export function linear(x: Tensor, w: Tensor, b?: Tensor | null): Tensor {
  if (w.rank !== 2) throw new Error(`linear: weight must be 2-D [out, in], got ${fmt(w.shape)}`);
  commonBackend('linear', ...(b ? [x, w, b] : [x, w]));
  if (x.shape[x.rank - 1] !== w.shape[1]) {
    throw new Error(`linear: input has ${x.shape[x.rank - 1]} features but weight expects ${w.shape[1]} (input ${fmt(x.shape)}, weight ${fmt(w.shape)})`);
  }
  const y = matmul(x, w, { transB: true });
  return b ? add(y, b) : y;
}
