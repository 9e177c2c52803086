/**
 * What the WASM runtime needs from its host. The default is the browser's (Web Workers,
 * navigator.hardwareConcurrency) and imports nothing; the package's Node entry installs
 * Node's (worker_threads, os, v8 flags) from node-host.ts before any kernel runs.
 */

/** A started worker: terminate() ends it; it never keeps the process alive. */
export interface WorkerHandle {
  terminate(): void;
}

export interface WasmHost {
  /** Why this thread cannot share a memory with workers (null: it can). */
  whyNoThreads(): string | null;
  /**
   * Whether this thread may sleep in Atomics.wait. Node and a browser worker may; a page's
   * main thread may not (it spins instead), and the workers it starts may not run until
   * it returns to the event loop.
   */
  canBlock(): boolean;
  /** Returns once view[index] may no longer be `value`, or after about `ms` milliseconds. */
  waitWhile(view: Int32Array, index: number, value: number, ms: number): void;
  availableCores(): number;
  /** WEBGRAD_THREADS, where the host has an environment. */
  threadsFromEnv(): string | undefined;
  /** Engine settings to make before compiling (Node: relaxed SIMD, the optimising tier). */
  tuneEngine(): void;
  /**
   * Runs a full garbage collection now, where the host can (Node); false where it cannot.
   * Arrays on the WASM memory are small JS objects over memory V8 does not count, so a
   * program that never disposes would otherwise fill the memory before V8 sees a reason to
   * collect them (and let the FinalizationRegistry free their blocks).
   */
  collectGarbage(): boolean;
  /**
   * Starts a worker running `source` (a classic script defining main(data)) on `data`;
   * `onFailure` hears why, should it fail to start or end by itself.
   */
  startWorker(source: string, data: unknown, onFailure: (why: string) => void): WorkerHandle;
}

/** Sleeps in Atomics.wait (Node, workers). */
export function sleepWhile(view: Int32Array, index: number, value: number, ms: number): void {
  Atomics.wait(view, index, value, ms);
}

const pause = (Atomics as { pause?: () => void }).pause?.bind(Atomics) ?? (() => {});

/**
 * Spins on Atomics.load (a page's main thread, which may not sleep). Kernels last
 * milliseconds, so the spin is short; Atomics.pause, where the engine has it, eases it.
 */
export function spinWhile(view: Int32Array, index: number, value: number, ms: number): void {
  const end = performance.now() + ms;
  for (let i = 1; Atomics.load(view, index) === value; i++) {
    pause();
    if ((i & 1023) === 0 && performance.now() >= end) return;
  }
}

let blocking: boolean | undefined;
/** Atomics.wait throws on a thread that may not block, whatever the value. */
function threadMayBlock(): boolean {
  if (blocking === undefined) {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      blocking = true;
    } catch {
      blocking = false;
    }
  }
  return blocking;
}

const browserHost: WasmHost = {
  whyNoThreads() {
    const g = globalThis as { crossOriginIsolated?: boolean; Worker?: unknown };
    if (g.crossOriginIsolated === false) {
      return 'the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
    }
    if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return 'no SharedArrayBuffer here';
    if (typeof g.Worker !== 'function') return 'no Web Workers here';
    return null;
  },
  canBlock: () => typeof SharedArrayBuffer !== 'undefined' && threadMayBlock(),
  waitWhile(view, index, value, ms) {
    (threadMayBlock() ? sleepWhile : spinWhile)(view, index, value, ms);
  },
  availableCores() {
    const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
    return n && n > 0 ? n : 1;
  },
  threadsFromEnv: () => undefined,
  tuneEngine() {},
  collectGarbage: () => false,
  startWorker(source, data, onFailure) {
    type BrowserWorker = { postMessage(m: unknown): void; terminate(): void; onerror: ((e: { message?: string }) => void) | null };
    const g = globalThis as unknown as { Worker: new (url: string) => BrowserWorker };
    const url = URL.createObjectURL(new Blob([`${source}\nonmessage = (e) => main(e.data);`], { type: 'text/javascript' }));
    const w = new g.Worker(url);
    URL.revokeObjectURL(url);
    w.onerror = (e) => onFailure(e.message || 'the worker failed to load');
    w.postMessage(data);
    return { terminate: () => w.terminate() };
  },
};

let host: WasmHost = browserHost;
const listeners: (() => void)[] = [];

export const wasmHost = (): WasmHost => host;

/** Installs a host (Node's entry does); the runtime is rebuilt on its next use. */
export function setWasmHost(h: WasmHost): void {
  host = h;
  for (const f of listeners) f();
}

/** Called when the host changes (the runtime drops itself). */
export function onWasmHostChange(f: () => void): void {
  listeners.push(f);
}
