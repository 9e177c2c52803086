/**
 * The pool when a worker cannot help: not started yet (a page's main thread, whose workers
 * may start only once it returns to the event loop, and which spins instead of sleeping), dead
 * at start, or gone while idle. The caller runs those jobs itself, so nothing hangs and the
 * bits are those of one thread; workers that run do take their jobs.
 */
import { describe, expect, it, vi } from 'vitest';
import type { MatmulParams } from '@webgrad/kernels-ir';
import { WasmRuntime, wasmRuntime } from '../src/backends/cpu/wasm/runtime';
import { wasmConvForward, wasmMatmul } from '../src/backends/cpu/wasm/kernels';
import { spinWhile, type WasmHost } from '../src/backends/cpu/wasm/platform';
import { installWasmNodeHost, nodeWasmHost } from '../src/backends/cpu/wasm/node-host';
import type { ConvParams } from '../src/backend';
import { kernelModule } from '@webgrad/kernels-wasm';
import { rng } from './helpers/rng';

installWasmNodeHost();
const relaxed = wasmRuntime()?.relaxed;

function rand(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r.next() * 2 - 1);
}
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

const M = 300, N = 260, K = 170;
const mm: MatmulParams = { batch: 1, m: M, n: N, k: K, transA: false, transB: false, aBatchStride: M * K, bBatchStride: K * N };
const cv: ConvParams = {
  batch: 6, inChannels: 8, outChannels: 16, inSize: [20, 20], kernel: [3, 3], outSize: [20, 20],
  stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1,
};
const a = rand(M * K, 1), b = rand(K * N, 2), x = rand(6 * 8 * 400, 3), w = rand(16 * 8 * 9, 4);

/** matmul and conv results on a runtime. */
const results = (rt: WasmRuntime) => [wasmMatmul(rt, a, b, mm), wasmConvForward(rt, x, w, null, cv)].map(bits);

/** Node's host seen from a thread that may not block: it spins, and starts workers through `start`. */
const pageLike = (start: WasmHost['startWorker'] = nodeWasmHost.startWorker): WasmHost => ({
  ...nodeWasmHost, canBlock: () => false, waitWhile: spinWhile, startWorker: start,
});

describe.skipIf(relaxed === undefined)('the pool when workers cannot help', () => {
  const one = new WasmRuntime({ relaxed: relaxed!, shared: true });
  const reference = results(one);

  it('a spinning caller whose workers have not started runs their jobs itself, then the started workers take theirs', async () => {
    const rt = new WasmRuntime({ relaxed: relaxed!, shared: true, host: pageLike() });
    rt.setThreads(3);
    expect(rt.threads).toBe(3);
    expect(results(rt)).toEqual(reference); // no event-loop turn yet: workers not running
    expect(rt.jobs.byCaller).toBeGreaterThan(0);
    expect(await rt.started()).toBe(true);
    const before = rt.jobs.byWorkers;
    expect(results(rt)).toEqual(reference);
    expect(rt.jobs.byWorkers).toBeGreaterThan(before);
    rt.shutdown();
  });

  it('a module of kernels added while workers start (restarted with it) or run (each loads it) leaves them working', async () => {
    const rt = new WasmRuntime({ relaxed: relaxed!, shared: true, host: pageLike() });
    const extra = () => kernelModule({ relaxed: relaxed!, shared: true }) as Uint8Array<ArrayBuffer>;
    rt.setThreads(3);
    expect(Object.keys(rt.addKernels(extra()))).toContain('gemm'); // workers starting: a spinning caller must not wait for them
    expect(await rt.started()).toBe(true);
    rt.addKernels(extra()); // workers running: each compiles it
    const before = rt.jobs.byWorkers;
    expect(results(rt)).toEqual(reference);
    expect(rt.jobs.byWorkers).toBeGreaterThan(before);
    rt.shutdown();
  });

  it('workers that never start cost nothing to a spinning caller', () => {
    const rt = new WasmRuntime({ relaxed: relaxed!, shared: true, host: pageLike(() => ({ terminate() {} })) });
    rt.setThreads(4);
    expect(results(rt)).toEqual(reference);
    expect(rt.jobs).toEqual({ byWorkers: 0, byCaller: expect.any(Number) });
  });

  it('a worker that dies at start does not hang a caller that blocks', async () => {
    const host: WasmHost = {
      ...nodeWasmHost,
      startWorker: (source, data, onFailure) => nodeWasmHost.startWorker(source, { ...(data as object), module: null }, onFailure),
    };
    const rt = new WasmRuntime({ relaxed: relaxed!, shared: true, host });
    rt.setThreads(3);
    expect(results(rt)).toEqual(reference);
    expect(await rt.started()).toBe(false);
    expect(rt.jobs.byWorkers).toBe(0);
    await vi.waitFor(() => expect(rt.workerFailure).toMatch(/WebAssembly\.Instance|exited/)); // heard on the event loop
  });

  it('a worker ended while idle does not hang the caller, before or after its end is heard', async () => {
    const handles: { terminate(): void }[] = [];
    const rt = new WasmRuntime({
      relaxed: relaxed!, shared: true,
      host: { ...nodeWasmHost, startWorker: (...args) => handles[handles.push(nodeWasmHost.startWorker(...args)) - 1] },
    });
    rt.setThreads(2);
    expect(await rt.started()).toBe(true);
    handles[0].terminate();
    expect(results(rt)).toEqual(reference); // the caller takes the unclaimed job after a while
    await new Promise((resolve) => setTimeout(resolve, 200)); // the exit event marks it dead
    const stolen = rt.jobs.byCaller;
    expect(results(rt)).toEqual(reference);
    expect(rt.jobs.byCaller).toBeGreaterThan(stolen);
    rt.shutdown();
  });
});
