import { describe, expect, it } from 'vitest';
import { gradcheck } from '@webgrad/tensor';
import { opCases } from './helpers/op-cases';
import { makeInputs } from './helpers/inputs';

describe('gradcheck (float64, cpu): every differentiable op', () => {
  for (const op of opCases) {
    it(op.name, () => {
      const inputs = makeInputs(op.inputs, { dtype: 'float64', device: 'cpu' });
      const result = gradcheck(op.fn, inputs, { atol: op.atol ?? 1e-6, rtol: 1e-4 });
      expect(result.checked).toBeGreaterThan(0);
    });
  }
});
