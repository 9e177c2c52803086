/**
 * State one webgpu backend shares across its ops: the queue, live-storage accounting for
 * stats(), the kernel variant for this adapter, and cached offset tables for plans.
 */
import { requireFloatDtype } from '../../shape-rules';
import type { GemmVariant, Plan, ScalarType } from '@webgrad/kernels-wgsl';
import type { DType, Storage } from '../../backend';
import { type DeviceLimits, checkBindingFits, checkBufferFits } from '../../limits';
import { Arena, GpuStorage, bindingBuffer } from './buffers';
import type { Binding, Queue } from './queue';

/** Offset tables kept per geometry; a training loop reuses a handful. */
const MAX_TABLES = 64;

export class Context {
  liveBuffers = 0;
  liveBytes = 0;
  private tables = new Map<string, GPUBuffer>();

  /** The device's real limits (requested from the adapter at creation). */
  readonly limits: DeviceLimits;

  /** Byte offsets of bound slices are multiples of this (minStorageBufferOffsetAlignment). */
  readonly bindingAlignment: number;

  constructor(readonly queue: Queue, readonly variant: GemmVariant) {
    this.limits = queue.limits;
    this.bindingAlignment = queue.device.limits.minStorageBufferOffsetAlignment;
  }

  /**
   * A new storage of `elements` 4-byte values (size 0 still gets a buffer). One above
   * maxBufferSize is refused here, before anything is encoded: a DeviceLimitError the
   * caller can act on, instead of a device validation error. Storages above the binding
   * limit are fine: the ops split their work (./split.ts).
   */
  alloc(elements: number, what: string, hostWritten = false): GpuStorage {
    // The message is built only for a buffer over the limit: alloc runs once per op.
    if (elements * 4 > this.limits.maxBufferBytes) checkBufferFits(`${what} (output of ${elements} values)`, 'webgpu', this.limits, elements * 4);
    const s = new GpuStorage(this.queue.storageBuffer(elements * 4, what, hostWritten));
    this.liveBuffers++;
    this.liveBytes += s.bytes;
    return s;
  }

  /**
   * `count` new storages of `elements` values each, slots of one arena at aligned offsets:
   * a kernel that writes them all binds one buffer (`buffer`, slot k at element k · stride).
   * Each is disposed on its own; the arena goes back to the pool with the last.
   */
  allocSlots(elements: number, count: number, what: string): { storages: GpuStorage[]; buffer: GPUBuffer; stride: number } {
    const slotBytes = Math.ceil(Math.max(elements * 4, 4) / this.bindingAlignment) * this.bindingAlignment;
    checkBufferFits(`${what} (${count} outputs of ${elements} values)`, 'webgpu', this.limits, slotBytes * count);
    const arena = new Arena(this.queue.storageBuffer(slotBytes * count, what));
    const storages = Array.from({ length: count }, (_, k) => {
      const s = new GpuStorage(arena.buffer, elements * 4);
      s.moveTo(arena, k * slotBytes);
      this.liveBuffers++;
      this.liveBytes += s.bytes;
      return s;
    });
    return { storages, buffer: arena.buffer, stride: slotBytes / 4 };
  }

  dispose(s: Storage): void {
    const g = s as GpuStorage;
    if (g.disposed) return;
    g.disposed = true;
    this.liveBuffers--;
    this.liveBytes -= g.bytes;
    this.release(g);
  }

  /** Gives up a storage's memory: its buffer, or its share of an arena. */
  release(g: GpuStorage): void {
    if (g.arena) this.releaseArena(g.arena);
    else this.queue.releaseBuffer(g.buffer);
    g.arena = null;
  }

  /** One storage fewer in `arena`; the last one returns it (and its companions) to the pool. */
  private releaseArena(arena: Arena): void {
    if (--arena.refs > 0) return;
    this.queue.releaseBuffer(arena.buffer);
    for (const b of arena.companions) this.queue.releaseBuffer(b);
  }

