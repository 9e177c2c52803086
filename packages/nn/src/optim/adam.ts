import { type AdamParams, type Tensor, adamUpdates, replayed, zerosLike } from '@webgrad/tensor';
import { Optimizer, type ParamState, type ParamsArg } from './optimizer';

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

  /** A multi-tensor step: the parameters that share settings, step count and device are updated together. */
  step(): void {
    const batches = new Map<string, { h: AdamParams; group: AdamHyper; states: ParamState[]; params: Tensor[]; grads: Tensor[]; ms: Tensor[]; vs: Tensor[] }>();
    const groupIds = new Map<object, number>();
    this.forEachParam((p, grad, g, state) => {
      const m = this.stateTensor(state, 'expAvg', () => zerosLike(p)).t;
      const v = this.stateTensor(state, 'expAvgSq', () => zerosLike(p)).t;
      const step = ((state.step as number | undefined) ?? 0) + 1;
      state.step = step;
      if (!groupIds.has(g)) groupIds.set(g, groupIds.size);
      const key = `${groupIds.get(g)}/${step}/${p.device}`;
      let b = batches.get(key);
      if (!b) {
        b = { h: this.settings(g, step), group: g, states: [], params: [], grads: [], ms: [], vs: [] };
        batches.set(key, b);
      }
      b.states.push(state);
      b.params.push(p);
      b.grads.push(grad);
      b.ms.push(m);
      b.vs.push(v);
    });
    for (const b of batches.values()) {
      // A jit replay counts the step and reads the settings (a scheduler's lr) again.
      const next = () => {
        for (const state of b.states) state.step = (state.step as number) + 1;
        return this.settings(b.group, b.states[0].step as number);
      };
      adamUpdates(b.params, b.grads, b.ms, b.vs, replayed(b.h, next));
    }
  }

  private settings(g: AdamHyper, step: number): AdamParams {
    return { lr: g.lr, beta1: g.betas[0], beta2: g.betas[1], eps: g.eps, weightDecay: g.weightDecay, decoupled: this.decoupled, step };
  }
}

/** torch.optim.AdamW: w ← w·(1 − lr·λ) before the Adam step (Loshchilov and Hutter); λ defaults to 0.01. */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;

  constructor(params: ParamsArg<AdamHyper>, opts: AdamOptions = {}) {
    super(params, opts, 1e-2);
  }
}
