/**
 * In-place update ops (kernels-ir's update.ts: the optimizer steps) as WebAssembly, four
 * elements at a time in f32x4 lanes and a last one to three alone (lane 0 of a vector loaded
 * with zeros beside it; no node has side effects, so the idle lanes are harmless). Every
 * node rounds to float32, as the op's trees say, so the results equal the JavaScript
 * rendering's bit for bit. A thread takes elements [i0, i1).
 */
import { MAX_UPDATE_ARRAYS, writtenArrays, type UpdateOp } from '@webgrad/kernels-ir';
import { assemble, block, br, brIf, f32, f32x4, forRange, func, get, i32, loop, set, v128, type Code, type Local } from './emitter';
import { renderSimdAll, simdRenderable } from './expr-wasm';
import { layout } from './layout';
import { MAX_PAGES } from './module';
import type { ElementwiseModuleOptions } from './elementwise';

/** Array k's pointer in a{k} (0 for arrays the op has not), its scalars as f32s at `scalars`. */
export const updateParams = layout(['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'scalars', 'i0', 'i1'] as const);
const ARRAY_FIELDS = updateParams.fields.slice(0, MAX_UPDATE_ARRAYS) as readonly ('a0' | 'a1' | 'a2' | 'a3' | 'a4' | 'a5' | 'a6')[];

const c = i32.const;

/** The module of an update: exports `update`, or null when a tree calls a function with no SIMD rendering. */
export function updateModule(op: UpdateOp, opts: ElementwiseModuleOptions = {}): Uint8Array<ArrayBuffer> | null {
  const written = writtenArrays(op);
  const roots = written.map((k) => op.writes[k]!);
  if (!roots.every(simdRenderable)) return null;
  const kernel = func('update', { pp: 'i32' }, { i: 'i32', end: 'i32', sp: 'i32', pa: 'f32', pb: 'f32' }, (v, temp) => {
    const pointers = Array.from({ length: op.arrays }, () => temp('i32'));
    const values = Array.from({ length: op.arrays + op.scalars }, () => temp('v128'));
    const code = renderSimdAll(roots, { args: values }, { a: v.pa, b: v.pb }, temp);
    const addr = (k: number) => i32.add(get(pointers[k]), i32.mul(get(v.i), c(4)));
    const elements = (load: (a: Code) => Code, store: (a: Code, x: Local) => Code): Code[] => [
      ...pointers.map((_, k) => set(values[k], load(addr(k)))),
      ...code.body,
      // the old values are all read above: storing now cannot change another write
      ...written.map((k, j) => store(addr(k), code.results[j])),
    ];
    return [
      ...pointers.map((p, k) => set(p, updateParams.load(v.pp, ARRAY_FIELDS[k]))),
      set(v.sp, updateParams.load(v.pp, 'scalars')),
      ...Array.from({ length: op.scalars }, (_, j) => set(values[op.arrays + j], f32x4.splat(f32.load(get(v.sp), 4 * j)))),
      ...code.prelude,
      set(v.i, updateParams.load(v.pp, 'i0')), set(v.end, updateParams.load(v.pp, 'i1')),
      block(loop(
        brIf(1, i32.gt(i32.add(get(v.i), c(4)), get(v.end))),
        ...elements(v128.load, (a, x) => v128.store(a, get(x))),
        set(v.i, i32.add(get(v.i), c(4))),
        br(0))),
      forRange(v.i, get(v.i), get(v.end), c(1),
        ...elements(v128.load32Zero, (a, x) => f32.store(a, f32x4.extractLane(get(x), 0)))),
    ];
  });
  return assemble({ module: 'env', field: 'memory', initialPages: 1, maximumPages: opts.maximumPages ?? MAX_PAGES, shared: opts.shared ?? true }, [kernel]);
}
