/**
 * The WASM kernels' runtime: one shared WebAssembly.Memory, the kernel module instantiated
 * on it by this thread and by a pool of workers, and a scratch arena inside it.
 *
 * Dispatch: each worker owns a control slot in the first page (sequence number, done
 * number, kernel, parameter pointer, state, claim). The caller writes a slot and notifies;
 * the worker claims the job, runs the kernel and notifies back; the caller runs its own
 * share meanwhile, then waits: asleep in Atomics.wait where this thread may block (Node, a
 * browser worker), spinning on a page's main thread. A job whose worker is not running yet
 * (a page's workers may not start until its main thread returns to the event loop), has died,
 * or leaves it unclaimed too long is claimed and run by the caller instead: work is split
 * over outputs, so the bits are the same whoever computes them. More kernel modules (the
 * elementwise ops, built on first use) join later through addKernels.
 */
import { kernelModule, simdSupport, MAX_PAGES, WASM_PAGE } from '@webgrad/kernels-wasm';
import { onWasmHostChange, wasmHost, type WasmHost, type WorkerHandle } from './platform';

/** Exported kernels a job may name; each takes one parameter-block pointer. */
export const KERNELS = [
  'gemm', 'convForward', 'convBackwardInput', 'convBackwardWeight', 'batchNorm', 'batchNormBackward', 'maxPool',
  'maxPool2x2', 'maxPoolBackward',
  'avgPool',
  'avgPoolBackward',
  'reduceSum', 'reduceMax', 'reduceMin',
  'softmaxRows', 'logSoftmaxRows',
] as const;
export type KernelName = (typeof KERNELS)[number];

const SLOT_BYTES = 64;
const CONTROL_BYTES = 4096; // slots for up to 64 workers
const MAX_WORKERS = CONTROL_BYTES / SLOT_BYTES;
// slot words; CLAIM holds the last sequence number taken, by the worker or by the caller
const SEQ = 0, DONE = 1, FN = 2, PARAMS = 3, FAILED = 4, STATE = 5, CLAIM = 6, LENGTH = 7;
/** FN of a job that compiles a module of more kernels (bytes at PARAMS, LENGTH long); only its worker can run it. */
const LOAD_MODULE = -1;
// STATE values
const STARTING = 0, READY = 1, DEAD = 2;

/** Growth between steps, in bytes, below which the runtime never asks for a garbage collection. */
const COLLECT_MIN = 16 * 2 ** 20;
/** A running worker wakes in microseconds; one that leaves a job unclaimed this long is presumed gone. */
const UNCLAIMED_MS = 50;
/** How long a thread that may block waits, once, for a worker to start (Node: tens of ms). */
const START_MS = 2000;
/** Wait slices between looks at a slot's state. */
const SLICE_MS = 5;

const WORKER_SOURCE = `
function main({ module, memory, slot, kernels, extra }) {
  const ctl = new Int32Array(memory.buffer, slot, ${SLOT_BYTES / 4});
  try {
    const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
    const fns = kernels.map((k) => exports[k]);
    const load = (m) => {
      const ex = new WebAssembly.Instance(m, { env: { memory } }).exports;
      for (const e of WebAssembly.Module.exports(m)) fns.push(ex[e.name]);
    };
    extra.forEach(load);
    Atomics.store(ctl, ${STATE}, ${READY});
    let seen = 0;
    for (;;) {
      Atomics.wait(ctl, ${SEQ}, seen);
      seen = Atomics.load(ctl, ${SEQ});
      if (seen < 0) return;
      const claim = Atomics.load(ctl, ${CLAIM});
      if (claim === seen || Atomics.compareExchange(ctl, ${CLAIM}, claim, seen) !== claim) continue; // the caller ran it
      try {
        const fn = ctl[${FN}];
        if (fn === ${LOAD_MODULE}) load(new WebAssembly.Module(new Uint8Array(memory.buffer, ctl[${PARAMS}], ctl[${LENGTH}]).slice()));
        else fns[fn](ctl[${PARAMS}]);
        ctl[${FAILED}] = 0;
      } catch (e) {
        ctl[${FAILED}] = 1;
      }
      Atomics.store(ctl, ${DONE}, seen);
      Atomics.notify(ctl, ${DONE});
    }
  } catch (e) {
    Atomics.store(ctl, ${STATE}, ${DEAD});
    Atomics.notify(ctl, ${DONE});
    throw e;
  }
}`;

/** A kernel of a module added with addKernels: its index among all kernels. */
export type KernelId = number;

