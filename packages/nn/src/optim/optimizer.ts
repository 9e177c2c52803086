import { type Tensor, keep, noGrad } from '@webgrad/tensor';

/** Hyper-parameters of a group; every optimizer has a learning rate, which schedulers change. */
export type Hyper = { lr: number };
export type ParamGroup<H extends Hyper> = H & { params: Tensor[] };
/** Parameters, or groups of parameters each with its own settings (PyTorch's param groups). */
export type ParamsArg<H extends Hyper> = Iterable<Tensor> | (Partial<H> & { params: Iterable<Tensor> })[];

/** Per-parameter state: tensors (moments, momentum) and numbers (the step count). */
export type ParamState = Record<string, Tensor | number>;

export interface OptimizerStateDict<H extends Hyper = Hyper> {
  /** By parameter index across all groups, in order. */
  state: Record<number, ParamState>;
  paramGroups: (H & { params: number[] })[];
}

/**
 * Base of the optimizers: parameter groups with hyper-parameters (a scheduler changes `lr`),
 * and per-parameter state kept alive past tidy() scopes. Updates are in place, on the
 * parameters' own storage, so modules and optimizer always see the same tensors.
 */
export abstract class Optimizer<H extends Hyper = Hyper> {
  readonly paramGroups: ParamGroup<H>[];
  readonly state = new Map<Tensor, ParamState>();

  constructor(params: ParamsArg<H>, readonly defaults: H) {
    const list = [...(params as Iterable<unknown>)];
    const groups = list.length > 0 && !isTensorLike(list[0]) ? (list as (Partial<H> & { params: Iterable<Tensor> })[]) : [{ params: list as Tensor[] } as unknown as Partial<H> & { params: Iterable<Tensor> }];
    const seen = new Set<Tensor>();
    this.paramGroups = groups.map((g, gi) => {
      const ps = [...g.params];
      for (const p of ps) {
        if (!p.isLeaf) throw new Error(`${this.constructor.name}: cannot optimise a non-leaf tensor [${p.shape}] (group ${gi})`);
        if (seen.has(p)) throw new Error(`${this.constructor.name}: a parameter [${p.shape}] appears twice`);
        seen.add(p);
      }
      return { ...defaults, ...g, params: ps } as ParamGroup<H>;
    });
    if (seen.size === 0) throw new Error(`${this.constructor.name}: got an empty parameter list`);
  }

  /** The parameters with a gradient, checked; f does the update of one parameter. */
  protected forEachParam(f: (p: Tensor, grad: Tensor, group: ParamGroup<H>, state: ParamState) => void): void {
    noGrad(() => {
      this.paramGroups.forEach((group, gi) => {
        group.params.forEach((p, i) => {
          if (p.isDisposed) {
            throw new Error(
              `${this.constructor.name}: parameter ${i} [${p.shape}] of group ${gi} was disposed; model.to(device) replaces the parameters, so create the optimizer after moving the model`,
            );
          }
          if (!p.grad) return;
          let state = this.state.get(p);
          if (!state) this.state.set(p, (state = {}));
          f(p, p.grad, group, state);
        });
      });
    });
  }

  /** A state tensor, created on first use with `make` and kept past tidy scopes. */
  protected stateTensor(state: ParamState, name: string, make: () => Tensor): { t: Tensor; fresh: boolean } {
    const cur = state[name];
    if (cur && typeof cur !== 'number') return { t: cur, fresh: false };
    const t = keep(make());
    state[name] = t;
    return { t, fresh: true };
  }

  abstract step(): void;

  /** Frees every gradient (set to null, PyTorch's default set_to_none). */
  zeroGrad(): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        p.grad?.dispose();
        p.grad = null;
      }
    }
  }

  /** Frees the state tensors and gradients (the parameters belong to the model). */
  dispose(): void {
    this.zeroGrad();
    for (const s of this.state.values()) for (const v of Object.values(s)) if (typeof v !== 'number') v.dispose();
    this.state.clear();
  }

  private allParams(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /** Live state tensors (not copies) and the groups' settings, by parameter index. */
  stateDict(): OptimizerStateDict<H> {
    const params = this.allParams();
    const state: Record<number, ParamState> = {};
    params.forEach((p, i) => {
      const s = this.state.get(p);
      if (s) state[i] = { ...s };
    });
    let next = 0;
    const paramGroups = this.paramGroups.map((g) => {
      const { params: ps, ...hyper } = g;
      return { ...(hyper as unknown as H), params: ps.map(() => next++) };
    });
    return { state, paramGroups };
  }

  /** Copies state onto this optimizer's parameters (on their devices); groups must match in size. */
  loadStateDict(sd: OptimizerStateDict<H>): void {
    const params = this.allParams();
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new Error(`${this.constructor.name}.loadStateDict: ${sd.paramGroups.length} parameter groups in the state, ${this.paramGroups.length} here`);
    }
    sd.paramGroups.forEach((g, gi) => {
      if (g.params.length !== this.paramGroups[gi].params.length) {
        throw new Error(`${this.constructor.name}.loadStateDict: group ${gi} has ${g.params.length} parameters in the state, ${this.paramGroups[gi].params.length} here`);
      }
    });
    for (const [k, s] of Object.entries(sd.state)) {
      const p = params[Number(k)];
      if (!p) throw new Error(`${this.constructor.name}.loadStateDict: state for parameter ${k}, but there are ${params.length}`);
      for (const [name, v] of Object.entries(s)) {
        if (typeof v !== 'number' && v.size !== p.size) {
          throw new Error(`${this.constructor.name}.loadStateDict: ${name} of parameter ${k} is [${v.shape}], the parameter is [${p.shape}]`);
        }
      }
    }
    for (const s of this.state.values()) for (const v of Object.values(s)) if (typeof v !== 'number') v.dispose();
    this.state.clear();
    noGrad(() => {
      for (const [k, s] of Object.entries(sd.state)) {
        const p = params[Number(k)];
        const copy: ParamState = {};
        for (const [name, v] of Object.entries(s)) {
          copy[name] = typeof v === 'number' ? v : keep(copyLike(v, p));
        }
        this.state.set(p, copy);
      }
    });
    sd.paramGroups.forEach((g, gi) => {
      const { params: _ignored, ...hyper } = g;
      Object.assign(this.paramGroups[gi], hyper);
    });
  }
}

/** A copy of v with p's shape on p's device, sharing nothing with v. */
function copyLike(v: Tensor, p: Tensor): Tensor {
  const moved = v.device === p.device ? v.clone() : v.to(p.device);
  if (moved.shape.every((d, i) => d === p.shape[i]) && moved.rank === p.rank) return moved;
  const shaped = moved.reshape(p.shape);
  moved.dispose();
  return shaped;
}

function isTensorLike(x: unknown): boolean {
  return typeof x === 'object' && x !== null && (x as Tensor).isTensor === true;
}
