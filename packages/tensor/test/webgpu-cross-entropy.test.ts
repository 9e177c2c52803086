/**
 * The fused cross-entropy (Backend.crossEntropy and crossEntropyBackward) on webgpu against
 * the cpu backend's JavaScript reference: random logits of odd shapes, every reduction, with
 * and without label smoothing, both forward kernels (one workgroup, and one invocation per
 * row with the total after), and NaN / ±Infinity logits and out-of-range targets. Skipped
 * without an adapter, except under CI=true.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { crossEntropyMode } from '@webgrad/kernels-wgsl';
import type { CrossEntropyParams, Storage } from '../src/backend';
import { openBackend } from './helpers/webgpu-backend';
import { Pair, randoms } from './helpers/backend-pair';

const main = await openBackend();
afterAll(async () => {
  await main.gpu?.destroy();
});

const { randF, randI } = randoms(4242);
const reductions = ['mean', 'sum', 'none'] as const;

/** Forward and backward of one case on both backends: loss, lse and gx compared within `tol`. */
async function sameCrossEntropy(P: Pair, x: [Storage, Storage], t: [Storage, Storage], rows: number, cols: number, p: CrossEntropyParams, tol: number): Promise<void> {
  const name = `crossEntropy ${rows}x${cols} ${p.reduction} ε=${p.labelSmoothing}`;
  const none = p.reduction === 'none';
  const [fg, fc] = P.both((be, i) => be.crossEntropy(x[i], t[i], rows, cols, p, 'float32'));
  const g = P.up(randF(none ? rows : 1, 0.5, 2));
  const gx = P.both((be, i) => be.crossEntropyBackward(g[i], x[i], [fg.lse, fc.lse][i], t[i], rows, cols, p, 'float32'));
  await P.same([fg.loss, fc.loss], none ? rows : 1, `${name} loss`, 'float32', tol);
  await P.same([fg.lse, fc.lse], rows, `${name} lse`, 'float32', tol);
  await P.same(gx, rows * cols, `${name} gx`, 'float32', tol);
}

describe.skipIf(!main.gpu)(`webgpu crossEntropy equals the cpu reference (${main.reason})`, () => {
  const P = new Pair(main.gpu!);

  it('random logits, odd shapes, every reduction, ε 0 and 0.1, in one workgroup', async () => {
    for (const rows of [1, 3, 37, 300]) {
      for (const cols of [1, 2, 10, 33, 1000]) {
        expect(crossEntropyMode(rows, cols)).toBe('group');
        const x = P.up(randF(rows * cols, -8, 8)), t = P.up(randI(rows, 0, cols - 1));
        for (const reduction of reductions) {
          for (const labelSmoothing of [0, 0.1]) await sameCrossEntropy(P, x, t, rows, cols, { reduction, labelSmoothing }, 1e-5);
        }
      }
    }
  });

  it('more values than one workgroup takes: the row losses (by rows, or by workgroups for long rows), then the mean or sum', async () => {
    for (const [rows, cols, mode] of [[70_001, 17, 'rows'], [4099, 257, 'rows'], [9, 5001, 'wide'], [300, 2053, 'wide']] as const) {
      expect(crossEntropyMode(rows, cols), `${rows}x${cols}`).toBe(mode);
      const x = P.up(randF(rows * cols, -8, 8)), t = P.up(randI(rows, 0, cols - 1));
      for (const reduction of reductions) await sameCrossEntropy(P, x, t, rows, cols, { reduction, labelSmoothing: 0.1 }, 1e-5);
    }
  });

  it('NaN, ±Infinity and out-of-range targets as the reference, in every forward mode', async () => {
    const nan = NaN, inf = Infinity;
    // Each row's first logits, the rest 0.5; row 2's target is a finite logit, row 5's the
    // −∞ one (an infinite loss, finite gradients); the last two rows' targets are out of range.
    const heads = [[1, nan, 3, 4], [5, 6, inf, 0], [-inf, 1, 2, 3], [-inf, -inf, -inf, -inf], [0.5, -1, 2, 0], [-inf, 1, 2, 3], [inf, -inf, 0, 1], [1, 2, 3, 4], [1, 2, 3, 4]];
    const targets = (cols: number) => [0, 1, 2, 3, 2, 0, 3, -1, cols];
    for (const [rows, cols, mode] of [[9, 4, 'group'], [18, 4, 'group'], [9, 5000, 'wide'], [270_000, 4, 'rows']] as const) {
      expect(crossEntropyMode(rows, cols), `${rows}x${cols}`).toBe(mode);
      const x = new Float32Array(rows * cols).fill(0.5), target = new Int32Array(rows);
      for (let r = 0; r < rows; r++) {
        x.set(heads[r % heads.length], r * cols);
        target[r] = targets(cols)[r % heads.length];
      }
      const xs = P.up(x), ts = P.up(target);
      for (const reduction of reductions) {
        for (const labelSmoothing of [0, 0.1]) await sameCrossEntropy(P, xs, ts, rows, cols, { reduction, labelSmoothing }, 1e-5);
      }
    }
  });

  it('no rows: the mean is NaN, the sum 0', async () => {
    const x = P.up(new Float32Array(0)), t = P.up(new Int32Array(0));
    for (const reduction of reductions) {
      const p = { reduction, labelSmoothing: 0 };
      const [g, c] = P.both((be, i) => be.crossEntropy(x[i], t[i], 0, 5, p, 'float32'));
      const expected = reduction === 'none' ? [] : reduction === 'mean' ? [NaN] : [0];
      expect([...(await main.gpu!.read(g.loss, expected.length, 'float32'))], `webgpu ${reduction}`).toEqual(expected);
      await P.same([g.lse, c.lse], 0, `lse ${reduction}`);
      await P.same([g.loss, c.loss], expected.length, `loss ${reduction}`);
    }
  });
});
