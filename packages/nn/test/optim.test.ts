import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { expectClose } from './helpers/close';

interface Step {
  lr: number;
  grads: Record<'w1' | 'w2', number[]>;
  params: Record<'w1' | 'w2', number[]>;
}
interface Case {
  name: string;
  optimizer: 'SGD' | 'Adam' | 'AdamW';
  options: Record<string, unknown>;
  scheduler: { type: 'StepLR' | 'CosineAnnealingLR'; stepSize?: number; gamma?: number; tMax?: number; etaMin?: number } | null;
  initial: Record<'w1' | 'w2', number[]>;
  steps: Step[];
}
const golden = JSON.parse(readFileSync(new URL('./fixtures/optim.json', import.meta.url), 'utf8')) as {
  cases: Case[];
  schedulers: { type: string; stepSize?: number; gamma?: number; tMax?: number; etaMin?: number; baseLr: number; lrs: number[] }[];
  clipGradNorm: { maxNorm: number; normType: number | 'inf'; grads: Record<'g1' | 'g2', number[]>; total: number; clipped: Record<'g1' | 'g2', number[]> }[];
};

function makeOptimizer(c: Case, params: wg.Tensor[]): nn.Optimizer {
  if (c.optimizer === 'SGD') return new nn.SGD(params, c.options as unknown as nn.SgdOptions);
  const o = c.options as nn.AdamOptions;
  return c.optimizer === 'Adam' ? new nn.Adam(params, o) : new nn.AdamW(params, o);
}

function makeScheduler(s: NonNullable<Case['scheduler']> | { type: string; stepSize?: number; gamma?: number; tMax?: number; etaMin?: number }, opt: nn.Optimizer): nn.LRScheduler {
  return s.type === 'StepLR' ? new nn.StepLR(opt, s.stepSize!, s.gamma) : new nn.CosineAnnealingLR(opt, s.tMax!, s.etaMin);
}

