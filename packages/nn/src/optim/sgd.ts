import { type SgdParams, type Tensor, replayed, sgdUpdates, zerosLike } from '@webgrad/tensor';
import { Optimizer, type ParamsArg } from './optimizer';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}
type SgdHyper = { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean };

/** torch.optim.SGD: d = g + λw; buf = μ·buf + (1 − τ)·d (buf = d at first); w −= lr·(nesterov ? d + μ·buf : buf). */
export class SGD extends Optimizer<SgdHyper> {
  constructor(params: ParamsArg<SgdHyper>, opts: SgdOptions) {
    const h: SgdHyper = { lr: opts.lr, momentum: opts.momentum ?? 0, dampening: opts.dampening ?? 0, weightDecay: opts.weightDecay ?? 0, nesterov: opts.nesterov ?? false };
    if (!(h.lr >= 0)) throw new Error(`SGD: invalid learning rate ${h.lr}`);
    if (!(h.momentum >= 0)) throw new Error(`SGD: invalid momentum ${h.momentum}`);
    if (!(h.weightDecay >= 0)) throw new Error(`SGD: invalid weightDecay ${h.weightDecay}`);
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) throw new Error('SGD: nesterov momentum needs momentum > 0 and dampening 0');
    super(params, h);
  }

  /** A multi-tensor step: the parameters that share settings, first-step state and device are updated together. */
  step(): void {
    const batches = new Map<string, { h: SgdParams; group: SgdHyper; params: Tensor[]; grads: Tensor[]; bufs: (Tensor | null)[] }>();
    const groupIds = new Map<object, number>();
    this.forEachParam((p: Tensor, grad, g, state) => {
      let buf: Tensor | null = null;
      let firstStep = false;
      if (g.momentum !== 0) {
        const s = this.stateTensor(state, 'momentumBuffer', () => zerosLike(p));
        buf = s.t;
        firstStep = s.fresh;
      }
      if (!groupIds.has(g)) groupIds.set(g, groupIds.size);
      const key = `${groupIds.get(g)}/${firstStep}/${p.device}`;
      let b = batches.get(key);
      if (!b) {
        b = { h: settings(g, firstStep), group: g, params: [], grads: [], bufs: [] };
        batches.set(key, b);
      }
      b.params.push(p);
      b.grads.push(grad);
      b.bufs.push(buf);
    });
    for (const b of batches.values()) {
      // A jit replay reads the settings (a scheduler's lr) again; its steps are never the first.
      sgdUpdates(b.params, b.grads, b.bufs, replayed(b.h, () => settings(b.group, false)));
    }
  }
}

const settings = (g: SgdHyper, firstStep: boolean): SgdParams =>
  ({ lr: g.lr, momentum: g.momentum, dampening: g.dampening, weightDecay: g.weightDecay, nesterov: g.nesterov, firstStep });
