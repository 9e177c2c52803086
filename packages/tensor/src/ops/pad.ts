/**
 * F.pad with PyTorch's modes, and its gradient: constant padding's adjoint crops; the other
 * modes fold each padded slab back onto the inputs it copied.
 */
import type { PadMode } from '../backend';
import { checkPadArguments } from '../shape-rules';
import { record } from '../autograd';
import { fmt } from '../shape';
import type { Tensor } from '../tensor';
import { padRaw, wrap } from './util';
import { clone, indexSelect, narrow } from './shape';
import { sum } from './broadcast';
import { add } from './elementwise';

/**
 * Pads x. `pads` follows PyTorch's F.pad: pairs (before, after) starting from the LAST dim.
 * Modes: constant (value), reflect (mirror without the edge), replicate, circular.
 */
export function pad(x: Tensor, pads: readonly number[], mode: PadMode = 'constant', value = 0): Tensor {
  if (pads.length % 2 !== 0 || pads.length / 2 > x.rank) {
    throw new Error(`pad: pads [${pads}] must hold (before, after) pairs for at most ${x.rank} dims of ${fmt(x.shape)}`);
  }
  const perDim: [number, number][] = x.shape.map(() => [0, 0]);
  for (let k = 0; k < pads.length / 2; k++) perDim[x.rank - 1 - k] = [pads[2 * k], pads[2 * k + 1]];
  checkPadArguments(x.shape, perDim, mode);
  const out = padRaw(x, perDim, mode, value);
  return record('pad', out, [x], (g) => {
    if (mode === 'constant') return [padRaw(g, perDim.map(([b, a]) => [-b, -a] as [number, number]), 'constant', 0)];
    // Every mode but constant is separable: the padding of each dim is a 1-D map applied
    // in turn, so the adjoint undoes one dim at a time with whole-slab ops, O(size).
    let grad = g;
    perDim.forEach(([b, a], d) => {
      if (b === 0 && a === 0) return;
      const next = padAdjointAlong(grad, d, b, a, x.shape[d], mode);
      if (grad !== g) grad.dispose();
      grad = next;
    });
    return [grad === g ? clone(g) : grad];
  }, { pads: perDim.flat(), mode, value });
}

/**
 * The gradient of a 1-D pad along dim d: the centre of g plus each padded slab folded back
 * onto the inputs it copied (reflect mirrors it, replicate sums it into the edge, circular
 * shifts it to the far end).
 */
function padAdjointAlong(g: Tensor, d: number, b: number, a: number, n: number, mode: PadMode): Tensor {
  let acc = narrow(g, d, b, n);
  const fold = (slab: Tensor, start: number): void => {
    const placed = padAlong(slab, d, start, n - start - slab.shape[d]);
    const total = add(acc, placed);
    for (const t of [acc, slab, placed]) t.dispose();
    acc = total;
  };
  const reversed = (t: Tensor): Tensor => {
    const idx = arangeInt(t.backend, t.shape[d], true);
    const out = indexSelect(t, d, idx);
    idx.dispose();
    return out;
  };
  if (b > 0) {
    const before = narrow(g, d, 0, b);
    if (mode === 'reflect') fold(swap(before, reversed(before)), 1);
    else if (mode === 'replicate') fold(swap(before, sum(before, d, true)), 0);
    else fold(before, n - b);
  }
  if (a > 0) {
    const after = narrow(g, d, b + n, a);
    if (mode === 'reflect') fold(swap(after, reversed(after)), n - 1 - a);
    else if (mode === 'replicate') fold(swap(after, sum(after, d, true)), n - 1);
    else fold(after, 0);
  }
  return acc;
}

/** Zero-pads dim d only. */
function padAlong(t: Tensor, d: number, before: number, after: number): Tensor {
  const pads: [number, number][] = t.shape.map(() => [0, 0]);
  pads[d] = [before, after];
  return padRaw(t, pads, 'constant', 0);
}

function swap(old: Tensor, replacement: Tensor): Tensor {
  old.dispose();
  return replacement;
}

function arangeInt(backend: Tensor['backend'], n: number, descending: boolean): Tensor {
  const values = new Int32Array(n);
  for (let i = 0; i < n; i++) values[i] = descending ? n - 1 - i : i;
  return wrap(backend, backend.upload(values, 'int32'), [n], 'int32');
}
