/**
 * The kernel module: every kernel in one binary that imports the shared memory as
 * env.memory, so all threads instantiate the same module on the same memory.
 */
import { assemble, f32x4, func, v128, get, type FuncDef } from './emitter';
import { gemmFunctions } from './gemm';
import { convFunctions } from './conv';
import { batchNormFunctions } from './batch-norm';
import { poolFunctions } from './pool';
import { poolBackwardFunctions } from './pool-backward';
import { reduceFunctions } from './reduce';
import { softmaxFunctions } from './softmax';

export const WASM_PAGE = 65536;
/** wasm32 addresses 4 GiB at most: 65536 pages. */
export const MAX_PAGES = 65536;

export interface ModuleOptions {
  /** Use f32x4.relaxed_madd (fused where the machine has FMA) instead of mul + add. */
  relaxed: boolean;
  /** The imported memory's declared maximum, in pages (a shared memory must declare one). */
  maximumPages?: number;
  /** Import a shared memory (threads) or a plain one (default true). */
  shared?: boolean;
}

export function kernelFunctions(opts: ModuleOptions): FuncDef[] {
  return [
    ...gemmFunctions(opts), ...convFunctions(), ...batchNormFunctions(), ...poolFunctions(),
    ...poolBackwardFunctions(),
    ...reduceFunctions(),
    ...softmaxFunctions(),
  ];
}

export function kernelModule(opts: ModuleOptions): Uint8Array<ArrayBuffer> {
  return assemble(
    { module: 'env', field: 'memory', initialPages: 1, maximumPages: opts.maximumPages ?? MAX_PAGES, shared: opts.shared ?? true },
    kernelFunctions(opts),
  );
}

/** A one-function module using f32x4.relaxed_madd: validates only where relaxed SIMD is on. */
export function relaxedProbe(): Uint8Array<ArrayBuffer> {
  return assemble({ module: 'env', field: 'memory', initialPages: 1, maximumPages: 1, shared: true }, [
    func('probe', { a: 'i32' }, { x: 'v128' }, (v) => [
      v128.store(get(v.a), f32x4.relaxedMadd(get(v.x), get(v.x), get(v.x))),
    ]),
  ]);
}

/** Does this runtime validate 128-bit SIMD (and relaxed SIMD)? */
export function simdSupport(): { simd: boolean; relaxed: boolean } {
  if (typeof WebAssembly === 'undefined') return { simd: false, relaxed: false };
  const relaxed = WebAssembly.validate(relaxedProbe());
  const simd = WebAssembly.validate(kernelModule({ relaxed: false, maximumPages: 1 }));
  return { simd, relaxed };
}
