/**
 * Divergence: a NaN or infinite loss or gradient in fit's steps. The check costs no device
 * read of its own: each step appends the sum of every gradient value to the [loss, correct]
 * pair that fit reads anyway for its progress line (one concatenation and one reduction: the
 * fewest kernels that see every gradient). A sum of finite floats is finite unless it passes
 * float32's range (values near 1e38 / size, far past where the gradient norm overflows), and a
 * NaN or an infinity anywhere makes it NaN or infinite. Only when it is not finite does a
 * second read find which parameters' gradients are.
 */
import { type Tensor, cat, stack, tidy } from '@webgrad/tensor';

/** What fit does when a step's loss or gradient is NaN or infinite. */
export type NonFinitePolicy = 'stop' | 'warn' | 'ignore';
export const NON_FINITE_POLICIES: readonly NonFinitePolicy[] = ['stop', 'warn', 'ignore'];

/** Thrown by fit (onNonFinite 'stop') at the first step whose loss or gradient is not finite. */
export class TrainingDivergedError extends Error {
  constructor(
    /** 1-based, as the epoch lines count. */
    readonly epoch: number,
    /** 1-based within the epoch. */
    readonly step: number,
    readonly loss: number,
    /** The first parameter (in the model's order) whose gradient is not finite; null when only the loss is. */
    readonly parameter: string | null,
    message: string,
  ) {
    super(message);
    this.name = 'TrainingDivergedError';
  }
}

/** The sum of every gradient value of the parameters, as a one-element tensor; null when none has a gradient. */
export function gradientSum(named: readonly [string, Tensor][]): Tensor | null {
  const grads = named.map(([, p]) => p.grad).filter((g): g is Tensor => g !== null);
  if (grads.length === 0) return null;
  return cat(grads.map((g) => g.reshape([-1]))).sum().reshape([1]).float();
}

export interface NonFiniteStep {
  loss: number;
  /** Names of the parameters whose gradient is not finite, in the model's order. */
  parameters: string[];
}

/**
 * The step's problem, or null when its loss and gradient sum are finite. Reads the gradients'
 * sums one by one (a second read, made only when something is not finite) to name the
 * parameters.
 */
export async function nonFinite(loss: number, gradientTotal: number, named: readonly [string, Tensor][]): Promise<NonFiniteStep | null> {
  if (Number.isFinite(loss) && Number.isFinite(gradientTotal)) return null;
  const withGrad = named.filter(([, p]) => p.grad);
  if (Number.isFinite(gradientTotal) || withGrad.length === 0) return { loss, parameters: [] };
  const sums = tidy(() => stack(withGrad.map(([, p]) => (p.grad as Tensor).sum())));
  const values = await sums.data();
  sums.dispose();
  return { loss, parameters: withGrad.map(([n]) => n).filter((_, i) => !Number.isFinite(values[i])) };
}

/** What happened, where, and what to do about it. */
export function describeNonFinite(s: NonFiniteStep, where: { epoch: number; epochs: number; step: number; lr: number }): string {
  const first = s.parameters[0];
  const others = s.parameters.length > 1 ? ` (the first of ${s.parameters.length} parameters with a NaN or infinite gradient)` : '';
  const what = first === undefined
    ? `the loss is ${s.loss} (every gradient is finite)`
    : `${Number.isFinite(s.loss) ? `the loss is ${s.loss} but` : `the loss is ${s.loss} and`} the gradient of ${first} is not finite${others}`;
  return `training diverged at epoch ${where.epoch}/${where.epochs}, step ${where.step}: ${what}`;
}

export function divergedError(s: NonFiniteStep, where: { epoch: number; epochs: number; step: number; lr: number; checkpoint?: string }): TrainingDivergedError {
  const saved = where.checkpoint ? ` The weights now hold non-finite values; ${where.checkpoint} holds those of an earlier epoch.` : ' The weights now hold non-finite values.';
  const message =
    `fit: ${describeNonFinite(s, where)}.${saved} ` +
    `Lower the learning rate (it is ${where.lr}), look for NaN or Inf in the inputs, or clip the gradients (clipGradNorm); ` +
    `onNonFinite: 'warn' or 'ignore' trains on regardless.`;
  return new TrainingDivergedError(where.epoch, where.step, s.loss, s.parameters[0] ?? null, message);
}
