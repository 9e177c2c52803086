import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';

const sgd = () => new nn.SGD([new nn.Parameter(wg.zeros([1]))], { lr: 1 });

describe('schedulers take an options object like the optimizers', () => {
  it('StepLR and CosineAnnealingLR from options match the positional form', () => {
    const a = new nn.StepLR(sgd(), { stepSize: 2, gamma: 0.5 });
    const b = new nn.StepLR(sgd(), 2, 0.5);
    const c = new nn.CosineAnnealingLR(sgd(), { tMax: 4, etaMin: 0.1 });
    const d = new nn.CosineAnnealingLR(sgd(), 4, 0.1);
    for (let i = 0; i < 5; i++) {
      for (const s of [a, b, c, d]) s.step();
      expect(a.getLastLr()).toEqual(b.getLastLr());
      expect(c.getLastLr()).toEqual(d.getLastLr());
    }
    expect(a.getLastLr()).toEqual([0.25]);
    expect(new nn.StepLR(sgd(), { stepSize: 3 }).gamma).toBe(0.1);
  });
  it('a wrong call gets an error that shows the right form', () => {
    expect(() => new nn.StepLR(sgd(), {} as never)).toThrow('StepLR: stepSize is required: new StepLR(optimizer, { stepSize, gamma })');
    expect(() => new nn.StepLR(sgd(), { stepSize: 2, gama: 0.5 } as never)).toThrow("StepLR: unknown option 'gama'; expected new StepLR(optimizer, { stepSize, gamma })");
    expect(() => new nn.CosineAnnealingLR(sgd(), 'ten' as never)).toThrow(/CosineAnnealingLR: expected new CosineAnnealingLR\(optimizer, \{ tMax, etaMin \}\), got "ten"/);
    expect(() => new nn.StepLR(sgd(), { stepSize: 1.5 })).toThrow(/stepSize must be a positive integer, got 1.5/);
  });
});
