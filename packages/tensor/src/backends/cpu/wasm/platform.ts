/**
 * What the WASM runtime needs from its host, found once: Node's v8 flags, worker_threads
 * and core count, or a browser's Web Workers. Node modules are imported only under Node,
 * so the file is safe to bundle for a browser.
 */

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

const node = isNode
  ? {
      v8: await import('node:v8'),
      workerThreads: await import('node:worker_threads'),
      os: await import('node:os'),
    }
  : null;

/** A started worker: terminate() ends it; it never keeps the process alive. */
export interface WorkerHandle {
  terminate(): void;
}

/**
 * Shared memory and blocking waits on this thread: Node always; a browser page only when
 * cross-origin isolated, and never on its main thread (Atomics.wait is refused there).
 */
export function canRunThreads(): boolean {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return false;
  if (node) return true;
  const g = globalThis as { crossOriginIsolated?: boolean; document?: unknown; Worker?: unknown };
  return g.crossOriginIsolated === true && g.document === undefined && typeof g.Worker === 'function';
}

export function availableCores(): number {
  if (node) return typeof node.os.availableParallelism === 'function' ? node.os.availableParallelism() : node.os.cpus().length;
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return n && n > 0 ? n : 1;
}

/** WEBGRAD_THREADS from the environment, if set (Node only). */
export function threadsFromEnv(): string | undefined {
  return node ? process.env.WEBGRAD_THREADS : undefined;
}

/**
 * Node only, process-wide (workers included), before the module is compiled: turns on
 * relaxed SIMD where it sits behind a flag (Node 20), and compiles wasm with the optimising
 * tier at once. V8 has no on-stack replacement for wasm, so a kernel's first long call
 * would otherwise run to its end in the baseline tier (3x slower, measured on 512^3).
 */
export function tuneWasmEngine(): void {
  if (!node) return;
  for (const flag of ['--experimental-wasm-relaxed-simd', '--no-liftoff']) {
    try {
      node.v8.setFlagsFromString(flag);
    } catch {
      // a runtime that refuses a flag keeps its defaults (mul + add kernels, tiering)
    }
  }
}

/**
 * Starts a worker running `source` (a classic script) with `data` as its `workerData`
 * (Node) or first message (browser), detached from the process lifetime.
 */
export function startWorker(source: string, data: unknown): WorkerHandle {
  if (node) {
    const w = new node.workerThreads.Worker(`const { workerData } = require('node:worker_threads');\n${source}\nmain(workerData);`, {
      eval: true,
      workerData: data,
    });
    w.unref();
    return { terminate: () => void w.terminate() };
  }
  const g = globalThis as unknown as { Worker: new (url: string) => { postMessage(m: unknown): void; terminate(): void } };
  const url = URL.createObjectURL(new Blob([`${source}\nonmessage = (e) => main(e.data);`], { type: 'text/javascript' }));
  const w = new g.Worker(url);
  URL.revokeObjectURL(url);
  w.postMessage(data);
  return { terminate: () => w.terminate() };
}
