// Run as a child process by cpu-threads.test.ts: uses the pool, then simply ends.
import { wasmRuntime } from '../../src/backends/cpu/wasm/runtime';
import { wasmMatmul } from '../../src/backends/cpu/wasm/kernels';
import { installWasmNodeHost } from '../../src/backends/cpu/wasm/node-host';

installWasmNodeHost();
const rt = wasmRuntime()!;
const n = 256;
const c = wasmMatmul(rt, new Float32Array(n * n).fill(1), new Float32Array(n * n).fill(1), {
  batch: 1, m: n, n, k: n, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0,
});
console.log(`${rt.threads} threads, c[0] = ${c[0]}`);
