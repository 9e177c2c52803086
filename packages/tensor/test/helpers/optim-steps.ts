/**
 * The multi-tensor optimizer steps at the backend level, as the op layer issues them
 * (ops/optim.ts): the SGD / Adam update op and its scalars over each parameter's arrays.
 */
import type { AdamParams, Backend, SgdParams, Storage } from '../../src/backend';
import { adamOp, adamScalars, sgdOp, sgdScalars } from '../../src/ops/optim';

export interface SgdItem { param: Storage; grad: Storage; momentumBuf: Storage | null; size: number }
export interface AdamItem { param: Storage; grad: Storage; m: Storage; v: Storage; size: number }

export function sgdSteps(be: Backend, items: SgdItem[], p: SgdParams): void {
  const momentum = items.length > 0 && items[0].momentumBuf !== null;
  be.update(sgdOp(p, momentum), items.map((it) => ({ arrays: [it.param, it.grad, ...(it.momentumBuf ? [it.momentumBuf] : [])], size: it.size })), sgdScalars(p), 'float32');
}

export function adamSteps(be: Backend, items: AdamItem[], p: AdamParams): void {
  be.update(adamOp(p), items.map((it) => ({ arrays: [it.param, it.grad, it.m, it.v], size: it.size })), adamScalars(p), 'float32');
}
