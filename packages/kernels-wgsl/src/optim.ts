/**
 * Fused optimizer updates, in place, one invocation per parameter element; the formulas
 * are PyTorch's (torch.optim.SGD and Adam/AdamW), as in the cpu backend.
 */
import type { AdamParams, SgdParams } from '@webgrad/kernels-ir';
import { linearDispatch, linearMain, makeKernel, type Access, type Field, type Kernel } from './kernel';

const WG = 256;


/** SGD's update of element i of the tensor whose bindings end in `j` (W, G, [M]). */
function sgdBody(withMomentum: boolean, j = ''): string {
  let body = `  var d = G${j}[i] + p.wd * W${j}[i];\n`;
  if (withMomentum) {
    body += `  let m = select(p.momentum * M${j}[i] + (1.0 - p.dampening) * d, d, p.first != 0);
  M${j}[i] = m;
  d = select(m, d + p.momentum * m, p.nesterov != 0);\n`;
  }
  return body + `  W${j}[i] -= p.lr * d;`;
}

const sgdFields = (p: SgdParams): Field[] => [
  ['lr', 'f32', p.lr], ['momentum', 'f32', p.momentum], ['dampening', 'f32', p.dampening],
  ['wd', 'f32', p.weightDecay], ['nesterov', 'i32', p.nesterov ? 1 : 0], ['first', 'i32', p.firstStep ? 1 : 0],
];

/** Bindings param, grad, [momentum buffer] (with momentum). */
export function sgdKernel(size: number, p: SgdParams, withMomentum: boolean): Kernel {
  return makeKernel({
    key: `sgd/${withMomentum}`,
    storage: sgdStorage(withMomentum, ''),
    fields: [['count', 'i32', size], ...sgdFields(p)],
    build: () => linearMain(WG, sgdBody(withMomentum)),
    workgroupSize: WG,
    dispatch: linearDispatch(size, WG),
  });
}

function sgdStorage(withMomentum: boolean, j: string): [string, Access, string][] {
  return [[`W${j}`, 'read_write', 'f32'], [`G${j}`, 'read', 'f32'], ...(withMomentum ? [[`M${j}`, 'read_write', 'f32'] as [string, Access, string]] : [])];
}

/** Adam's update of element i of the tensor whose bindings end in `j` (W, G, M, V). */
function adamBody(j = ''): string {
  return `  var g = G${j}[i];
  var w = W${j}[i];
  if (p.decoupled != 0) { w *= p.decay; } else { g += p.wd * w; }
  let m = p.beta1 * M${j}[i] + (1.0 - p.beta1) * g;
  let v = p.beta2 * V${j}[i] + (1.0 - p.beta2) * g * g;
  M${j}[i] = m;
  V${j}[i] = v;
  W${j}[i] = w - p.stepSize * m / (sqrt(v) / p.sqrtBc2 + p.eps);`;
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

const adamStorage = (j: string): [string, Access, string][] => [[`W${j}`, 'read_write', 'f32'], [`G${j}`, 'read', 'f32'], [`M${j}`, 'read_write', 'f32'], [`V${j}`, 'read_write', 'f32']];

/** Bindings param, grad, m, v. */
export function adamKernel(size: number, p: AdamParams): Kernel {
  return makeKernel({
    key: 'adam',
    storage: adamStorage(''),
    fields: [['count', 'i32', size], ...adamFields(p)],
    build: () => linearMain(WG, adamBody()),
    workgroupSize: WG,
    dispatch: linearDispatch(size, WG),
  });
}

/**
 * Several tensors' updates in one dispatch (PyTorch's multi-tensor "foreach" step): the
 * bindings of tensor 0, then of tensor 1, ...; invocation i updates element i of every
 * tensor that long. As many tensors as the device's storage bindings per stage allow.
 */
function multiKernel(key: string, sizes: readonly number[], storage: (j: string) => [string, Access, string][], body: (j: string) => string, fields: Field[]): Kernel {
  const count = Math.max(...sizes);
  const js = sizes.map((_, j) => String(j));
  return makeKernel({
    key: `${key}/x${sizes.length}`,
    storage: js.flatMap(storage),
    fields: [['count', 'i32', count], ...sizes.map((n, j): Field => [`n${j}`, 'i32', n]), ...fields],
    build: () => linearMain(WG, js.map((j) => `    if (i < p.n${j}) {\n${body(j)}\n    }`).join('\n')),
    workgroupSize: WG,
    dispatch: linearDispatch(count, WG),
  });
}

/** SGD over several tensors at once: bindings W0, G0, [M0], W1, G1, [M1], ... */
export function sgdMultiKernel(sizes: readonly number[], p: SgdParams, withMomentum: boolean): Kernel {
  return multiKernel(`sgd/${withMomentum}`, sizes, (j) => sgdStorage(withMomentum, j), (j) => sgdBody(withMomentum, j), sgdFields(p));
}

/** Adam over several tensors at once: bindings W0, G0, M0, V0, W1, ... */
export function adamMultiKernel(sizes: readonly number[], p: AdamParams): Kernel {
  return multiKernel('adam', sizes, adamStorage, adamBody, adamFields(p));
}