describe('optimizers against PyTorch 1.13 (given the same gradients)', () => {
  for (const c of golden.cases) {
    it(c.name, () => {
      const w1 = new nn.Parameter(wg.tensor(c.initial.w1, [3, 4]));
      const w2 = new nn.Parameter(wg.tensor(c.initial.w2, [5]));
      const opt = makeOptimizer(c, [w1, w2]);
      const sched = c.scheduler ? makeScheduler(c.scheduler, opt) : null;
      c.steps.forEach((s, i) => {
        expect(opt.paramGroups[0].lr, `lr at step ${i}`).toBeCloseTo(s.lr, 12);
        wg.tidy(() => {
          opt.zeroGrad();
          w1.grad = wg.keep(wg.tensor(s.grads.w1, [3, 4]));
          w2.grad = wg.keep(wg.tensor(s.grads.w2, [5]));
          opt.step();
        });
        sched?.step();
        expectClose(w1.dataSync(), s.params.w1, `${c.name} w1 after step ${i + 1}`, 2e-6, 1e-7);
        expectClose(w2.dataSync(), s.params.w2, `${c.name} w2 after step ${i + 1}`, 2e-6, 1e-7);
      });
      opt.zeroGrad();
    });
  }

  it('with gradients from our own autograd, SGD momentum stays on PyTorch\'s path', () => {
    const c = golden.cases.find((x) => x.name === 'sgd momentum')!;
    const w1 = new nn.Parameter(wg.tensor(c.initial.w1, [3, 4]));
    const w2 = new nn.Parameter(wg.tensor(c.initial.w2, [5]));
    const opt = new nn.SGD([w1, w2], { lr: 0.05, momentum: 0.9 });
    const x = wg.tensor([[1.0, -2.0], [0.5, 0.25], [-1.0, 3.0], [2.0, 0.0]]);
    const t = wg.tensor([[0.3, -0.1], [1.0, 0.5], [-0.7, 0.2]]);
    for (const s of c.steps) {
      wg.tidy(() => {
        opt.zeroGrad();
        const fit = w1.matmul(x).sub(t).square().sum();
        fit.add(w2.pow(3).sub(w2).sum()).backward();
        expectClose(w1.grad!.dataSync(), s.grads.w1, 'autograd w1', 1e-5, 1e-5);
        opt.step();
      });
      expectClose(w1.dataSync(), s.params.w1, 'w1', 1e-5, 1e-6);
    }
  });

  it('rejects bad settings like PyTorch', () => {
    const p = [new nn.Parameter(wg.zeros([2]))];
    expect(() => new nn.SGD(p, { lr: 0.1, nesterov: true })).toThrow('nesterov momentum needs momentum > 0 and dampening 0');
    expect(() => new nn.Adam(p, { betas: [1, 0.9] })).toThrow('invalid beta parameter at index 0: 1');
    expect(() => new nn.SGD([], { lr: 0.1 })).toThrow('empty parameter list');
    expect(() => new nn.SGD([p[0], p[0]], { lr: 0.1 })).toThrow('appears twice');
  });

  it('parameter groups carry their own settings', () => {
    const a = new nn.Parameter(wg.ones([2]));
    const b = new nn.Parameter(wg.ones([2]));
    const opt = new nn.SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
    a.grad = wg.keep(wg.ones([2]));
    b.grad = wg.keep(wg.ones([2]));
    opt.step();
    expectClose(a.dataSync(), [0.9, 0.9]);
    expectClose(b.dataSync(), [0.5, 0.5]);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
  });

  it('stateDict / loadStateDict carry the moments and step counts', () => {
    const p = new nn.Parameter(wg.tensor([1, 2, 3]));
    const opt = new nn.Adam([p], { lr: 0.1 });
    for (let i = 0; i < 2; i++) {
      p.grad = wg.keep(wg.tensor([0.5, -1, 2]));
      opt.step();
      opt.zeroGrad();
    }
    const q = new nn.Parameter(p.clone());
    const other = new nn.Adam([q], { lr: 0.3 });
    other.loadStateDict(opt.stateDict());
    expect(other.paramGroups[0].lr).toBe(0.1);
    for (const [o, param] of [[opt, p], [other, q]] as const) {
      param.grad = wg.keep(wg.tensor([1, 1, 1]));
      o.step();
    }
    expect(Array.from(q.dataSync())).toEqual(Array.from(p.dataSync()));
    expect(other.state.get(q)!.step).toBe(3);
  });
});

describe('schedulers against PyTorch', () => {
  for (const s of golden.schedulers) {
    it(`${s.type} ${JSON.stringify({ ...s, lrs: undefined })}`, () => {
      const opt = new nn.SGD([new nn.Parameter(wg.zeros([1]))], { lr: s.baseLr });
      const sched = makeScheduler(s, opt);
      const lrs: number[] = [];
      for (let e = 0; e < s.lrs.length; e++) {
        lrs.push(opt.paramGroups[0].lr);
        sched.step();
      }
      expectClose(lrs, s.lrs, 'lrs', 1e-12, 1e-15);
      expect(sched.getLastLr()[0]).toBe(opt.paramGroups[0].lr);
    });
  }
});

describe('clipGradNorm against PyTorch', () => {
  for (const c of golden.clipGradNorm) {
    it(`maxNorm ${c.maxNorm}, norm ${c.normType}`, () => {
      const p1 = new nn.Parameter(wg.zeros([3, 4]));
      const p2 = new nn.Parameter(wg.zeros([5]));
      p1.grad = wg.keep(wg.tensor(c.grads.g1, [3, 4]));
      p2.grad = wg.keep(wg.tensor(c.grads.g2, [5]));
      const total = nn.clipGradNorm([p1, p2], c.maxNorm, c.normType === 'inf' ? Infinity : c.normType);
      expect(total.dataSync()[0]).toBeCloseTo(c.total, 5);
      expectClose(p1.grad.dataSync(), c.clipped.g1, 'g1');
      expectClose(p2.grad.dataSync(), c.clipped.g2, 'g2');
    });
  }
});
