import type { AdamParams, SgdParams } from '../backend';
import { fmt } from '../shape';
import { Tensor } from '../tensor';
import { commonBackend } from './util';

function check(op: string, param: Tensor, ...others: Tensor[]): void {
  for (const t of others) {
    if (t.size !== param.size) throw new Error(`${op}: ${fmt(t.shape)} does not match the parameter ${fmt(param.shape)}`);
  }
  commonBackend(op, param, ...others);
}

/** Fused in-place SGD step (one kernel per parameter): a multi-tensor step of one. */
export function sgdUpdate(param: Tensor, grad: Tensor, momentumBuffer: Tensor | null, p: SgdParams): void {
  check('sgdUpdate', param, grad, ...(momentumBuffer ? [momentumBuffer] : []));
  param.backend.sgdSteps([{ param: param.storage, grad: grad.storage, momentumBuf: momentumBuffer?.storage ?? null, size: param.size }], p);
}

/** Fused in-place Adam / AdamW step: a multi-tensor step of one. */
export function adamUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, p: AdamParams): void {
  check('adamUpdate', param, grad, m, v);
  param.backend.adamSteps([{ param: param.storage, grad: grad.storage, m: m.storage, v: v.storage, size: param.size }], p);
}

/**
 * Fused in-place SGD steps of several parameters with the same settings (a multi-tensor
 * step: on webgpu, one dispatch per group). Momentum buffers: all or none.
 */
export function sgdUpdates(params: Tensor[], grads: Tensor[], momentumBuffers: (Tensor | null)[], p: SgdParams): void {
  if (params.length === 0) return;
  if (grads.length !== params.length || momentumBuffers.length !== params.length) throw new Error(`sgdUpdates: ${params.length} parameters, ${grads.length} gradients, ${momentumBuffers.length} momentum buffers`);
  if (new Set(momentumBuffers.map((b) => b === null)).size > 1) throw new Error('sgdUpdates: momentum buffers must be given for every parameter or for none');
  params.forEach((param, i) => check('sgdUpdates', param, grads[i], ...(momentumBuffers[i] ? [momentumBuffers[i]!] : [])));
  commonBackend('sgdUpdates', ...params).sgdSteps(params.map((param, i) => ({ param: param.storage, grad: grads[i].storage, momentumBuf: momentumBuffers[i]?.storage ?? null, size: param.size })), p);
}

/** Fused in-place Adam / AdamW steps of several parameters with the same settings (a multi-tensor step). */
export function adamUpdates(params: Tensor[], grads: Tensor[], ms: Tensor[], vs: Tensor[], p: AdamParams): void {
  if (params.length === 0) return;
  if (grads.length !== params.length || ms.length !== params.length || vs.length !== params.length) throw new Error(`adamUpdates: ${params.length} parameters, ${grads.length} gradients, ${ms.length} and ${vs.length} moments`);
  params.forEach((param, i) => check('adamUpdates', param, grads[i], ms[i], vs[i]));
  commonBackend('adamUpdates', ...params).adamSteps(params.map((param, i) => ({ param: param.storage, grad: grads[i].storage, m: ms[i].storage, v: vs[i].storage, size: param.size })), p);
}
