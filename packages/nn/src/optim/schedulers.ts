import type { Optimizer } from './optimizer';

export interface SchedulerState {
  lastEpoch: number;
  baseLrs: number[];
  lastLr: number[];
}

/**
 * Learning-rate schedules, stepped once per epoch after optimizer.step() (PyTorch's order).
 * The formulas are PyTorch's own recursive ones, so the sequence matches it to the last bit.
 */
export abstract class LRScheduler {
  lastEpoch = -1;
  readonly baseLrs: number[];
  private lastLr: number[] = [];

  constructor(readonly optimizer: Optimizer) {
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
  }

  /** Epoch 0: subclasses call it at the end of their constructors, once their settings exist. */
  protected start(): void {
    this.step();
  }

  /** The new learning rates at this.lastEpoch, from the groups' current ones. */
  protected abstract computeLr(): number[];

  step(): void {
    this.lastEpoch++;
    const lrs = this.computeLr();
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = lrs[i]));
    this.lastLr = lrs;
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  protected currentLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  stateDict(): SchedulerState {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs], lastLr: [...this.lastLr] };
  }

  loadStateDict(s: SchedulerState): void {
    this.lastEpoch = s.lastEpoch;
    this.baseLrs.splice(0, this.baseLrs.length, ...s.baseLrs);
    this.lastLr = [...s.lastLr];
  }
}

export interface StepLROptions {
  /** Epochs between two decays (a positive integer). */
  stepSize: number;
  /** The factor applied every stepSize epochs (default 0.1). */
  gamma?: number;
}

export interface CosineAnnealingLROptions {
  /** Epochs from the base rate down to etaMin. */
  tMax: number;
  /** The lowest rate (default 0). */
  etaMin?: number;
}

/**
 * A scheduler's settings from either form, `(opt, { stepSize: 10, gamma })` or PyTorch's
 * positional `(opt, 10, gamma)`; anything else gets an error that shows both.
 */
function schedulerOptions<T extends object>(name: string, required: keyof T & string, keys: readonly (keyof T & string)[], args: unknown[]): T {
  const form = `new ${name}(optimizer, { ${keys.join(', ')} })`;
  const [first, ...rest] = args;
  if (typeof first === 'number') {
    if (rest.some((x) => x !== undefined && typeof x !== 'number')) throw new Error(`${name}: expected ${form} or ${name}(optimizer, ${keys.join(', ')}) with numbers`);
    return Object.fromEntries(keys.map((k, i) => [k, args[i]]).filter(([, v]) => v !== undefined)) as T;
  }
  if (typeof first !== 'object' || first === null || Array.isArray(first) || rest.some((x) => x !== undefined)) {
    throw new Error(`${name}: expected ${form}, got ${args.filter((x) => x !== undefined).map((x) => JSON.stringify(x)).join(', ') || 'no settings'}`);
  }
  const unknown = Object.keys(first).filter((k) => !(keys as readonly string[]).includes(k));
  if (unknown.length) throw new Error(`${name}: unknown option ${unknown.map((k) => `'${k}'`).join(', ')}; expected ${form}`);
  if (!(required in first)) throw new Error(`${name}: ${required} is required: ${form}`);
  return first as T;
}

/** Multiplies the learning rate by gamma every stepSize epochs. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer, opts: StepLROptions);
  constructor(optimizer: Optimizer, stepSize: number, gamma?: number);
  constructor(optimizer: Optimizer, ...args: unknown[]) {
    super(optimizer);
    const o = schedulerOptions<StepLROptions>('StepLR', 'stepSize', ['stepSize', 'gamma'], args);
    this.stepSize = o.stepSize;
    this.gamma = o.gamma ?? 0.1;
    if (!Number.isInteger(this.stepSize) || this.stepSize < 1) throw new Error(`StepLR: stepSize must be a positive integer, got ${this.stepSize}`);
    if (typeof this.gamma !== 'number' || !Number.isFinite(this.gamma)) throw new Error(`StepLR: gamma must be a number, got ${this.gamma}`);
    this.start();
  }

  protected computeLr(): number[] {
    const lrs = this.currentLrs();
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return lrs;
    return lrs.map((lr) => lr * this.gamma);
  }
}

/** Cosine from the base rate down to etaMin over tMax epochs, then back up (SGDR without restarts). */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer, opts: CosineAnnealingLROptions);
  constructor(optimizer: Optimizer, tMax: number, etaMin?: number);
  constructor(optimizer: Optimizer, ...args: unknown[]) {
    super(optimizer);
    const o = schedulerOptions<CosineAnnealingLROptions>('CosineAnnealingLR', 'tMax', ['tMax', 'etaMin'], args);
    this.tMax = o.tMax;
    this.etaMin = o.etaMin ?? 0;
    if (!(this.tMax > 0)) throw new Error(`CosineAnnealingLR: tMax must be positive, got ${this.tMax}`);
    this.start();
  }

  protected computeLr(): number[] {
    const e = this.lastEpoch;
    const T = this.tMax;
    const lrs = this.currentLrs();
    if (e === 0) return lrs;
    if ((((e - 1 - T) % (2 * T)) + 2 * T) % (2 * T) === 0) {
      return lrs.map((lr, i) => lr + ((this.baseLrs[i] - this.etaMin) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    return lrs.map((lr) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (lr - this.etaMin) + this.etaMin);
  }
}
