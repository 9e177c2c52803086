/**
 * The memory-bound float32 kernels on WASM: pooling backward / average pooling, reductions
 * and the optimizer steps. Same conventions as kernels.ts: inputs read in place when they
 * live in the memory, results arrays in the memory, work split over threads by outputs.
 */
import type { PoolParams } from '../../../backend';
import { dims, type Dim } from '../kernels/pool';
import { avgPoolParams, maxPoolBackwardParams } from '@webgrad/kernels-wasm';
import { COST_PER_ELEMENT, at, dispatch, handOut, output, params, part, threadsFor, withOutputs, type Scratch } from './kernels';
import type { WasmRuntime } from './runtime';

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** Split `planes` over threads by `work` (elements touched) and run `kernel` with each part's block. */
function overPlanes(rt: WasmRuntime, planes: number, work: number, block: (p0: number, p1: number) => number, kernel: 'maxPoolBackward' | 'avgPool' | 'avgPoolBackward'): void {
  const T = threadsFor(rt, COST_PER_ELEMENT * work, planes);
  const blocks: number[] = [];
  for (let t = 0; t < T; t++) blocks.push(block(...part(planes, T, t)));
  dispatch(rt, kernel, blocks);
}

/** Routes each output gradient to its argmax; planes split over threads, so no two write one element. */
export function wasmMaxPoolBackward(rt: WasmRuntime, gy: Float32Array, argmax: Int32Array, p: PoolParams): Float32Array {
  const plane = prod(p.inSize), L = prod(p.outSize);
  const gx = output(rt, p.planes * plane);
  if (gx.length === 0) return handOut(rt, gx);
  return withOutputs(rt, { gx }, (scratch) => {
    const common = { gy: scratch.input(gy), argmax: int32Input(scratch, argmax), gx: at(rt, gx), plane, L };
    overPlanes(rt, p.planes, p.planes * (plane + 2 * L), (p0, p1) => params(scratch, maxPoolBackwardParams, { ...common, p0, p1 }), 'maxPoolBackward');
  }).gx;
}

/** Average pooling forward (backward false: x -> out) or backward (gy -> gx), PyTorch semantics as the JS reference. */
function avgPoolRun(rt: WasmRuntime, src: Float32Array, p: PoolParams, backward: boolean): Float32Array {
  const [D, H, W] = dims(p, backward ? 'avgPoolBackward' : 'avgPool', true);
  const plane = prod(p.inSize), L = prod(p.outSize);
  const dst = output(rt, p.planes * (backward ? plane : L));
  if (dst.length === 0) return handOut(rt, dst);
  return withOutputs(rt, { dst }, (scratch) => {
    const table = (t: Int32Array) => {
      const addr = scratch.alloc(Math.max(4, t.length * 4));
      rt.i32.set(t, addr / 4);
      return addr;
    };
    const tables = (d: Dim, name: 'D' | 'H' | 'W') => ({ [`first${name}`]: table(d.first), [`count${name}`]: table(d.count), [`span${name}`]: table(d.span) });
    const common = {
      src: scratch.input(src), dst: at(rt, dst), plane, L, IH: H.inLen, IW: W.inLen,
      outD: D.outLen, outH: H.outLen, outW: W.outLen, includePad: p.countIncludePad ? 1 : 0,
      ...tables(D, 'D'), ...tables(H, 'H'), ...tables(W, 'W'),
    } as Omit<Parameters<typeof avgPoolParams.write>[2], 'p0' | 'p1'>;
    overPlanes(rt, p.planes, p.planes * (plane + L * prod(p.kernel)), (p0, p1) => params(scratch, avgPoolParams, { ...common, p0, p1 }), backward ? 'avgPoolBackward' : 'avgPool');
  }).dst;
}

export const wasmAvgPool = (rt: WasmRuntime, x: Float32Array, p: PoolParams) => avgPoolRun(rt, x, p, false);
export const wasmAvgPoolBackward = (rt: WasmRuntime, gy: Float32Array, p: PoolParams) => avgPoolRun(rt, gy, p, true);

/** The address of an int32 array in the memory: in place when it lives there, else a copy into scratch. */
function int32Input(scratch: Scratch, a: Int32Array): number {
  const addr = scratch.rt.addressOf(a);
  if (addr !== null) return addr;
  const copy = scratch.alloc(Math.max(4, a.length * 4));
  scratch.rt.i32.set(a, copy / 4);
  return copy;
}