/** What a worker is handed: a kernel (or LOAD_MODULE) and its parameters. */
interface Task {
  fn: number;
  params: number;
  length: number;
  worker: number;
}

export interface Job {
  kernel: KernelName | KernelId;
  /** Byte address of its parameter block. */
  params: number;
}

export class WasmRuntime {
  readonly memory: WebAssembly.Memory;
  readonly relaxed: boolean;
  private readonly module: WebAssembly.Module;
  /** Every kernel this thread can run, by id: KERNELS, then those of added modules. */
  private readonly fns: ((pp: number) => void)[];
  private readonly names: string[] = [...KERNELS];
  private readonly extraModules: WebAssembly.Module[] = [];
  private readonly generated = new Map<unknown, Record<string, KernelId> | null>();
  private readonly host: WasmHost;
  private workers: WorkerHandle[] = [];
  /** Per worker: how long a run may still wait for it to start (START_MS once, where the caller may block). */
  private startPatience: number[] = [];
  private seq = 0;
  private views: { f32: Float32Array; i32: Int32Array } | null = null;
  private threadCount = 1;
  /** Workers' jobs since the pool started, by who ran them (the worker, or the caller in its place). */
  readonly jobs = { byWorkers: 0, byCaller: 0 };
  /** Why the first of this pool's workers to fail failed (its share then runs on the caller). */
  workerFailure: string | null = null;

  constructor(opts: { relaxed: boolean; shared: boolean; host?: WasmHost }) {
    this.relaxed = opts.relaxed;
    this.host = opts.host ?? wasmHost();
    this.memory = new WebAssembly.Memory({ initial: 256, maximum: MAX_PAGES, shared: opts.shared } as WebAssembly.MemoryDescriptor);
    this.module = new WebAssembly.Module(kernelModule({ relaxed: opts.relaxed, shared: opts.shared }));
    const inst = new WebAssembly.Instance(this.module, { env: { memory: this.memory } });
    this.fns = KERNELS.map((k) => inst.exports[k] as (pp: number) => void);
    this.shared = opts.shared;
  }
  /**
   * Shared memories grow without detaching the arrays on them, so tensors can live there;
   * a plain memory's growth would detach every array (then storage stays in the JS heap).
   */
  readonly shared: boolean;

  /** Threads a kernel may use: this one plus the workers (started or not yet). */
  get threads(): number {
    return this.threadCount;
  }

  /** Why the pool is held to one thread whatever is asked (null: it is not). */
  get whyOneThread(): string | null {
    return this.shared ? this.host.whyNoThreads() : (this.host.whyNoThreads() ?? 'the memory is not shared');
  }

  /** Resizes the pool to n threads in all (1: no workers). Capped where threads are unavailable. */
  setThreads(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new Error(`threads must be a positive integer, got ${n}`);
    const want = this.whyOneThread === null ? Math.min(n, MAX_WORKERS + 1) : 1;
    this.shutdown();
    this.workerFailure = null;
    for (let i = 1; i < want; i++) {
      const slot = i * SLOT_BYTES;
      new Int32Array(this.memory.buffer, slot, SLOT_BYTES / 4).fill(0);
      const data = { module: this.module, memory: this.memory, slot, kernels: KERNELS, extra: this.extraModules };
      const worker: WorkerHandle = this.host.startWorker(WORKER_SOURCE, data, (why) => {
        // a worker of an earlier pool may report its end after this slot was reused
        if (this.workers[i - 1] !== worker) return;
        this.workerFailure ??= why;
        const ctl = this.control(i);
        Atomics.store(ctl, STATE, DEAD);
        Atomics.notify(ctl, DONE);
      });
      this.workers.push(worker);
      this.startPatience.push(this.host.canBlock() ? START_MS : 0);
    }
    this.seq = 0;
    this.threadCount = want;
  }

  /** Stops the workers (kernels then run on this thread until setThreads is called again). */
  shutdown(): void {
    const workers = this.workers;
    this.workers = [];
    this.startPatience = [];
    for (let i = 0; i < workers.length; i++) {
      const ctl = this.control(i + 1);
      Atomics.store(ctl, SEQ, -1);
      Atomics.notify(ctl, SEQ);
      workers[i].terminate();
    }
    this.threadCount = 1;
  }

