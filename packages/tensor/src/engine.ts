import type { Backend, DType, Storage } from './backend';
import type { Tensor } from './tensor';
import { cpuBackend } from './backends/cpu/index';
import { activeTrace } from './jit/state';

/**
 * A storage shared by a tensor and the views (reshapes) made from it. A jit replay gives a
 * reference made during its trace each step's new storage (jit/program.ts): hence not readonly.
 */
export class DataRef {
  refs = 1;
  constructor(
    readonly backend: Backend,
    public storage: Storage,
  ) {
    activeTrace()?.refMade(this);
  }
  retain(): this {
    this.refs++;
    return this;
  }
  release(): void {
    if (--this.refs === 0) this.backend.dispose(this.storage);
  }
}

// cpu is always there. Registered here rather than by the package entry, so that a bundle
// taking only a few functions from the package (the entry has no side effects) still gets it
// whenever it makes a tensor.
const backends = new Map<string, Backend>([[cpuBackend.name, cpuBackend]]);
let defaultDevice = 'cpu';

export function registerBackend(backend: Backend): void {
  backends.set(backend.name, backend);
}

export function unregisterBackend(name: string): void {
  backends.delete(name);
  if (defaultDevice === name) defaultDevice = 'cpu';
}

export function getBackend(device: string): Backend {
  const b = backends.get(device);
  if (!b) {
    const hint = device === 'webgpu' ? " call `await useDevice('webgpu')` (or 'auto') first" : ` known devices: ${[...backends.keys()].join(', ')}`;
    throw new Error(`device '${device}' is not initialised:${hint}`);
  }
  return b;
}

/** Every registered backend (a jit trace records the calls made on each). */
export function registeredBackends(): Backend[] {
  return [...backends.values()];
}

export function hasBackend(device: string): boolean {
  return backends.has(device);
}

export function getDefaultDevice(): string {
  return defaultDevice;
}

export function setDefaultDevice(device: string): void {
  getBackend(device);
  defaultDevice = device;
}

// --- gradient mode ------------------------------------------------------------------
let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording the autograd graph (PyTorch's torch.no_grad()). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  let result: T;
  try {
    result = fn();
  } finally {
    gradEnabled = prev;
  }
  // Grad mode is restored when fn returns, so the awaited part of an async fn would run
  // with gradients on: refuse it rather than record a graph the caller thinks is off.
  if (result instanceof Promise) {
    throw new Error('noGrad: fn returned a Promise; noGrad must wrap synchronous code (await outside, e.g. `const y = noGrad(() => model.forward(x)); await y.data()`)');
  }
  return result;
}

export function withGrad<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

// --- memory: live tensors and tidy scopes ---------------------------------------------
let liveTensors = 0;
const scopes: Set<Tensor>[] = [];

/** Called by every Tensor on creation: counted, and owned by the innermost tidy scope; whether a scope took it. */
export function trackTensor(t: Tensor): boolean {
  liveTensors++;
  const scope = scopes[scopes.length - 1];
  if (scope === undefined) return false;
  scope.add(t);
  return true;
}

/** A disposed tensor (or, with null, one collected by the GC, which no scope can hold). */
export function untrackTensor(t: Tensor | null): void {
  liveTensors--;
  if (t) for (const s of scopes) s.delete(t);
}

/** Takes t out of every tidy scope, so that it outlives them (parameters, gradients, optimizer state). */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  t._guard();
  return t;
}

function collectTensors(v: unknown, into: Set<Tensor>, seen = new Set<unknown>()): void {
  if (v === null || typeof v !== 'object' || seen.has(v)) return;
  seen.add(v);
  if ((v as Tensor).isTensor === true) {
    into.add(v as Tensor);
    return;
  }
  if (Array.isArray(v)) for (const x of v) collectTensors(x, into, seen);
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collectTensors(x, into, seen);
}

/**
 * Runs fn and disposes every tensor created inside it except those it returns (and those
 * passed to keep()). Returned tensors move to the enclosing scope: found in the result itself,
 * in arrays and in plain objects, not inside class instances (keep() those). fn must be
 * synchronous: a scope cannot follow an await.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    // What fn made before it threw is unreachable; a caller that retries (smaller) must not leak it.
    for (const t of scope) t.dispose();
    throw err;
  } finally {
    scopes.pop();
  }
  if (result instanceof Promise) {
    throw new Error('tidy: fn returned a Promise; tidy scopes must be synchronous (await outside, or dispose() by hand)');
  }
  // Most scopes return one tensor (a layer's output, a loss): no set to build for those.
  const returned = result as unknown;
  const single = returned !== null && typeof returned === 'object' && (returned as Tensor).isTensor === true ? (returned as Tensor) : null;
  let survivors: Set<Tensor> | null = null;
  if (single === null) collectTensors(result, (survivors = new Set<Tensor>()));
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (single === null ? !survivors!.has(t) : t !== single) t.dispose();
    else if (parent) parent.add(t);
    // Out of every scope: from now on only the GC safety net can free it.
    else t._guard();
  }
  return result;
}

// --- the safety net's turn -------------------------------------------------------------
/**
 * Tensors dropped without dispose() are freed by a FinalizationRegistry, whose callbacks run
 * only as tasks of the event loop. A training loop whose reads resolve at once (the cpu
 * backend) never gives them one, and memory grows without bound. So an async read lets the
 * loop turn now and then: often enough to keep memory bounded, rarely enough to cost nothing.
 */
const COLLECTION_TURN_MS = 10;
let lastTurn = 0;
// A task as soon as possible: setImmediate in Node; in a browser a message (setTimeout clamps to 4 ms).
const nextTask: (resume: () => void) => void =
  typeof setImmediate === 'function'
    ? (resume) => void setImmediate(resume)
    : (resume) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => {
          channel.port1.close();
          resume();
        };
        channel.port2.postMessage(null);
      };

export async function collectionTurn(): Promise<void> {
  const now = performance.now();
  if (now - lastTurn < COLLECTION_TURN_MS) return;
  lastTurn = now;
  for (const b of backends.values()) b.collectionTurn?.();
  await new Promise<void>(nextTask);
}

export interface MemoryStats {
  /** Tensors created and not yet disposed (views count once each). */
  liveTensors: number;
  /** Storages alive on each backend (a view shares its source's). */
  liveBuffers: number;
  /** Bytes of those storages. */
  bytes: number;
  byDevice: Record<string, { buffers: number; bytes: number }>;
}

export function memoryStats(): MemoryStats {
  const byDevice: MemoryStats['byDevice'] = {};
  let liveBuffers = 0;
  let bytes = 0;
  for (const [name, b] of backends) {
    const s = b.stats();
    byDevice[name] = s;
    liveBuffers += s.buffers;
    bytes += s.bytes;
  }
  return { liveTensors, liveBuffers, bytes, byDevice };
}

export function dtypeBytes(dtype: DType): number {
  return dtype === 'float64' ? 8 : 4;
}
