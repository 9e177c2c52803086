/** The kernel-learning hint of the playground's panel 1: none once converged; more steps while the error still falls; a smaller rate once it stalls. */
import { describe, expect, it } from 'vitest';
import { CONVERGED, convergenceHint } from '../examples/playground/conv-panel';

describe('playground convergence hint', () => {
  it('says nothing once the error is under CONVERGED of the output mean square', () => {
    expect(convergenceHint([1, 0.1, 0.5 * CONVERGED], 1, 3, 0.05)).toBeNull();
  });
  it('still falling, oscillations included: more steps or a larger rate', () => {
    const wobbly = Array.from({ length: 60 }, (_, i) => Math.exp(-i / 10) * (1 + 0.5 * Math.sin(i)));
    expect(convergenceHint(wobbly, 1, 60, 0.05)).toMatch(/still falling: try more steps \(120\) or a larger learning rate \(0.1\)/);
  });
  it('stalled: a smaller rate', () => {
    const flat = Array.from({ length: 60 }, (_, i) => (i < 10 ? 1 - i / 20 : 0.5 + 0.1 * Math.sin(i)));
    expect(convergenceHint(flat, 1, 60, 0.05)).toMatch(/no longer falling: try a smaller learning rate \(0.01\)/);
  });
});