  /**
   * Resolves once every worker is running (or has failed), or after `ms`: a page's main
   * thread must return to the event loop for its workers to start. True if all are running.
   */
  async started(ms = 10_000): Promise<boolean> {
    const end = performance.now() + ms;
    for (;;) {
      const states = this.workers.map((_, i) => Atomics.load(this.control(i + 1), STATE));
      if (states.every((s) => s !== STARTING)) return states.every((s) => s === READY);
      if (performance.now() >= end) return false;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  private control(slot: number): Int32Array {
    return new Int32Array(this.memory.buffer, slot * SLOT_BYTES, SLOT_BYTES / 4);
  }

  /**
   * Compiles a module of more kernels (importing this memory as env.memory, as the kernel
   * module does) on this thread and every worker, now and in workers started later; returns
   * the id of each of its exports, for jobs to name.
   */
  /**
   * The kernels of a module generated for `key` (an op, a chain's name), made and added on
   * the first call, the same ids after; null, remembered too, where `make` has no module.
   */
  generatedKernels(key: unknown, make: () => Uint8Array<ArrayBuffer> | null): Record<string, KernelId> | null {
    let ids = this.generated.get(key);
    if (ids === undefined) {
      const bytes = make();
      ids = bytes ? this.addKernels(bytes) : null;
      this.generated.set(key, ids);
    }
    return ids;
  }

  addKernels(bytes: Uint8Array<ArrayBuffer>): Record<string, KernelId> {
    const module = new WebAssembly.Module(bytes);
    const exports = new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports;
    const ids: Record<string, KernelId> = {};
    for (const e of WebAssembly.Module.exports(module)) {
      ids[e.name] = this.fns.length;
      this.fns.push(exports[e.name] as (pp: number) => void);
      this.names.push(e.name);
    }
    this.extraModules.push(module);
    const states = this.workers.map((_, i) => Atomics.load(this.control(i + 1), STATE));
    if (states.includes(STARTING)) {
      // a starting worker got the modules as they were, and may not run until this thread
      // returns to the event loop: new workers get them all
      this.setThreads(this.threadCount);
    } else if (states.includes(READY)) {
      // the workers compile it from bytes in the memory: a blocked worker receives no messages
      const at = this.alloc(bytes.length);
      try {
        new Uint8Array(this.memory.buffer, at, bytes.length).set(bytes);
        const tasks = states.flatMap((s, i) => (s === READY ? [{ fn: LOAD_MODULE, params: at, length: bytes.length, worker: i + 1 }] : []));
        this.post(tasks, 'loading a kernel module');
      } finally {
        this.release(at, bytes.length);
      }
    }
    return ids;
  }

  /** Runs jobs[0] here and jobs[i] on worker i (or here, see finish), and returns when all are done. */
  run(jobs: Job[]): void {
    if (jobs.length > this.threadCount) throw new Error(`run: ${jobs.length} jobs for ${this.threadCount} threads`);
    const id = (k: KernelName | KernelId) => (typeof k === 'number' ? k : KERNELS.indexOf(k));
    const first = jobs[0];
    if (!first) return;
    const tasks = jobs.slice(1).map((j, i) => ({ fn: id(j.kernel), params: j.params, length: 0, worker: i + 1 }));
    this.post(tasks, `wasm kernel ${this.names[id(first.kernel)]}`, () => this.fns[id(first.kernel)](first.params));
  }

  /** Hands each worker its task, runs `here` meanwhile, waits for all (see finish), then throws the first failure. */
  private post(tasks: Task[], what: string, here = () => {}): void {
    const seq = ++this.seq;
    for (const t of tasks) {
      const ctl = this.control(t.worker);
      ctl[FN] = t.fn;
      ctl[PARAMS] = t.params;
      ctl[LENGTH] = t.length;
      Atomics.store(ctl, SEQ, seq);
      Atomics.notify(ctl, SEQ);
    }
    let error: unknown = null;
    try {
      here();
    } catch (e) {
      error = e;
    }
    let failed = false;
    for (const t of tasks) {
      const outcome = this.finish(t, seq);
      if (outcome === 'failed') failed = true;
      else if (outcome !== 'ok') error ??= outcome.error;
    }
    if (error) throw error;
    if (failed) throw new Error(`${what} failed on a worker thread`);
  }

  /**
   * Waits for the worker to finish task `seq`, or runs a kernel task here when the worker
   * cannot: it is dead; it is still starting (at once on a thread that may not block, whose
   * workers may not start meanwhile; elsewhere after waiting for it once); or, running, it
   * has left the task unclaimed for UNCLAIMED_MS. A module load is the worker's own: a dead
   * worker needs none.
   */
  private finish(task: Task, seq: number): 'ok' | 'failed' | { error: unknown } {
    const ctl = this.control(task.worker);
    const local = task.fn !== LOAD_MODULE;
    const start = performance.now();
    for (;;) {
      const done = Atomics.load(ctl, DONE);
      if (done === seq) {
        if (local) this.jobs.byWorkers++;
        return ctl[FAILED] !== 0 ? 'failed' : 'ok';
      }
      const state = Atomics.load(ctl, STATE);
      if (!local && state === DEAD) return 'ok';
      const waited = performance.now() - start;
      const patience = state === READY ? UNCLAIMED_MS : this.startPatience[task.worker - 1];
      if (local && (state === DEAD || (waited >= patience && this.claim(ctl, seq)))) {
        if (state === STARTING) this.startPatience[task.worker - 1] = 0;
        this.jobs.byCaller++;
        try {
          this.fns[task.fn](task.params);
          return 'ok';
        } catch (e) {
          return { error: e };
        }
      }
      this.host.waitWhile(ctl, DONE, done, SLICE_MS);
    }
  }

  /** Takes job `seq` of a slot for this thread, unless its worker took it first. */
  private claim(ctl: Int32Array, seq: number): boolean {
    const claim = Atomics.load(ctl, CLAIM);
    return claim !== seq && Atomics.compareExchange(ctl, CLAIM, claim, seq) === claim;
  }

  // --- memory ----------------------------------------------------------------------------

  /** Byte address of `bytes` (16-byte aligned) inside the memory, growing it as needed. */
  alloc(bytes: number): number {
    return this.heap.alloc(bytes);
  }

  release(at: number, bytes: number): void {
    this.heap.release(at, bytes);
  }

  /**
   * A zeroed array living in the memory (or, with `zero` false, with stale contents, for
   * kernels that write every element). Free it with freeArray (or let it be collected).
   */
  allocArray(dtype: 'float32' | 'int32', n: number, zero = true): Float32Array | Int32Array {
    const bytes = n * 4;
    const at = this.heap.alloc(bytes);
    const view = dtype === 'float32' ? new Float32Array(this.memory.buffer, at, n) : new Int32Array(this.memory.buffer, at, n);
    if (zero) view.fill(0);
    const block: Block = { at, bytes, live: true };
    this.blocks.set(view, block);
    this.collected.register(view, block, block);
    return view;
  }

  /** Bytes in use at the last step boundary since the last collection (-1: none seen yet). */
  private usedBetweenSteps = -1;

  /**
   * Called between training steps (the engine's collection turn). Arrays dropped without
   * dispose are small JS objects over memory V8 does not count, so nothing makes V8 collect
   * them while the WASM memory fills. When the use seen between steps has grown by more than
   * it was (and COLLECT_MIN), a full collection runs, and the safety nets free what was
   * dropped. A loop that disposes what it makes holds this use flat and never pays for one.
   */
  collectIfGrowing(): void {
    const used = this.heap.used;
    if (this.usedBetweenSteps < 0 || used < this.usedBetweenSteps) {
      this.usedBetweenSteps = used;
      return;
    }
    if (used - this.usedBetweenSteps > Math.max(COLLECT_MIN, this.usedBetweenSteps) && this.host.collectGarbage()) this.usedBetweenSteps = -1;
  }

  /** Returns an array from allocArray to the free lists (anything else: no-op). */
  freeArray(view: object): void {
    const block = this.blocks.get(view);
    if (!block || !block.live) return;
    block.live = false;
    this.collected.unregister(block);
    this.blocks.delete(view);
    this.heap.release(block.at, block.bytes);
  }

  /** The byte address of an array from allocArray (whole, not a subarray), else null. */
  addressOf(view: object): number | null {
    const block = this.blocks.get(view);
    return block && block.live ? block.at : null;
  }

  /** A fresh view of an array from allocArray over the memory as it is now (a plain memory's growth detaches the old one). */
  currentView<T extends Float32Array | Int32Array>(view: T): T {
    const block = this.blocks.get(view);
    if (!block || !block.live) throw new Error('currentView: not a live array of this runtime');
    const ctor = view instanceof Float32Array ? Float32Array : Int32Array;
    return new ctor(this.memory.buffer, block.at, block.bytes / 4) as T;
  }

  /** Bytes of the memory in use by arrays and scratch, and its current size. */
  memoryUse(): { used: number; size: number } {
    return { used: this.heap.used, size: this.memory.buffer.byteLength };
  }

  private readonly heap = new Heap(() => this.memory, CONTROL_BYTES);
  private readonly blocks = new WeakMap<object, Block>();
  // Arrays dropped without freeArray (storage the engine never saw) go back when collected.
  private readonly collected = new FinalizationRegistry<Block>((block) => {
    if (!block.live) return;
    block.live = false;
    this.heap.release(block.at, block.bytes);
  });

  /** Views over the whole memory (new ones after a growth: a grown shared buffer is a new object). */
  get f32(): Float32Array {
    return this.refresh().f32;
  }
  get i32(): Int32Array {
    return this.refresh().i32;
  }
  private refresh() {
    const buf = this.memory.buffer;
    if (!this.views || this.views.f32.buffer !== buf) this.views = { f32: new Float32Array(buf), i32: new Int32Array(buf) };
    return this.views;
  }
}

interface Block {
  at: number;
  bytes: number;
  live: boolean;
}

/**
 * Blocks of the memory: freed blocks wait in lists by size class (4 per doubling, so at
 * most 19 % is wasted) and are reused first; otherwise the top moves up and the memory
 * grows. A training loop allocates the same sizes every step, so it settles on its lists.
 */
class Heap {
  private top: number;
  private readonly lists = new Map<number, number[]>();
  used = 0;

  constructor(private readonly memory: () => WebAssembly.Memory, base: number) {
    this.top = base;
  }

  static sizeClass(bytes: number): number {
    const b = Math.max(64, Math.ceil(bytes / 16) * 16);
    if (b <= 1024) return b;
    const step = 2 ** (Math.floor(Math.log2(b)) - 2);
    return Math.ceil(b / step) * step;
  }

  alloc(bytes: number): number {
    const size = Heap.sizeClass(bytes);
    const list = this.lists.get(size);
    if (list && list.length) {
      this.used += size;
      return list.pop()!;
    }
    const at = this.top;
    const end = at + size;
    const limit = MAX_PAGES * WASM_PAGE;
    if (end > limit) {
      throw new RangeError(
        `${fmtBytes(bytes)} do not fit in the WebAssembly memory (wasm32 addresses 4 GiB; ${fmtBytes(this.used)} in use)`,
      );
    }
    const mem = this.memory();
    const have = mem.buffer.byteLength;
    if (end > have) {
      // grow by at least a quarter, so a growing workload grows the memory O(log) times
      const want = Math.max(end - have, Math.min(limit - have, Math.floor(have / 4)));
      try {
        mem.grow(Math.ceil(want / WASM_PAGE));
      } catch {
        try {
          mem.grow(Math.ceil((end - have) / WASM_PAGE));
        } catch (err) {
          throw new RangeError(`the WebAssembly memory cannot grow to hold ${fmtBytes(bytes)} more (${fmtBytes(have)} now): ${(err as Error).message}`);
        }
      }
    }
    this.top = end;
    this.used += size;
    return at;
  }

  release(at: number, bytes: number): void {
    const size = Heap.sizeClass(bytes);
    let list = this.lists.get(size);
    if (!list) this.lists.set(size, (list = []));
    list.push(at);
    this.used -= size;
  }
}

const fmtBytes = (b: number) => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${b} bytes`);

let runtime: WasmRuntime | null | undefined;

/** The runtime if it has been created, without creating it. */
export const existingWasmRuntime = (): WasmRuntime | null => runtime ?? null;

/** The process's runtime, created on first use; null where WebAssembly SIMD is unavailable. */
export function wasmRuntime(): WasmRuntime | null {
  if (runtime !== undefined) return runtime;
  wasmHost().tuneEngine();
  const support = simdSupport();
  if (!support.simd) return (runtime = null);
  const shared = wasmHost().whyNoThreads() === null;
  runtime = new WasmRuntime({ relaxed: support.relaxed, shared });
  runtime.setThreads(defaultThreads());
  return runtime;
}

// A new host (Node's entry installing its own) means a new runtime on next use; arrays on
// the old memory stay valid and are simply collected.
onWasmHostChange(() => {
  runtime?.shutdown();
  runtime = undefined;
});

/** Every available core, unless WEBGRAD_THREADS says otherwise. */
export function defaultThreads(): number {
  const env = wasmHost().threadsFromEnv();
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new Error(`WEBGRAD_THREADS must be a positive integer, got '${env}'`);
    return n;
  }
  return wasmHost().availableCores();
}
