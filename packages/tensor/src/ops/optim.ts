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

/** Fused in-place SGD step (one kernel per parameter). */
export function sgdUpdate(param: Tensor, grad: Tensor, momentumBuffer: Tensor | null, p: SgdParams): void {
  check('sgdUpdate', param, grad, ...(momentumBuffer ? [momentumBuffer] : []));
  param.backend.sgdStep(param.storage, grad.storage, momentumBuffer?.storage ?? null, param.size, p);
}

/** Fused in-place Adam / AdamW step. */
export function adamUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, p: AdamParams): void {
  check('adamUpdate', param, grad, m, v);
  param.backend.adamStep(param.storage, grad.storage, m.storage, v.storage, param.size, p);
}
