/**
 * Fused optimizer updates, in place, one invocation per parameter element; the formulas
 * are PyTorch's (torch.optim.SGD and Adam/AdamW), as in the cpu backend.
 */
import type { AdamParams, SgdParams } from '@webgrad/kernels-ir';
import { linearDispatch, linearMain, makeKernel, type Access, type Field, type Kernel } from './kernel';

const WG = 256;

/** SGD's update of element i (bindings W, G, [M]). */
function sgdBody(withMomentum: boolean): string {
  let body = `  var d = G[i] + p.wd * W[i];\n`;
  if (withMomentum) {
    body += `  let m = select(p.momentum * M[i] + (1.0 - p.dampening) * d, d, p.first != 0);
  M[i] = m;
  d = select(m, d + p.momentum * m, p.nesterov != 0);\n`;
  }
  return body + `  W[i] -= p.lr * d;`;
}

const sgdFields = (p: SgdParams): Field[] => [
  ['lr', 'f32', p.lr], ['momentum', 'f32', p.momentum], ['dampening', 'f32', p.dampening],
  ['wd', 'f32', p.weightDecay], ['nesterov', 'i32', p.nesterov ? 1 : 0], ['first', 'i32', p.firstStep ? 1 : 0],
];

/** Bindings param, grad, [momentum buffer] (with momentum). */
export function sgdKernel(size: number, p: SgdParams, withMomentum: boolean): Kernel {
  return makeKernel({
    key: `sgd/${withMomentum}`,
    storage: sgdStorage(withMomentum),
    fields: [['count', 'i32', size], ...sgdFields(p)],
    build: () => linearMain(WG, sgdBody(withMomentum)),
    workgroupSize: WG,
    dispatch: linearDispatch(size, WG),
  });
}

function sgdStorage(withMomentum: boolean): [string, Access, string][] {
  return [['W', 'read_write', 'f32'], ['G', 'read', 'f32'], ...(withMomentum ? [['M', 'read_write', 'f32'] as [string, Access, string]] : [])];
}

/** Adam's update of element i (bindings W, G, M, V). */
function adamBody(): string {
  return `  var g = G[i];
  var w = W[i];
  if (p.decoupled != 0) { w *= p.decay; } else { g += p.wd * w; }
  let m = p.beta1 * M[i] + (1.0 - p.beta1) * g;
  let v = p.beta2 * V[i] + (1.0 - p.beta2) * g * g;
  M[i] = m;
  V[i] = v;
  W[i] = w - p.stepSize * m / (sqrt(v) / p.sqrtBc2 + p.eps);`;
}

/** Bias corrections are folded on the host (in float64). */
function adamFields(p: AdamParams): Field[] {
  const bc1 = 1 - p.beta1 ** p.step;
  const bc2 = 1 - p.beta2 ** p.step;
  return [
    ['beta1', 'f32', p.beta1], ['beta2', 'f32', p.beta2], ['eps', 'f32', p.eps], ['wd', 'f32', p.weightDecay],
    ['decay', 'f32', 1 - p.lr * p.weightDecay], ['decoupled', 'i32', p.decoupled ? 1 : 0],
    ['stepSize', 'f32', p.lr / bc1], ['sqrtBc2', 'f32', Math.sqrt(bc2)],
  ];
}

const adamStorage = (): [string, Access, string][] => [['W', 'read_write', 'f32'], ['G', 'read', 'f32'], ['M', 'read_write', 'f32'], ['V', 'read_write', 'f32']];

/** Bindings param, grad, m, v. */
export function adamKernel(size: number, p: AdamParams): Kernel {
  return makeKernel({
    key: 'adam',
    storage: adamStorage(),
    fields: [['count', 'i32', size], ...adamFields(p)],
    build: () => linearMain(WG, adamBody()),
    workgroupSize: WG,
    dispatch: linearDispatch(size, WG),
  });
}
