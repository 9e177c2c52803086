/**
 * Tensor has its methods whichever module is imported first: here an ops module, then the
 * pieces, and never the package index (which used to attach the methods as a side effect).
 */
import { exp } from '../src/ops/elementwise';
import { tensor } from '../src/ops/creation';
import { registerBackend } from '../src/engine';
import { cpuBackend } from '../src/backends/cpu/index';
import { Tensor } from '../src/tensor';
import { describe, expect, it } from 'vitest';

registerBackend(cpuBackend);

describe('Tensor without the package index', () => {
  it('has the hand-written methods and the op table\'s methods, and no internal ones', () => {
    const t = tensor([1, -2]);
    expect(t).toBeInstanceOf(Tensor);
    expect(Array.from(exp(t).add(1).sum().reshape([1]).dataSync())[0]).toBeCloseTo(Math.exp(1) + Math.exp(-2) + 2, 5);
    expect(Array.from(t.relu().softplus(2, 1).dataSync())).toEqual([1, Math.log1p(1) / 2].map((v) => Math.fround(v)));
    expect('step' in t).toBe(false);
    expect('silu' in t).toBe(true);
  });
});
