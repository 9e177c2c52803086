/**
 * GPU buffers for storages, recycled through a pool keyed by size class.
 *
 * A released buffer may still be read by commands in the encoder that has not been
 * submitted yet; handing it out again and writing it with queue.writeBuffer (which runs
 * before that submit) would corrupt them. So releases made while commands are pending wait
 * in `deferred` until the next submit (see Queue.flush).
 */
import type { Storage } from '../../backend';

/** WebGPU wants sizes that are multiples of 4; 16 keeps vec4 views of any buffer whole. */
const ALIGN = 16;
/** Pooled bytes above this are destroyed instead of kept. */
const POOL_CAP_BYTES = 1 << 30;

const CLASS_STEPS = [1, 1.25, 1.5, 1.75, 2];

/** Sizes up to 256 B round to 16; above, to 1, 1.25, 1.5 or 1.75 times a power of two. */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  const pow = 2 ** Math.floor(Math.log2(bytes));
  for (const f of CLASS_STEPS) {
    const c = Math.ceil((pow * f) / ALIGN) * ALIGN;
    if (c >= bytes) return c;
  }
  return 2 * pow;
}

/**
 * Sizes and usages of the buffers made here, known without asking the buffer: each
 * GPUBuffer getter is a call into the native binding (in Node, an N-API crossing).
 */
const described = new WeakMap<GPUBuffer, { size: number; key: number; id: number }>();

/** The free list a buffer goes to: usage and size class, as one number (usage flags take 10 bits; sizes stay below 2^43). */
const poolKey = (usage: number, size: number) => size * 1024 + usage;
let nextId = 1;

/** What the pool knows of a buffer it made (size, pool key, creation id, unique per process); undefined for one made elsewhere. */
export function describedBuffer(buffer: GPUBuffer): { size: number; key: number; id: number } | undefined {
  return described.get(buffer);
}

/** A buffer's size in bytes. */
export function bufferBytes(buffer: GPUBuffer): number {
  return described.get(buffer)?.size ?? buffer.size;
}

export class GpuStorage implements Storage {
  disposed = false;
  readonly bytes: number;
  constructor(readonly buffer: GPUBuffer) {
    this.bytes = bufferBytes(buffer);
  }
}

/** Free buffers of one size class, with their creation ids (parallel arrays). */
interface FreeList {
  buffers: GPUBuffer[];
  ids: number[];
}

/**
 * Hands out the free buffer made first (lowest id), so that a training loop, which asks for
 * the same sizes in the same order each step from the same free set, gets the same buffers
 * each step: the queue's cached bind groups then match (LIFO order would permute them).
 */
export class BufferPool {
  private free = new Map<number, FreeList>();
  private deferred: [number, GPUBuffer][] = [];
  private pooledBytes = 0;

  /**
   * @param destroyed told before the pool destroys a buffer (the queue's bind groups that
   *   name it must go)
   */
  constructor(
    private device: GPUDevice,
    private maxBufferSize: number,
    private maxBindingSize = maxBufferSize,
    private destroyed: (buffer: GPUBuffer) => void = () => {},
  ) {}

  acquire(bytes: number, usage: GPUBufferUsageFlags, what: string): GPUBuffer {
    let size = sizeClass(bytes);
    // A buffer is bound whole: rounding up to a class must not push a fitting size past the binding limit.
    if (size > this.maxBindingSize && bytes <= this.maxBindingSize) size = Math.ceil(bytes / ALIGN) * ALIGN;
    if (size > this.maxBufferSize) {
      throw new Error(`webgpu: ${what} needs a buffer of ${bytes} bytes, more than this adapter allows (${this.maxBufferSize})`);
    }
    const key = poolKey(usage, size);
    const list = this.free.get(key);
    if (list && list.buffers.length > 0) {
      const { buffers, ids } = list;
      let best = 0;
      for (let i = 1; i < ids.length; i++) if (ids[i] < ids[best]) best = i;
      const reused = buffers[best];
      const last = buffers.length - 1;
      buffers[best] = buffers[last];
      ids[best] = ids[last];
      buffers.pop();
      ids.pop();
      this.pooledBytes -= size;
      return reused;
    }
    const buffer = this.device.createBuffer({ size, usage });
    described.set(buffer, { size, key, id: nextId++ });
    return buffer;
  }

  /** Returns a buffer; `pending` when commands not yet submitted may still use it. */
  release(buffer: GPUBuffer, pending: boolean): void {
    const key = described.get(buffer)?.key ?? poolKey(buffer.usage, buffer.size);
    if (pending) this.deferred.push([key, buffer]);
    else this.keep(key, buffer);
  }

  /** After a submit: the deferred buffers are safe to hand out again. */
  releaseDeferred(): void {
    const d = this.deferred;
    this.deferred = [];
    for (const [key, b] of d) this.keep(key, b);
  }

  private keep(key: number, buffer: GPUBuffer): void {
    const size = bufferBytes(buffer);
    if (this.pooledBytes + size > POOL_CAP_BYTES) {
      this.destroyed(buffer);
      buffer.destroy();
      return;
    }
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = { buffers: [], ids: [] }));
    list.buffers.push(buffer);
    list.ids.push(described.get(buffer)?.id ?? 0);
    this.pooledBytes += size;
  }

  destroyAll(): void {
    for (const list of this.free.values()) for (const b of list.buffers) b.destroy();
    for (const [, b] of this.deferred) b.destroy();
    this.free.clear();
    this.deferred = [];
    this.pooledBytes = 0;
  }
}
