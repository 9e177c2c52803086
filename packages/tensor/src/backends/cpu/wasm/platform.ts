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
  /** Shared memory and blocking waits on this thread (Atomics.wait), so workers can help. */
  canRunThreads(): boolean;
  availableCores(): number;
  /** WEBGRAD_THREADS, where the host has an environment. */
  threadsFromEnv(): string | undefined;
  /** Engine settings to make before compiling (Node: relaxed SIMD, the optimising tier). */
  tuneEngine(): void;
  /** Starts a worker running `source` (a classic script defining main(data)) on `data`. */
  startWorker(source: string, data: unknown): WorkerHandle;
}

const browserHost: WasmHost = {
  // a page's main thread may not block, so only a cross-origin-isolated worker gets threads
  canRunThreads() {
    if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return false;
    const g = globalThis as { crossOriginIsolated?: boolean; document?: unknown; Worker?: unknown };
    return g.crossOriginIsolated === true && g.document === undefined && typeof g.Worker === 'function';
  },
  availableCores() {
    const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
    return n && n > 0 ? n : 1;
  },
  threadsFromEnv: () => undefined,
  tuneEngine() {},
  startWorker(source, data) {
    const g = globalThis as unknown as { Worker: new (url: string) => { postMessage(m: unknown): void; terminate(): void } };
    const url = URL.createObjectURL(new Blob([`${source}\nonmessage = (e) => main(e.data);`], { type: 'text/javascript' }));
    const w = new g.Worker(url);
    URL.revokeObjectURL(url);
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