  /** The storage as a checked GpuStorage. */
  storage(s: Storage, what: string): GpuStorage {
    const g = s as GpuStorage;
    if (!(g instanceof GpuStorage)) throw new Error(`webgpu: ${what}: the storage does not belong to the webgpu backend`);
    if (g.disposed) throw new Error(`webgpu: ${what}: the tensor's storage was already disposed`);
    return g;
  }

  /** What an op binds for a storage it reads or updates: its buffer, or its slot of an arena. */
  buf(s: Storage, what: string): Binding {
    return this.storage(s, what).binding;
  }

  /**
   * What an op that writes `written` binds to read storage `s`: its binding, or a copy when
   * they share an arena (a dispatch may not bind one buffer both for writing and for
   * anything else). Call `done` once the op is encoded.
   */
  readApart(s: Storage, written: Binding[], what: string): { binding: Binding; done: () => void } {
    const g = this.storage(s, what);
    if (!g.arena || !written.some((w) => bindingBuffer(w) === g.buffer)) return { binding: g.binding, done: () => {} };
    const copy = this.queue.storageBuffer(g.bytes, `${what} (operand in the written arena)`);
    this.queue.copy(g.binding, copy, g.bytes);
    return { binding: copy, done: () => this.queue.releaseBuffer(copy) };
  }

  /** Runs a plan over the caller's buffers; temporaries go back to the pool afterwards. */
  runPlan(plan: Plan, given: Record<string, Binding>, what: string): void {
    const named: Record<string, Binding> = { ...given };
    const temps: GPUBuffer[] = [];
    for (const [name, elements] of Object.entries(plan.temps)) {
      checkBufferFits(`${what} (scratch ${name} of ${elements} values)`, 'webgpu', this.limits, elements * 4);
      checkBindingFits(`${what} (scratch ${name} of ${elements} values)`, 'webgpu', this.limits, elements * 4);
    }
    for (const [name, elements] of Object.entries(plan.temps)) {
      named[name] = this.queue.storageBuffer(elements * 4, `${what} (scratch ${name})`);
      temps.push(named[name]);
    }
    for (const [name, t] of Object.entries(plan.tables)) named[name] = this.table(t.key, t.build);
    for (const step of plan.steps) {
      this.queue.run(step.kernel, step.buffers.map((b) => {
        const buffer = named[b];
        if (!buffer) throw new Error(`webgpu: ${what}: plan step ${step.kernel.key} names unknown buffer ${b}`);
        return buffer;
      }));
    }
    for (const t of temps) this.queue.releaseBuffer(t);
  }

  private table(key: string, build: () => Int32Array): GPUBuffer {
    let b = this.tables.get(key);
    if (b) {
      // Most recently used last, so eviction takes the oldest.
      this.tables.delete(key);
      this.tables.set(key, b);
      return b;
    }
    const data = build();
    b = this.queue.storageBuffer(data.byteLength, 'offset table', true);
    this.queue.write(b, 0, data);
    this.tables.set(key, b);
    if (this.tables.size > MAX_TABLES) {
      const [oldKey, old] = this.tables.entries().next().value as [string, GPUBuffer];
      this.tables.delete(oldKey);
      this.queue.releaseBuffer(old);
    }
    return b;
  }
}

/** The WGSL scalar type of a dtype; float64 has none on WebGPU. */
export function scalarOf(op: string, dtype: DType): ScalarType {
  if (dtype === 'float32') return 'f32';
  if (dtype === 'int32') return 'i32';
  throw new Error(`webgpu: ${op} does not support ${dtype} (WebGPU has no 64-bit floats); use float32, or the cpu device for float64`);
}

/** Ops that compute in floating point only. */
export function requireFloat32(op: string, dtype: DType): void {
  if (dtype === 'float64') scalarOf(op, dtype);
  requireFloatDtype(op, dtype);
}
