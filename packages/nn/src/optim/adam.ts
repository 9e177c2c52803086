import { adamUpdate, zerosLike } from '@webgrad/tensor';
import { Optimizer, type ParamsArg } from './optimizer';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}
type AdamHyper = { lr: number; betas: [number, number]; eps: number; weightDecay: number };

function check(name: string, h: AdamHyper): void {
  if (!(h.lr >= 0)) throw new Error(`${name}: invalid learning rate ${h.lr}`);
  if (!(h.eps >= 0)) throw new Error(`${name}: invalid eps ${h.eps}`);
  h.betas.forEach((b, i) => {
    if (!(b >= 0 && b < 1)) throw new Error(`${name}: invalid beta parameter at index ${i}: ${b}`);
  });
  if (!(h.weightDecay >= 0)) throw new Error(`${name}: invalid weightDecay ${h.weightDecay}`);
}

/** torch.optim.Adam (L2 weight decay added to the gradient); AdamW decouples it. */
export class Adam extends Optimizer<AdamHyper> {
  protected readonly decoupled: boolean = false;

  constructor(params: ParamsArg<AdamHyper>, opts: AdamOptions = {}, weightDecayDefault = 0) {
    const h: AdamHyper = { lr: opts.lr ?? 1e-3, betas: opts.betas ?? [0.9, 0.999], eps: opts.eps ?? 1e-8, weightDecay: opts.weightDecay ?? weightDecayDefault };
    check(new.target.name, h);
    super(params, h);
  }

  step(): void {
    this.forEachParam((p, grad, g, state) => {
      const m = this.stateTensor(state, 'expAvg', () => zerosLike(p)).t;
      const v = this.stateTensor(state, 'expAvgSq', () => zerosLike(p)).t;
      const step = ((state.step as number | undefined) ?? 0) + 1;
      state.step = step;
      adamUpdate(p, grad, m, v, { lr: g.lr, beta1: g.betas[0], beta2: g.betas[1], eps: g.eps, weightDecay: g.weightDecay, decoupled: this.decoupled, step });
    });
  }
}

/** torch.optim.AdamW: w ← w·(1 − lr·λ) before the Adam step (Loshchilov and Hutter); λ defaults to 0.01. */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;

  constructor(params: ParamsArg<AdamHyper>, opts: AdamOptions = {}) {
    super(params, opts, 1e-2);
  }
}
