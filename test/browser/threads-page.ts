// A page's main thread running the cpu backend's kernels: what test/browser-threads.test.ts
// asks of it, on whatever thread count it sets.
import * as wg from '@webgrad/tensor';
import { wasmRuntime } from '../../packages/tensor/src/backends/cpu/wasm/runtime';

/** FNV-1a over the float32 bits: equal hashes, equal bits. */
function bitsHash(a: Float32Array): string {
  let h = 0x811c9dc5;
  for (const v of new Uint32Array(a.buffer, a.byteOffset, a.length)) h = Math.imul(h ^ v, 0x01000193);
  return `${a.length}:${(h >>> 0).toString(16)}`;
}

export interface ThreadsRun {
  isolated: boolean;
  description: string;
  threads: number;
  /** Worker jobs run by the workers, and by this thread in their place. */
  byWorkers: number;
  byCaller: number;
  /** Bits of each result: matmul, conv forward, conv input and weight gradients. */
  hashes: string[];
  /** Best of `reps` matmuls of `size`^3 after one to warm up, in ms. */
  matmulMs: number;
}

/**
 * Sets `threads` and runs matmul and conv. `settle`: through `await useDevice`, which lets
 * the new workers start; otherwise the pool is resized and used at once, in one task, so
 * no worker is running at the first kernel (the caller must not wait for them).
 */
async function run(threads: number, { settle = true, size = 512, reps = 8 } = {}): Promise<ThreadsRun> {
  const rt = wasmRuntime();
  if (settle) await wg.useDevice('cpu', { threads });
  else rt?.setThreads(threads);
  const description = wg.getBackend('cpu').description;
  const before = { ...(rt?.jobs ?? { byWorkers: 0, byCaller: 0 }) };
  wg.manualSeed(11);
  const a = wg.randn([size, size]), b = wg.randn([size, size]);
  let c = a.matmul(b);
  let matmulMs = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    c = a.matmul(b);
    matmulMs = Math.min(matmulMs, performance.now() - t0);
  }
  const x = wg.randn([8, 16, 24, 24], { requiresGrad: true }), w = wg.randn([32, 16, 3, 3], { requiresGrad: true });
  const y = wg.conv2d(x, w, null, { padding: 1 });
  y.mul(y).sum().backward();
  const jobs = { byWorkers: (rt?.jobs.byWorkers ?? 0) - before.byWorkers, byCaller: (rt?.jobs.byCaller ?? 0) - before.byCaller };
  const hashes = await Promise.all([c, y, x.grad!, w.grad!].map(async (t) => bitsHash((await t.data()) as Float32Array)));
  return {
    isolated: globalThis.crossOriginIsolated === true,
    description,
    threads: wg.cpuThreads(),
    ...jobs,
    hashes,
    matmulMs,
  };
}

(globalThis as unknown as { threadsPage: { run: typeof run } }).threadsPage = { run };
