/**
 * The WASM runtime's host in Node: worker_threads, the core count, WEBGRAD_THREADS and V8
 * flags. Node-only; installed by the package's Node entry (../../../node.ts).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import os from 'node:os';
import { setWasmHost, sleepWhile, type WasmHost } from './platform';

let gc: (() => void) | null | undefined;

/** V8's gc(), exposed at run time: a new context created after the flag is set gets it. */
function exposeGc(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const fn = runInNewContext('gc') as unknown;
    return typeof fn === 'function' ? (fn as () => void) : null;
  } catch {
    return null;
  }
}

export const nodeWasmHost: WasmHost = {
  whyNoThreads: () => (typeof SharedArrayBuffer !== 'undefined' && typeof Atomics !== 'undefined' ? null : 'no SharedArrayBuffer here'),
  canBlock: () => true,
  waitWhile: sleepWhile,
  availableCores: () => (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length),
  threadsFromEnv: () => process.env.WEBGRAD_THREADS,
  /**
   * Process-wide (workers included), before the module is compiled: relaxed SIMD where it
   * sits behind a flag (Node 20), and the optimising tier at once. V8 has no on-stack
   * replacement for wasm, so a kernel's first long call would otherwise run to its end in
   * the baseline tier (3x slower, measured on 512^3).
   */
  tuneEngine() {
    for (const flag of ['--experimental-wasm-relaxed-simd', '--no-liftoff']) {
      try {
        setFlagsFromString(flag);
      } catch {
        // a runtime that refuses a flag keeps its defaults (mul + add kernels, tiering)
      }
    }
  },
  collectGarbage() {
    gc ??= exposeGc();
    gc?.();
    return gc !== null;
  },
  startWorker(source, data, onFailure) {
    const w = new Worker(`const { workerData } = require('node:worker_threads');\n${source}\nmain(workerData);`, { eval: true, workerData: data });
    w.unref();
    w.on('error', (err) => onFailure(err.message));
    w.on('exit', (code) => onFailure(`the worker exited (code ${code})`));
    return { terminate: () => void w.terminate() };
  },
};

export function installWasmNodeHost(): void {
  setWasmHost(nodeWasmHost);
}
